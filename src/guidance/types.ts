// The one guidance vocabulary, from the CLI to the kernel (docs: ../shared/docs/nasa.md).
//
//   GuidanceOptions  what a user asks for (CLI flags, the library's generate() options);
//                    resolveGuidance (./resolve.ts) validates every key and fills the
//                    model family's defaults (./families.ts) into
//   Guidance         the resolved settings: every field its mode uses is set. Pipelines
//                    run 'none' and 'cfg' themselves; the attention-space modes
//                    (AttentionGuidance) go to a model's forward().
//   GraphGuidance    what a model's graph is built with: the mode and the negative text
//                    as graph nodes. Strengths are NOT in the graph: they are runtime
//                    scalars (./scalars.ts), so one compiled graph serves every alpha.
//   LayerGuidance    the same, handed to one attention layer together with its site.
//
// A site is one attention layer where guidance acts; sites are grouped into named parts
// (SITE_PARTS) that alpha schedules can address. A model declares its layout (module
// path prefix -> part, ./families.ts SITE_LAYOUTS) and numbers its sites in forward
// order with siteOf(). Adding a new kind of site (a video model's temporal blocks, say):
// add its name to SITE_PARTS, map its module prefix in a layout, and call siteOf() from
// the model; schedules, validation and the runtime scalars follow from the table.
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';

export type GuidanceMode = 'none' | 'nasa' | 'cfg' | 'nag' | 'vsf';
export const GUIDANCE_MODES: readonly GuidanceMode[] = ['none', 'nasa', 'cfg', 'nag', 'vsf'];

/** The modes that act inside attention (the others are whole-model: none, cfg). */
export type AttentionMode = 'nasa' | 'nag' | 'vsf';

/** Every named group of guidance sites, with what it is. */
export const SITE_PARTS = {
  down: 'UNet down_blocks: cross-attention (attn2) of the CrossAttnDownBlock2Ds',
  mid: 'UNet mid_block: cross-attention of UNetMidBlock2DCrossAttn',
  up: 'UNet up_blocks: cross-attention of the CrossAttnUpBlock2Ds',
  blocks: 'DiT transformer_blocks: cross-attention (attn2) of each block (PixArt)',
  double: 'MMDiT double-stream transformer_blocks: joint attention, image queries over text keys (FLUX)',
  single: 'MMDiT single-stream single_transformer_blocks: joint attention over [text; image] (FLUX)',
} as const;
export type SitePart = keyof typeof SITE_PARTS;

/**
 * How a site's attention meets the text: `cross`, a separate attention whose keys/values
 * are the text alone (UNet attn2, PixArt attn2); `joint`, text tokens concatenated with the
 * image tokens in one attention (MMDiT), where guidance corrects the image tokens' share.
 */
export type SiteAttention = 'cross' | 'joint';

/** One attention layer where guidance acts, numbered in forward order across the model. */
export interface GuidanceSite {
  part: SitePart;
  /** Index of the block within its part (0 for a lone block such as the UNet mid block). */
  block: number;
  /** Position among all the model's guidance sites, in forward order. */
  index: number;
  /** Module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`. */
  path: string;
  attention: SiteAttention;
}

/** Module path prefix (up to the first dot) -> part, for one model architecture. */
export type SiteLayout = Readonly<Record<string, SitePart>>;

/** The site of the attention at `path`; an unknown prefix is a model-definition error. */
export function siteOf(path: string, index: number, layout: SiteLayout, attention: SiteAttention = 'cross'): GuidanceSite {
  const m = /^([A-Za-z_]+)(?:\.(\d+))?/.exec(path);
  const part = m ? layout[m[1]] : undefined;
  if (!part) throw new EngineError(`guidance site '${path}': its prefix '${m?.[1] ?? path}' is not in this model's site layout (${Object.keys(layout).join(', ')})`);
  return { part, block: m![2] ? Number(m![2]) : 0, index, path, attention };
}

/**
 * A per-site scalar: one value everywhere, or a default with overrides per part and
 * finally per site (`layers[i]` for the i-th site in forward order; null or missing
 * entries fall back to the part value, then the default). A user's schedule may leave
 * out `default`: resolveGuidance fills in the family's.
 */
export type LayerSchedule = number | ScheduleObject;
export type ScheduleObject = { default?: number; layers?: (number | null)[] } & { [P in SitePart]?: number };

/** What a user asks for: a mode and any of its strengths (missing ones get the family's defaults). */
export interface GuidanceOptions {
  mode: GuidanceMode;
  /** nasa: alpha (number or per-part / per-layer schedule); nag: blend alpha. */
  alpha?: LayerSchedule;
  /** cfg: guidance scale k; nag: extrapolation scale s; vsf: value scale s. */
  scale?: number;
  /** nag: norm-ratio clip tau. */
  tau?: number;
  /** vsf: bias subtracted from the negative keys' logits. */
  offset?: number;
}

/** NASA (arXiv 2412.02687): Z = softmax(Q K+^T) V+ - alpha softmax(Q K-^T) V- at every site. */
export interface NasaSettings { mode: 'nasa'; alpha: LayerSchedule }
/** CFG: eps = eps(neg) + scale (eps(pos) - eps(neg)), two model evaluations as one batch. */
export interface CfgSettings { mode: 'cfg'; scale: number }
/**
 * NAG (arXiv 2505.21179): Z~ = s Z+ - (s-1) Z-, per-token L1 ratio r = |Z~|/|Z+| clipped to
 * tau, Z = alpha Z~ min(r,tau)/r + (1-alpha) Z+.
 */
export interface NagSettings { mode: 'nag'; scale: number; tau: number; alpha: number }
/** VSF (arXiv 2508.10931): one softmax over [K+; K-], values [V+; -s V-], negative logits - offset. */
export interface VsfSettings { mode: 'vsf'; scale: number; offset: number }

/** Resolved guidance: every field the mode uses is set and valid. */
export type Guidance = { mode: 'none' } | NasaSettings | CfgSettings | NagSettings | VsfSettings;
/** The resolved settings a model's forward() takes. */
export type AttentionGuidance = NasaSettings | NagSettings | VsfSettings;

/** Guidance as a graph is built with it: no strengths (they are runtime scalars). */
export interface GraphGuidance {
  mode: AttentionMode;
  /** Negative text states [B, N-, context dim], as the layers' own to_k/to_v take them. */
  negativeContext: Node;
  /** Optional additive bias over the negative tokens [B, N-] (0 keep, large negative drop). */
  negativeMask?: Node | null;
}

/** What one attention layer gets: the graph's guidance and where the layer sits. */
export interface LayerGuidance extends GraphGuidance {
  site: GuidanceSite;
}
