// Which kernel variant an op runs: forced by the node (attrs.variant) or by the
// environment (ENGINE_FORCE_VARIANT=matmul=shared,conv2d=gemm or a bare variant name, for
// tests and benchmarks), else the default for the adapter: CPU-emulated adapters
// (lavapipe) want barrier-free register tiling, real GPUs shared-memory tiling.
import type { EncodeContext } from './registry.ts';

export function pickVariant<V extends string>(op: string, known: readonly V[], forced: V | undefined, softwareDefault: V, gpuDefault: V, ctx: EncodeContext): V {
  if (forced) return forced;
  for (const item of (process.env.ENGINE_FORCE_VARIANT ?? '').split(',')) {
    const [o, v] = item.includes('=') ? item.split('=').map((x) => x.trim()) : [op, item.trim()];
    if (o === op && known.includes(v as V)) return v as V;
  }
  return ctx.isSoftware ? softwareDefault : gpuDefault;
}
