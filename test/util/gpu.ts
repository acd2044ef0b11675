// Shared GPU test harness: one device per process, small graphs built, run and compared.
import { getDevice, type Device } from '../../src/gpu/device.ts';
import { Graph, type Float, type Node } from '../../src/graph/graph.ts';
import { Executable, type HostArray, type RunInput } from '../../src/graph/run.ts';
import '../../src/ops/index.ts';
import { seededUniform } from '../../src/tensor/random.ts';
import { Float16Array } from '@petamoriken/float16';

export async function device(): Promise<Device> {
  return getDevice();
}

/** Deterministic pseudo-random values in [-scale, scale). */
export const rand = seededUniform;

/** Rounds values through f16, so f16 tests compare against the same inputs. */
export function roundF16(x: Float32Array): Float32Array {
  return Float32Array.from(Float16Array.from(x));
}

/** Builds a graph with `build`, runs it once on `inputs`, returns its outputs. */
export async function runGraph(
  dtype: Float,
  build: (g: Graph) => Record<string, Node>,
  inputs: Record<string, RunInput>,
  scalars: Record<string, number> = {},
): Promise<Record<string, HostArray>> {
  const dev = await device();
  const g = new Graph(dtype);
  for (const [name, n] of Object.entries(build(g))) g.output(name, n);
  const ex = await Executable.compile(dev, g);
  try {
    ex.setScalars(scalars);
    return await ex.run(inputs);
  } finally {
    ex.destroy();
  }
}
