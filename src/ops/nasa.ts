// nasaAttention (kernels/nasa.wgsl): NASA cross-attention in one fused kernel,
//   softmax(q kPos^T s + maskPos) vPos - alpha * softmax(q kNeg^T s + maskNeg) vNeg
// per head (arXiv 2412.02687, NASA-I). Both softmaxes are computed flash style in one
// pass over the two key sets, so the negative prompt costs one more small key set in
// the same dispatch instead of a second attention and a subtraction.
// Variants as attention (reg: CPU adapters, tiled: GPUs; force with the `variant` option
// or ENGINE_FORCE_VARIANT=nasa=reg|tiled).
import { badShapes, type Node, type ScalarArg } from '../graph/graph.ts';
import { QUERIES_PER_INVOCATION, attentionGrid, blockKeys, cap, checkMask, checkQKV, rowDefines } from './attention.ts';
import { VARIANTS, variantFor, type VariantOf } from './variant.ts';
import { defineOp, f32, u32, type KernelCall } from './registry.ts';

/** nasa's kernel variants: attention's flash ones (reg, tiled), the same arithmetic. */
export const NASA_VARIANTS = VARIANTS.nasa;
export type NasaVariant = VariantOf<'nasa'>;

export interface NasaOptions {
  heads: number;
  /** Weight of the negative branch: a number, or a runtime scalar (guidance sweeps). */
  alpha: ScalarArg;
  /** Score scale; default 1/sqrt(D). */
  scale?: number;
  /** Additive key biases [B or 1, NkPos] / [B or 1, NkNeg]. */
  maskPos?: Node | null;
  maskNeg?: Node | null;
  variant?: NasaVariant;
}

const WG = 64;

/** q [B, Nq, H*D], kPos/vPos [B|1, NkPos, H*D|H*Dv], kNeg/vNeg [B|1, NkNeg, ...] -> [B, Nq, H*Dv]. */
export function nasaAttention(q: Node, kPos: Node, vPos: Node, kNeg: Node, vNeg: Node, opts: NasaOptions): Node {
  const { heads, maskPos = null, maskNeg = null } = opts;
  const xs = [q, kPos, vPos, kNeg, vNeg, ...(maskPos ? [maskPos] : []), ...(maskNeg ? [maskNeg] : [])];
  const { D, Dv } = checkQKV('nasa', q, kPos, vPos, heads, xs);
  const neg = checkQKV('nasa', q, kNeg, vNeg, heads, xs);
  if (neg.Dv !== Dv) badShapes('nasa', `vNeg's head size ${neg.Dv} != vPos's ${Dv}`, ...xs);
  if (typeof opts.alpha === 'number' && !Number.isFinite(opts.alpha)) badShapes('nasa', `alpha must be a finite number, got ${opts.alpha}`, ...xs);
  if (maskPos) checkMask('nasa', maskPos, q.dim(0), kPos.dim(1), 'maskPos', xs);
  if (maskNeg) checkMask('nasa', maskNeg, q.dim(0), kNeg.dim(1), 'maskNeg', xs);
  if (opts.variant && !NASA_VARIANTS.includes(opts.variant)) badShapes('nasa', `unknown variant '${opts.variant}'`, ...xs);
  return q.graph.add('nasa', xs, [q.dim(0), q.dim(1), heads * Dv], q.dtype, {
    heads, alpha: opts.alpha, scale: opts.scale ?? 1 / Math.sqrt(D), maskPos: !!maskPos, maskNeg: !!maskNeg, variant: opts.variant,
  });
}

defineOp({
  name: 'nasa',
  encode(n, ctx): KernelCall[] {
    const [q, kP, vP, kN, vN] = n.inputs;
    const masks = n.inputs.slice(5);
    const mP = n.attrs.maskPos ? masks[0] : null, mN = n.attrs.maskNeg ? masks[masks.length - 1] : null;
    const H = n.attrs.heads as number;
    const [B, Nq] = q.shape, D = q.dim(2) / H, Dv = vP.dim(2) / H;
    const variant = variantFor('nasa', ctx, n.attrs.variant);
    const tiled = variant === 'tiled';
    const DQ = Math.ceil(D / 4), DV4 = Math.ceil(Dv / 4);
    const QT = QUERIES_PER_INVOCATION[variant];
    const defines: Record<string, boolean | number> = {
      ...rowDefines(D, Dv), TILED: tiled, QT,
      MASK_P: !!mP, MASK_N: !!mN, MN_BINDING: mP ? 7 : 6, OUT_BINDING: 6 + masks.length,
    };
    // Two key sets share workgroup memory in the tiled variant.
    if (tiled) defines.BK = blockKeys(ctx, 2 * (cap(DQ) + cap(DV4)));
    const bs = (t: Node | null, per: number) => (!t || t.dim(0) === 1 ? 0 : per);
    const params = [
      u32(Nq), u32(kP.dim(1)), u32(kN.dim(1)), u32(H),
      u32(D), u32(Dv), u32(Nq * H * D), u32(DQ),
      u32(DV4), f32(n.attrs.scale), f32(n.attrs.alpha), u32(0),
      u32(bs(kP, kP.dim(1) * H * D)), u32(bs(kN, kN.dim(1) * H * D)),
      u32(bs(vP, vP.dim(1) * H * Dv)), u32(bs(vN, vN.dim(1) * H * Dv)),
      u32(bs(mP, kP.dim(1))), u32(bs(mN, kN.dim(1))),
    ];
    return [{
      kernel: { name: 'nasa', defines, constants: { WG } },
      buffers: [q, kP, vP, kN, vN, ...masks, n], params, grid: attentionGrid(n, Nq, H, B, WG * QT),
    }];
  },
  async ref(n, ins, scalar) {
    const { nasa } = await import('../ref/nasa.ts');
    const [q, kP, vP, kN, vN] = n.inputs;
    const masks = ins.slice(5);
    const mP = n.attrs.maskPos ? masks[0] : null, mN = n.attrs.maskNeg ? masks[masks.length - 1] : null;
    const mNodes = n.inputs.slice(5);
    return nasa(
      { q: ins[0], qShape: q.shape, kPos: ins[1], kPosShape: kP.shape, vPos: ins[2], vPosShape: vP.shape, kNeg: ins[3], kNegShape: kN.shape, vNeg: ins[4], vNegShape: vN.shape },
      {
        heads: n.attrs.heads, alpha: scalar(n.attrs.alpha), scale: n.attrs.scale,
        maskPos: mP, maskPosBatch: mP ? mNodes[0].dim(0) : 0, maskNeg: mN, maskNegBatch: mN ? mNodes[mNodes.length - 1].dim(0) : 0,
      },
    );
  },
});
