// Guidance that acts inside cross-attention (docs: ../shared/docs/nasa.md). A model takes
// one `Guidance` for a whole forward pass; each cross-attention layer receives it with
// its settings resolved for that layer (`LayerGuidance`) and hands it to the one entry
// point, Attention.forward (src/models/attention.ts). Self-attention never sees it, and
// the image latent is never duplicated: only the text side is computed twice.
//
// New modes (NAG, VSF, ...) add a member to both unions and a case in Attention.forward.
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';

/** Where a cross-attention layer sits, numbered in forward order across the model. */
export interface CrossAttnSite {
  /** UNet part, 'blocks' for a DiT's transformer_blocks (PixArt), or FLUX's double / single stream blocks. */
  part: 'down' | 'mid' | 'up' | 'blocks' | 'double' | 'single';
  /** Index of the block within its part (0 for the mid block). */
  block: number;
  /** Position among all cross-attention layers of the model, in forward order. */
  index: number;
  /** Module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`. */
  path: string;
}

/**
 * A per-layer scalar: one value everywhere, or a default with overrides per part of the
 * UNet and finally per layer (`layers[i]` for the i-th cross-attention layer in forward
 * order; null or missing entries fall back to the part/default value).
 */
export type LayerSchedule = number | {
  default: number;
  down?: number;
  mid?: number;
  up?: number;
  /** Every block of a DiT (PixArt's transformer_blocks). */
  blocks?: number;
  /** FLUX's double-stream (transformer_blocks) and single-stream blocks. */
  double?: number;
  single?: number;
  layers?: (number | null)[];
};

/**
 * NASA (arXiv 2412.02687, ../shared/docs/nasa.md): in every cross-attention
 * layer Z = softmax(Q K+^T) V+ - alpha * softmax(Q K-^T) V-, with K-/V- the layer's own
 * to_k/to_v applied to the negative text states.
 */
export interface NasaGuidance {
  mode: 'nasa';
  alpha: LayerSchedule;
  /** Negative text states [B, N-, cross_attention_dim] (e.g. CLIP of the negative prompt). */
  negativeContext: Node;
  /** Optional additive mask over the negative tokens [B, N-] (0 keep, large negative drop). */
  negativeMask?: Node | null;
}

/**
 * NAG, Normalized Attention Guidance (arXiv 2505.21179): Z~ = s Z+ - (s-1) Z-, per-token
 * L1 ratio r = |Z~|/|Z+| clipped to tau, Z = alpha Z~ min(r,tau)/r + (1-alpha) Z+.
 */
export interface NagGuidance {
  mode: 'nag';
  scale: number;
  tau: number;
  alpha: number;
  negativeContext: Node;
  negativeMask?: Node | null;
}

/**
 * VSF, Value Sign Flip (arXiv 2508.10931): one softmax over keys [K+; K-] with values
 * [V+; -s V-] and a bias -offset on the negative keys' logits.
 */
export interface VsfGuidance {
  mode: 'vsf';
  scale: number;
  offset: number;
  negativeContext: Node;
  negativeMask?: Node | null;
}

export type Guidance = NasaGuidance | NagGuidance | VsfGuidance;

/** What one layer gets: the same guidance with its scalars resolved for that layer. */
export type LayerGuidance = (Omit<NasaGuidance, 'alpha'> & { alpha: number }) | NagGuidance | VsfGuidance;

export function scheduleAt(s: LayerSchedule, site: CrossAttnSite, what: string): number {
  if (typeof s === 'number') return s;
  const v = s.layers?.[site.index] ?? s[site.part] ?? s.default;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new EngineError(`${what} for ${site.path} is ${JSON.stringify(v)}, expected a finite number`);
  return v;
}

/** Checks a schedule against the number of cross-attention layers of a model. */
export function checkSchedule(s: LayerSchedule, layers: number, what: string): void {
  if (typeof s === 'number') {
    if (!Number.isFinite(s)) throw new EngineError(`${what} must be a finite number, got ${s}`);
    return;
  }
  if (s.layers && s.layers.length > layers) {
    throw new EngineError(`${what}.layers has ${s.layers.length} entries but the model has ${layers} cross-attention layers`);
  }
}

export function forLayer(g: Guidance, site: CrossAttnSite): LayerGuidance {
  switch (g.mode) {
    case 'nasa':
      return { ...g, alpha: scheduleAt(g.alpha, site, 'nasa alpha') };
    case 'nag':
    case 'vsf':
      return g;
  }
}
