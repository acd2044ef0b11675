// When f16 is honoured. An f16 graph stores weights and activations in f16 and every kernel
// accumulates in f32. Measured on lavapipe (bench/RESULTS.md, "f16 that pays"): per kernel
// f16 vs f32 is mixed (bench/f16.bench.ts: linear 0.8-2.2x, conv2d 0.9-1.3x, attention
// 0.6x), but end to end on the random full-size SD-Turbo at 256^2 f16 was as fast or faster
// (UNet 34-40 s vs 42 s, VAE decode 67-85 s vs 82-115 s, and f32's cold run pays ~2x for
// converting 3.4 GB of weights on upload). So f16 pays wherever the adapter has shader-f16;
// where it has not, a pipeline asked for f16 ('auto') runs in f32 and says so once instead
// of failing to compile. The model API keeps what it is asked ('native'). An adapter found
// slower in f16 later gets its rule in f16Pays. ENGINE_F16=native|auto overrides both.
import { EngineError } from '../errors.ts';
import type { Float } from '../graph/graph.ts';

/** 'auto': f16 only where it pays on the adapter; 'native': f16 whenever asked. */
export type F16Mode = 'auto' | 'native';

export interface F16Facts { hasF16(): boolean; adapterName: string }

/** Whether f16 storage is expected to be no slower than f32 on this adapter. */
export function f16Pays(dev: F16Facts): boolean {
  return dev.hasF16();
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
  say(`note: ${dev.adapterName} has no shader-f16, so f16 graphs run in f32 (ENGINE_F16=native keeps f16 and fails to compile there)`);
  return 'f32';
}
