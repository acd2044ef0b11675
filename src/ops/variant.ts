// The kernel variant policy: the one place that says which variant each op runs. Ops ask
// `variantFor` in encode(); benchmarks and tests ask `defaultVariant` / use `VARIANTS`.
//
// Precedence, first that applies:
//   1. the node's own `variant` option (a builder or test that wants one kernel),
//   2. the compile's overrides: `Executable.compile(dev, g, { variants })`, else the
//      environment ENGINE_FORCE_VARIANT (read once per compile, never inside encode): a comma
//      list of `op=variant` or bare variant names (a bare name applies to every op that has it;
//      the first item naming an op wins),
//      e.g. ENGINE_FORCE_VARIANT=matmul=shared,conv2d=gemm or ENGINE_FORCE_VARIANT=tiled,
//   3. the default for the adapter below (adapter facts in, variant out).
import { EngineError } from '../errors.ts';
import type { AdapterFacts } from '../gpu/facts.ts';

/** Every op with kernel variants and its variants (the first is the software default where that is simplest). */
export const VARIANTS = {
  /**
   * reg: barrier-free 4x4 register tiles; shared: 64x64 workgroup-memory tiles; subgroup:
   * reg whose quads share their loads of A or B through quadBroadcast (adapters with 'subgroups').
   */
  matmul: ['reg', 'shared', 'subgroup'],
  /**
   * direct: barrier-free register tiles (>10x gemm on lavapipe); gemm: shared implicit GEMM;
   * winograd: F(4x4, 3x3) transforms around 36 f32 matmuls (3x3 / stride 1 / padding 1
   * only; any other conv runs direct on software adapters, gemm elsewhere).
   */
  conv2d: ['direct', 'gemm', 'winograd'],
  /**
   * reg: two queries per invocation reading keys directly; tiled: keys staged per block;
   * scores: score rows materialized a chunk of queries at a time, products on matmul.
   */
  attention: ['reg', 'tiled', 'scores'],
  nasa: ['reg', 'tiled'],
  /** wg: a workgroup per row (shared-memory merge); row: an invocation per row. */
  softmax: ['wg', 'row'],
  layer_norm: ['wg', 'row'],
  rms_norm: ['wg', 'row'],
  /** fused: a workgroup per (batch, group); split: strided partials, merge, normalise. */
  group_norm: ['fused', 'split'],
} as const;

export type VariantOp = keyof typeof VARIANTS;
export type VariantOf<O extends VariantOp> = (typeof VARIANTS)[O][number];
export type VariantOverrides = { [O in VariantOp]?: VariantOf<O> };
export type MatmulVariant = VariantOf<'matmul'>;
export type Conv2dVariant = VariantOf<'conv2d'>;
export type AttentionVariant = VariantOf<'attention'>;
export type RowVariant = VariantOf<'softmax'>;
export type GroupNormVariant = VariantOf<'group_norm'>;

/** What group_norm's default depends on besides the adapter: B*G workgroups, units per group. */
export interface GroupNormWork { bg: number; lu: number }
/** What attention's default depends on besides the adapter: keys per query. */
export interface AttentionWork { keys: number }
export type Work = GroupNormWork | AttentionWork;

/** What encode() passes: the adapter's facts and the compile's overrides. */
export interface VariantContext extends AdapterFacts {
  variants: VariantOverrides;
}

type Policy = { [O in VariantOp]: (f: AdapterFacts, work?: Work) => VariantOf<O> };

// CPU-emulated adapters (lavapipe) want barrier-free register tiling: workgroup barriers
// are costly there and its 2 cores are filled by few workgroups. Real GPUs want shared
// memory. The lavapipe numbers behind each choice are in the op files and bench/RESULTS.md.
const softwareOr = <A extends string, B extends string>(sw: A, gpu: B) => (f: AdapterFacts): A | B => (f.isSoftware ? sw : gpu);

const POLICY: Policy = {
  // lavapipe f32, GPU time: linear 4096x320x320 95 -> 59 ms, winograd products 36x
  // 128x512x1024 460 -> 241 ms with subgroup (quads share loads). GPUs keep shared until measured.
  matmul: (f) => (f.isSoftware ? (f.hasSubgroups ? 'subgroup' : 'reg') : 'shared'),
  // lavapipe, SD-Turbo 512² f16 side by side: VAE decode 161.9 s direct -> 59.8 s winograd,
  // UNet 99.9 -> 74.2 s (bench/RESULTS.md). Convs winograd does not take run direct.
  conv2d: softwareOr('winograd', 'gemm'),
  // lavapipe f32, one head of 64, GPU time: 4096x4096 keys flash reg 389 ms, matmul +
  // softmax + matmul 227 ms; 1024 keys 24 vs 15 ms. Below 1024 keys (every text
  // cross-attention: encoders give <= 512 tokens) reg stays, as nasa runs the same flash
  // arithmetic: NASA at alpha = 0 then equals plain attention bit for bit.
  attention: (f, w) => (f.isSoftware ? (w && 'keys' in w && w.keys >= 1024 ? 'scores' : 'reg') : 'tiled'),
  nasa: softwareOr('reg', 'tiled'),
  // lavapipe: 'row' won at every shape tried, e.g. softmax [4096, 77] 2.2 ms vs 54 ms.
  softmax: softwareOr('row', 'wg'),
  layer_norm: softwareOr('row', 'wg'),
  rms_norm: softwareOr('row', 'wg'),
  group_norm: (f, w) => {
    if (!w || !('bg' in w)) throw new Error('group_norm: the variant default needs the work shape (groupNormWork)');
    // Fused runs B*G workgroups, each streaming its span twice with one load in flight per
    // thread: on a GPU that is latency-bound unless there are many groups, so big spans with
    // few groups go split (reasoned, not yet measured on a GPU: see bench/group_norm.bench.ts).
    // A CPU adapter is filled by as many workgroups as it has cores (lavapipe, 1x320x64x64 f32,
    // 32 groups: fused 2.7 ms, split 7.5 ms).
    if (f.isSoftware) return w.bg < 2 && w.lu >= 4096 ? 'split' : 'fused';
    return w.bg < 512 && w.lu >= 2048 ? 'split' : 'fused';
  },
};

/** The adapter's default variant of `op` (benchmarks time it first). */
export function defaultVariant<O extends VariantOp>(op: O, facts: AdapterFacts, work?: Work): VariantOf<O> {
  return (POLICY[op] as (f: AdapterFacts, w?: Work) => VariantOf<O>)(facts, work);
}

/** The variant an op's encode() runs: the node's option, else the compile's override, else the default. */
export function variantFor<O extends VariantOp>(op: O, ctx: VariantContext, forced: VariantOf<O> | undefined, work?: Work): VariantOf<O> {
  return forced ?? ctx.variants[op] ?? defaultVariant(op, ctx, work);
}

/** Checks a builder's `variant` option; `label` names the node in the error. */
export function checkVariant(op: VariantOp, v: string | undefined, label: string): void {
  if (v !== undefined && !(VARIANTS[op] as readonly string[]).includes(v)) {
    throw new EngineError(`${label}: unknown variant '${v}' (have ${VARIANTS[op].join(', ')})`);
  }
}

/** Parses an ENGINE_FORCE_VARIANT-style list; anything unknown is an error naming `where`. */
export function parseVariantOverrides(spec: string, where = 'ENGINE_FORCE_VARIANT'): VariantOverrides {
  const out: Record<string, string> = {};
  const ops = Object.keys(VARIANTS) as VariantOp[];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    if (item.includes('=')) {
      const [op, v] = item.split('=').map((x) => x.trim());
      if (!(op in VARIANTS)) throw new EngineError(`${where}: '${op}' has no kernel variants (ops with variants: ${ops.join(', ')})`);
      checkVariant(op as VariantOp, v, `${where}: ${op}`);
      out[op] ??= v;
    } else {
      const hit = ops.filter((op) => (VARIANTS[op] as readonly string[]).includes(item));
      if (!hit.length) throw new EngineError(`${where}: no op has a variant '${item}' (${ops.map((o) => `${o}: ${VARIANTS[o].join('|')}`).join('; ')})`);
      for (const op of hit) out[op] ??= item;
    }
  }
  return out as VariantOverrides;
}

/** The overrides the environment asks for (ENGINE_FORCE_VARIANT); read by Executable.compile. */
export function variantOverridesFromEnv(env: Record<string, string | undefined> = process.env): VariantOverrides {
  return parseVariantOverrides(env.ENGINE_FORCE_VARIANT ?? '');
}
