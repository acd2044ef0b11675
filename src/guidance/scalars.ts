// Guidance strengths as runtime scalars: a guided graph declares them by name (layerScalars,
// at build time) and each run sets their values from the resolved settings
// (guidanceScalars), so a sweep over alphas reuses one compiled graph: no pipeline
// compile, plan or bind group per value. The names are made here and nowhere else.
import type { Scalar } from '../graph/graph.ts';
import { checkSettings, scheduleAt } from './resolve.ts';
import type { AttentionGuidance, GuidanceSite, LayerGuidance, SitePart } from './types.ts';

const nasaAlpha = (site: GuidanceSite) => `nasa.alpha.${site.index}`;
const NAG = { scale: 'nag.scale', tau: 'nag.tau', alpha: 'nag.alpha' } as const;
// VSF's kernels take the negated strengths: values scaled by -s, negative logits biased by -offset.
const VSF = { valueScale: 'vsf.value_scale', keyBias: 'vsf.key_bias' } as const;

export type LayerScalars =
  | { mode: 'nasa'; alpha: Scalar }
  | { mode: 'nag'; scale: Scalar; tau: Scalar; alpha: Scalar }
  | { mode: 'vsf'; valueScale: Scalar; keyBias: Scalar };

/** The runtime scalars one guided attention layer reads (NASA's alpha is per site). */
export function layerScalars(g: LayerGuidance): LayerScalars {
  const gr = g.negativeContext.graph;
  switch (g.mode) {
    case 'nasa':
      return { mode: 'nasa', alpha: gr.scalar(nasaAlpha(g.site)) };
    case 'nag':
      return { mode: 'nag', scale: gr.scalar(NAG.scale), tau: gr.scalar(NAG.tau), alpha: gr.scalar(NAG.alpha) };
    case 'vsf':
      return { mode: 'vsf', valueScale: gr.scalar(VSF.valueScale), keyBias: gr.scalar(VSF.keyBias) };
  }
}

/**
 * The value of every scalar a graph guided by `g.mode` reads, for a model with these
 * sites and schedule parts. Checks the settings first (so the library API, which may pass
 * settings straight to forward(), gets the CLI's errors).
 */
export function guidanceScalars(g: AttentionGuidance, sites: readonly GuidanceSite[], parts: readonly SitePart[]): Record<string, number> {
  checkSettings(g, parts, sites);
  switch (g.mode) {
    case 'nasa':
      return Object.fromEntries(sites.map((s) => [nasaAlpha(s), scheduleAt(g.alpha, s)]));
    case 'nag':
      return { [NAG.scale]: g.scale, [NAG.tau]: g.tau, [NAG.alpha]: g.alpha };
    case 'vsf':
      return { [VSF.valueScale]: -g.scale, [VSF.keyBias]: -g.offset };
  }
}
