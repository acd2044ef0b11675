// attention (kernels/attention.wgsl): multi-head scaled dot-product attention on packed
// heads, flash style (online softmax, no score matrix), optional causal and additive mask.
//
// Variants (chosen by src/ops/variant.ts; forced with the `variant` option or ENGINE_FORCE_VARIANT=attention=reg|tiled|scores):
//   reg     two queries per invocation reading keys directly, barrier-free: CPU adapters.
//   tiled   keys/values staged in workgroup memory per block of BK keys: real GPUs.
//   scores  the score matrix a chunk of queries at a time (kernels/scores.wgsl): both
//           products on the matmul kernel, softmax in between; CPU adapters, many keys.
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d, MAX_GRID } from '../gpu/facts.ts';
import { VARIANTS, variantFor, type AttentionVariant } from './variant.ts';
import { defineOp, f32, u32, type EncodeContext, type KernelCall, type Scratch } from './registry.ts';
import { matmulVariant, productCall } from './matmul.ts';

export const ATTENTION_VARIANTS = VARIANTS.attention;
export type { AttentionVariant };

export interface AttentionOptions {
  heads: number;
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
  /** Query i sees keys j <= i (top-left aligned, as torch SDPA is_causal). */
  causal?: boolean;
  /** Additive bias per key [B or 1, Nk]: 0 keeps, -inf (or -1e4) drops. */
  mask?: Node | null;
  variant?: AttentionVariant;
}

/** Largest head size (D and Dv): the kernels keep a q row and an accumulator in registers. */
export const MAX_HEAD_DIM = 256;
const WG = 64;
// Queries per invocation. With EXACT rows (below), lavapipe 4096x4096 5x64 f16: QT 1 5.8 s,
// 2 2.6 s, 4 2.7 s; without it QT 1, 2, 4, 8 and WG 16..128 measured within noise
// of each other (512-4096 tokens, 5 heads x 64); 2 halves key/value loads per query.
// nasa.ts uses the same values, so that its alpha = 0 output equals attention's bitwise.
export const QUERIES_PER_INVOCATION = { reg: 2, tiled: 1 } as const;

// scores: the score chunk s [B*H, nq, Nk] (f32) stays within this many bytes (and a binding).
const SCORES_CHUNK = 32 << 20;

/** q [B, Nq, H*D], k [B|1, Nk, H*D], v [B|1, Nk, H*Dv] -> [B, Nq, H*Dv]. */
export function attention(q: Node, k: Node, v: Node, opts: AttentionOptions): Node {
  const { heads, mask = null } = opts;
  const xs = [q, k, v, ...(mask ? [mask] : [])];
  const why = (s: string): never => badShapes('attention', s, ...xs);
  const { D, Dv } = checkQKV('attention', q, k, v, heads, xs);
  if (mask) checkMask('attention', mask, q.dim(0), k.dim(1), 'mask', xs);
  if (opts.variant && !ATTENTION_VARIANTS.includes(opts.variant)) why(`unknown variant '${opts.variant}'`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  return q.graph.add('attention', xs, [q.dim(0), q.dim(1), heads * Dv], q.dtype, {
    heads, scale, causal: !!opts.causal, mask: !!mask, variant: opts.variant,
  });
}

/** Shared shape checks of attention and nasaAttention; returns head sizes. */
export function checkQKV(op: string, q: Node, k: Node, v: Node, heads: number, xs: Node[]): { D: number; Dv: number } {
  const why = (s: string): never => badShapes(op, s, ...xs);
  if (!Number.isInteger(heads) || heads < 1) why(`heads must be a positive integer, got ${heads}`);
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) why('q, k, v must be [B, N, heads*dim]');
  if (xs.some((t) => t.dtype !== q.dtype) || (q.dtype !== 'f32' && q.dtype !== 'f16')) why('inputs must share one float dtype');
  if (q.dim(2) % heads) why(`q's last dim ${q.dim(2)} is not divisible by heads=${heads}`);
  if (v.dim(2) % heads) why(`v's last dim ${v.dim(2)} is not divisible by heads=${heads}`);
  const D = q.dim(2) / heads, Dv = v.dim(2) / heads;
  if (k.dim(2) !== q.dim(2)) why(`k's last dim ${k.dim(2)} != q's ${q.dim(2)}`);
  if (k.dim(1) !== v.dim(1)) why(`k and v have different key counts (${k.dim(1)} vs ${v.dim(1)})`);
  if (k.dim(0) !== v.dim(0) || (k.dim(0) !== q.dim(0) && k.dim(0) !== 1)) why(`k/v batch must equal q's (${q.dim(0)}) or be 1`);
  if (q.dim(1) === 0 || k.dim(1) === 0 || D === 0 || Dv === 0) why('empty queries, keys or heads are not supported');
  if (D > MAX_HEAD_DIM || Dv > MAX_HEAD_DIM) why(`head size ${Math.max(D, Dv)} exceeds ${MAX_HEAD_DIM}`);
  return { D, Dv };
}

export function checkMask(op: string, mask: Node, B: number, Nk: number, name: string, xs: Node[]): void {
  if (mask.rank !== 2 || mask.dim(1) !== Nk || (mask.dim(0) !== B && mask.dim(0) !== 1)) {
    badShapes(op, `${name} must be [${B} or 1, ${Nk}] (additive, one value per key)`, ...xs);
  }
}

/** Grid over (query tiles, heads, batch); throws if a dimension exceeds the limit. */
export function attentionGrid(n: Node, Nq: number, heads: number, B: number, perWorkgroup: number): [number, number, number] {
  const grid: [number, number, number] = [Math.ceil(Nq / perWorkgroup), heads, B];
  if (grid.some((d) => d > MAX_GRID)) throw new EngineError(`${n.label}: grid ${grid.join('x')} exceeds 65535 in one dimension`);
  return grid;
}

/** Register-array capacity in vec4 chunks for a head size of `chunks`: a power of two, so few pipelines. */
export function cap(chunks: number): number {
  return Math.max(4, 2 ** Math.ceil(Math.log2(chunks)));
}

/**
 * lib/flash's row defines for head sizes D (q, k) and Dv (v): chunk capacities DQM / DVM,
 * VEC (rows of whole vec4s) and EXACT (rows exactly DQM / DVM chunks: constant row loops).
 */
export function rowDefines(D: number, Dv: number): { DQM: number; DVM: number; VEC: boolean; EXACT: boolean } {
  const DQ = Math.ceil(D / 4), DV4 = Math.ceil(Dv / 4);
  const VEC = D % 4 === 0 && Dv % 4 === 0;
  return { DQM: cap(DQ), DVM: cap(DV4), VEC, EXACT: VEC && DQ === cap(DQ) && DV4 === cap(DV4) };
}

/** Keys per staged block in the tiled variants, within the workgroup memory limit. */
export function blockKeys(ctx: EncodeContext, vec4PerKey: number): number {
  for (const bk of [32, 16, 8, 4]) if (bk * vec4PerKey * 16 <= ctx.maxWorkgroupStorage) return bk;
  throw new EngineError(`attention: head size too large for ${ctx.maxWorkgroupStorage} bytes of workgroup memory`);
}

/**
 * The scores variant's calls for attention node n (kernels/scores.wgsl), or null where its
 * scratch would not fit a binding: split k and v by head once, then per chunk of nq
 * queries split q (scaled), s = qs · ks^T, softmax rows, os = s · vs, merge into the output.
 */
function scoresCalls(n: Node, ctx: EncodeContext): KernelCall[] | null {
  const [q, k, v, mask] = n.inputs;
  const H = n.attrs.heads as number;
  const [B, Nq] = q.shape, Nk = k.dim(1), D = q.dim(2) / H, Dv = v.dim(2) / H;
  const BH = B * H;
  const limit = Math.min(SCORES_CHUNK, ctx.maxBindingBytes);
  const nq = Math.min(Math.floor(limit / (BH * Nk * 4) / 4) * 4, Math.ceil(Nq / 4) * 4);
  if (nq < 4 || BH * Nk * Math.max(D, Dv) * 4 > ctx.maxBindingBytes || BH > MAX_GRID) return null;
  const ks: Scratch = { scratch: BH * Nk * D * 4, tag: 'ks' };
  const vs: Scratch = { scratch: BH * Nk * Dv * 4, tag: 'vs' };
  const qs: Scratch = { scratch: BH * nq * D * 4, tag: 'qs' };
  const sc: Scratch = { scratch: BH * nq * Nk * 4, tag: 's' };
  const os: Scratch = { scratch: BH * nq * Dv * 4, tag: 'os' };
  const mm = matmulVariant(n.label, ctx, undefined);
  const call = (define: string, buffers: KernelCall['buffers'], pr: { N: number; dd: number; r0: number; nr: number; sb: number; items: number; mul?: number }, extra: Record<string, boolean> = {}): KernelCall => ({
    kernel: { name: 'scores', defines: { [define]: true, ...extra }, constants: { WG } },
    buffers, grid: grid1d(Math.ceil(pr.items / WG)),
    params: [u32(pr.N), u32(H), u32(pr.dd), u32(pr.r0), u32(pr.nr), u32(pr.sb), u32(pr.items), f32(pr.mul ?? 1)],
  });
  // A key/value batch of 1 is read with stride 0: every image gets the same rows.
  const split = (t: Node, dst: Scratch, dd: number) =>
    call('SPLIT', [t, dst], { N: Nk, dd, r0: 0, nr: Nk, sb: t.dim(0) === 1 ? 0 : Nk * H * dd, items: BH * Nk * dd });
  const calls = [split(k, ks, D), split(v, vs, Dv)];
  for (let q0 = 0; q0 < Nq; q0 += nq) {
    const r = Math.min(nq, Nq - q0);
    calls.push(
      call('SPLIT', [q, qs], { N: Nq, dd: D, r0: q0, nr: r, sb: Nq * H * D, items: BH * r * D, mul: n.attrs.scale }),
      productCall(n.label, qs, ks, sc, { nb: BH, M: r, K: D, N: Nk, transB: true }, mm, 'f32'),
      call('SOFTMAX', mask ? [sc, mask] : [sc], { N: Nk, dd: 1, r0: q0, nr: r, sb: mask && mask.dim(0) !== 1 ? Nk : 0, items: BH * r },
        { MASK: !!mask, CAUSAL: !!n.attrs.causal }),
      productCall(n.label, sc, vs, os, { nb: BH, M: r, K: Nk, N: Dv }, mm, 'f32'),
      call('MERGE', [os, n], { N: Nq, dd: Dv, r0: q0, nr: r, sb: 0, items: BH * r * Dv }),
    );
  }
  return calls;
}

defineOp({
  name: 'attention',
  encode(n, ctx): KernelCall[] {
    const [q, k, v, mask] = n.inputs;
    const H = n.attrs.heads as number;
    const [B, Nq] = q.shape, Nk = k.dim(1), D = q.dim(2) / H, Dv = v.dim(2) / H;
    const variant = variantFor('attention', ctx, n.attrs.variant, { keys: Nk });
    if (variant === 'scores') {
      const calls = scoresCalls(n, ctx);
      if (calls) return calls;
    }
    const flash = variant === 'scores' ? 'reg' : variant;
    const DQ = Math.ceil(D / 4), DV4 = Math.ceil(Dv / 4);
    const tiled = variant === 'tiled';
    const defines: Record<string, boolean | number> = {
      ...rowDefines(D, Dv), CAUSAL: !!n.attrs.causal, MASK: !!mask,
      OUT_BINDING: mask ? 5 : 4, TILED: tiled, QT: QUERIES_PER_INVOCATION[flash],
    };
    if (tiled) defines.BK = blockKeys(ctx, cap(DQ) + cap(DV4));
    const bs = (t: Node, per: number) => (t.dim(0) === 1 ? 0 : per);
    const params = [
      u32(Nq), u32(Nk), u32(H), u32(D),
      u32(Dv), u32(Nq * H * D), u32(bs(k, Nk * H * D)), u32(bs(v, Nk * H * Dv)),
      u32(mask ? bs(mask, Nk) : 0), f32(n.attrs.scale), u32(DQ), u32(DV4),
    ];
    return [{
      kernel: { name: 'attention', defines, constants: { WG } },
      buffers: [q, k, v, ...(mask ? [mask] : []), n], params, grid: attentionGrid(n, Nq, H, B, WG * (defines.QT as number)),
    }];
  },
  async ref(n, [q, k, v, mask]) {
    const { attention: ref } = await import('../ref/attention.ts');
    const [qn, kn, vn] = n.inputs;
    return ref(q, qn.shape, k, kn.shape, v, vn.shape, {
      heads: n.attrs.heads, scale: n.attrs.scale, causal: n.attrs.causal,
      mask: mask ?? null, maskBatch: n.attrs.mask ? n.inputs[3].dim(0) : 0,
    });
  },
});
