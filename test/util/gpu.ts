// Shared GPU test harness: one device per process, small graphs built, run and compared.
import { getDevice, type Device } from '../../src/gpu/device.ts';
import { Graph, type Float, type Node } from '../../src/graph/graph.ts';
import { Executable, type HostArray, type RunInput } from '../../src/graph/run.ts';
import '../../src/ops/index.ts';
import { Float16Array } from '@petamoriken/float16';

export async function device(): Promise<Device> {
  return getDevice();
}

/** Deterministic pseudo-random values in [-scale, scale) (xorshift; tests only). */
export function rand(n: number, seed = 1, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Rounds values through f16, so f16 tests compare against the same inputs. */
export function roundF16(x: Float32Array): Float32Array {
  return Float32Array.from(Float16Array.from(x));
}

/** Builds a graph with `build`, runs it once on `inputs`, returns its outputs. */
export async function runGraph(
  dtype: Float,
  build: (g: Graph) => Record<string, Node>,
  inputs: Record<string, RunInput>,
): Promise<Record<string, HostArray>> {
  const dev = await device();
  const g = new Graph(dtype);
  for (const [name, n] of Object.entries(build(g))) g.output(name, n);
  const ex = await Executable.compile(dev, g);
  try {
    return await ex.run(inputs);
  } finally {
    ex.destroy();
  }
}
