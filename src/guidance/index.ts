// Guidance: one vocabulary from the CLI to the kernel (./types.ts), the per-family
// defaults and site layouts (./families.ts), validation (./resolve.ts) and the runtime
// scalars that carry strengths into a compiled graph (./scalars.ts).
export * from './types.ts';
export { FALLBACK_FAMILY, familyGuidance, GUIDANCE_FAMILIES, layoutParts, SITE_LAYOUTS, type Architecture, type FamilyGuidance, type GuidanceDefaults, type GuidanceFamily } from './families.ts';
export { checkSchedule, checkSettings, parseAlpha, parseGuidanceMode, resolveGuidance, scheduleAt } from './resolve.ts';
export { guidanceScalars, layerScalars, type LayerScalars } from './scalars.ts';
