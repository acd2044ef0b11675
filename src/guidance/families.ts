// Guidance facts per model family, in one table: where a family's denoiser has its
// guidance sites (the site layout of its architecture) and the default strength of each
// mode. A new family is one row; a new architecture is one SITE_LAYOUTS entry.
import type { SiteLayout, SitePart } from './types.ts';

/** Module path prefix -> site part, per denoiser architecture. */
export const SITE_LAYOUTS = {
  /** UNet2DConditionModel (SD1.x, SD2.x, SDXL): attn2 of every Transformer2DModel. */
  unet: { down_blocks: 'down', mid_block: 'mid', up_blocks: 'up' },
  /** PixArtTransformer2DModel: attn2 of every transformer block. */
  dit: { transformer_blocks: 'blocks' },
  /** FluxTransformer2DModel: the joint attention of the double- and single-stream blocks. */
  mmdit: { transformer_blocks: 'double', single_transformer_blocks: 'single' },
} as const satisfies Record<string, SiteLayout>;
export type Architecture = keyof typeof SITE_LAYOUTS;

/** The parts a layout's schedules may name. */
export function layoutParts(layout: SiteLayout): SitePart[] {
  return [...new Set(Object.values(layout))];
}

export interface GuidanceDefaults {
  nasa: { alpha: number };
  cfg: { scale: number };
  nag: { scale: number; tau: number; alpha: number };
  vsf: { scale: number; offset: number };
}

export interface FamilyGuidance {
  architecture: Architecture;
  defaults: GuidanceDefaults;
}

// CFG, NAG and VSF have one setting for every family so far (the engine's defaults since
// these modes landed); a family that needs its own overrides them in its row.
const SHARED = { cfg: { scale: 1.5 }, nag: { scale: 4, tau: 2.5, alpha: 0.5 }, vsf: { scale: 3, offset: 0.1 } };

/**
 * NASA-I alpha from the paper (../shared/docs/nasa.md): 0.1 for SD1.5-based models, 0.2
 * for SD2.1-based ones (SDXL follows SD2), 0.5 for PixArt-α-based ones.
 */
export const GUIDANCE_FAMILIES = {
  sd1: { architecture: 'unet', defaults: { ...SHARED, nasa: { alpha: 0.1 } } },
  sd2: { architecture: 'unet', defaults: { ...SHARED, nasa: { alpha: 0.2 } } },
  sdxl: { architecture: 'unet', defaults: { ...SHARED, nasa: { alpha: 0.2 } } },
  pixart: { architecture: 'dit', defaults: { ...SHARED, nasa: { alpha: 0.5 } } },
  /** FLUX.1 (schnell / dev): the paper gives no NASA-I alpha for it; 0.5 is what the shared FLUX goldens use. */
  flux: { architecture: 'mmdit', defaults: { ...SHARED, nasa: { alpha: 0.5 } } },
} as const satisfies Record<string, FamilyGuidance>;
export type GuidanceFamily = keyof typeof GUIDANCE_FAMILIES;

/** A UNet pipeline whose family is not recognised gets SD2's row (the middle of the UNet range). */
export const FALLBACK_FAMILY: GuidanceFamily = 'sd2';

/** The row of `family` (null or unknown: FALLBACK_FAMILY). */
export function familyGuidance(family: string | null): FamilyGuidance {
  return (GUIDANCE_FAMILIES as Record<string, FamilyGuidance>)[family ?? ''] ?? GUIDANCE_FAMILIES[FALLBACK_FAMILY];
}
