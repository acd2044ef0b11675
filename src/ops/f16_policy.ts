// When f16 pays. An f16 graph stores weights and activations in f16 and every kernel
// accumulates in f32; on a GPU that halves memory traffic. On a CPU-emulated adapter
// (lavapipe) the f16 loads and stores are extra conversions on the CPU, and
// bench/f16.bench.ts measured f16 no faster overall (conv2d 13 vs 23 GFLOP/s in a quiet
// A/B run, attention 0.63x, linear 0.8-2.2x in a loaded one; see bench/RESULTS.md), so
// there a pipeline asked for f16 computes in f32 from its f16 weights and says so once.
// The model API keeps what it is asked ('native'): the f16 kernel tests run on lavapipe.
// ENGINE_F16=native|auto overrides both.
import { EngineError } from '../errors.ts';
import type { Float } from '../graph/graph.ts';

/** 'auto': f16 only where it pays on the adapter; 'native': f16 whenever asked. */
export type F16Mode = 'auto' | 'native';

export interface F16Facts { isSoftware: boolean; hasF16(): boolean; adapterName: string }

/** Whether f16 storage is expected to be faster than f32 on this adapter. */
export function f16Pays(dev: F16Facts): boolean {
  return dev.hasF16() && !dev.isSoftware;
}

let said = false;
const sayOnce = (line: string) => {
  if (said) return;
  said = true;
  process.stderr.write(`${line}\n`);
};

/** The dtype a graph asked to run in `requested` is compiled in. */
export function computeDtype(requested: Float, dev: F16Facts, mode: F16Mode = 'native', say: (line: string) => void = sayOnce): Float {
  const env = process.env.ENGINE_F16;
  if (env !== undefined && env !== '' && env !== 'auto' && env !== 'native') {
    throw new EngineError(`ENGINE_F16 must be 'auto' or 'native', got '${env}'`);
  }
  const m = env === 'auto' || env === 'native' ? env : mode;
  if (requested !== 'f16' || m === 'native' || f16Pays(dev)) return requested;
  say(`note: f16 is no faster than f32 on ${dev.adapterName} (a CPU-emulated adapter), so f16 graphs run in f32 where their tensors fit the binding limit (ENGINE_F16=native keeps f16)`);
  return 'f32';
}
