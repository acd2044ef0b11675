// The text-to-image library API: load a model (diffusers folder or single-file
// checkpoint) into the pipeline for its family, then generate() images.
//
//   const pipe = loadPipeline('sd-turbo/', { dtype: 'f16' });
//   const { image } = await pipe.generate({ prompts: ['a cabin'], negatives: ['snow'], guidance: { mode: 'nasa' } });
import { EngineError } from '../errors.ts';
import { openModel } from '../io/open.ts';
import type { ImagePipeline } from './common.ts';
import { TextToImagePipeline, type PipelineLoadOptions } from './pipeline.ts';
import { PixArtPipeline } from './pixart.ts';
import { FluxPipeline } from './flux.ts';

export type { GenerateOptions, GenerateResult, ImagePipeline } from './common.ts';
export type { Guidance, GuidanceMode, GuidanceOptions } from '../guidance/index.ts';
export { GUIDANCE_FAMILIES, resolveGuidance } from '../guidance/index.ts';
export { TextToImagePipeline, type PipelineLoadOptions } from './pipeline.ts';
export { PixArtPipeline } from './pixart.ts';
export { FluxPipeline } from './flux.ts';

const SD = new Set(['StableDiffusionPipeline', 'StableDiffusionXLPipeline', '']);
const PIXART = new Set(['PixArtAlphaPipeline']);
const FLUX = new Set(['FluxPipeline']);

export function loadPipeline(modelPath: string, opts: PipelineLoadOptions = {}): ImagePipeline {
  const src = openModel(modelPath, opts);
  if (FLUX.has(src.className)) return FluxPipeline.fromSource(src, opts);
  if (opts.transformer) throw new EngineError(`--transformer: ${modelPath} is a ${src.className || src.family || 'non-FLUX'} pipeline; a transformer file replaces a FluxPipeline's transformer only`);
  if (PIXART.has(src.className) || 'transformer' in src.components) return PixArtPipeline.fromSource(src, opts);
  if (SD.has(src.className) || src.family) return TextToImagePipeline.fromSource(src, opts);
  throw new EngineError(`${modelPath}: pipeline class '${src.className}' is not supported (supported: ${[...SD, ...PIXART, ...FLUX].filter(Boolean).join(', ')})`);
}
