// VAE options shared by `forward` and `generate`: tiling (--vae-tiling, --tile-*) and, for
// generate, another decoder (--vae FOLDER: a TAESD or AutoencoderKL) and step previews.
import { EngineError } from '../errors.ts';
import type { VaeConfig } from '../models/configs.ts';
import type { VaeTiling } from '../models/api/vae_tiler.ts';
import { Taesd, Vae, type LoadOptions } from '../models/index.ts';
import type { GenerateOptions, ImagePipeline } from '../pipeline/common.ts';
import { loadDecoder, pipelineVae, PreviewWriter, type PreviewLatent } from '../pipeline/preview.ts';
import type { OptSpec } from './args.ts';

export const TILING_OPTS: OptSpec = {
  'vae-tiling': { type: 'boolean' },
  'tile-sample-size': { type: 'number' }, 'tile-latent-size': { type: 'number' }, 'tile-overlap': { type: 'number' },
};

export const TILING_HELP = `  --vae-tiling             decode (and encode) in tiles like diffusers' enable_tiling(); by default
                           tiles are used only when the whole decode would not fit the adapter
  --tile-sample-size N --tile-latent-size M --tile-overlap F
                           exactly these tiles (default: the VAE config's sample_size, sample_size/8, 0.25)`;

/** The tiling mode the options ask for, or null for the default ('auto'). */
export function tilingFromArgs(cmd: string, opts: Record<string, unknown>, config: VaeConfig | null, className: string): VaeTiling | null {
  const S = opts['tile-sample-size'] as number | undefined, L = opts['tile-latent-size'] as number | undefined, o = opts['tile-overlap'] as number | undefined;
  const forced = opts['vae-tiling'] === true;
  if (!forced && S === undefined && L === undefined && o === undefined) return null;
  if (!config) throw new EngineError(`${cmd}: --vae-tiling and --tile-* apply to AutoencoderKL, not ${className}`);
  if (S === undefined && L === undefined && o === undefined) return 'on';
  const f = 2 ** (config.block_out_channels.length - 1);
  for (const [name, v] of [['--tile-sample-size', S], ['--tile-latent-size', L]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new EngineError(`${cmd}: ${name} must be a positive integer, got ${v}`);
  }
  const sample = S ?? (L !== undefined ? L * f : config.sample_size ?? 512);
  if (sample < f) throw new EngineError(`${cmd}: --tile-sample-size ${sample} is smaller than the VAE's latent downsampling ${f}`);
  return { sampleSize: sample, latentSize: L ?? Math.trunc(sample / f), overlap: o ?? 0.25 };
}

export const GENERATE_VAE_OPTS: OptSpec = {
  ...TILING_OPTS,
  vae: { type: 'string' }, preview: { type: 'string' }, 'preview-vae': { type: 'string' }, 'preview-latent': { type: 'string' },
};

export const GENERATE_VAE_HELP = `  --vae DIR                decode with this VAE folder instead of the model's: a TAESD (taesd, taesdxl,
                           taef1; fast, approximate) or an AutoencoderKL; latent channels must match
  --preview DIR|PREFIX     after every step write a TAESD decode: DIR/step-N.png or PREFIX-step-N.png
  --preview-vae DIR        the TAESD folder for --preview (default: --vae when it is a TAESD)
  --preview-latent x0|latents  preview the step's x0 estimate (pred_original_sample, default) or the
                           noisy latents diffusers' callback_on_step_end receives (prev_sample)
${TILING_HELP}`;

/** What the VAE options add to a generate run. */
export interface VaeSetup {
  run: Pick<GenerateOptions, 'decoder' | 'onLatents'>;
  preview: PreviewWriter | null;
  /** For the summary line: which decoder, which previews. */
  describe(): string;
  destroy(): void;
}

export function setupVae(pipe: ImagePipeline, opts: Record<string, unknown>, lo: LoadOptions): VaeSetup {
  const own = pipelineVae(pipe);
  const tiling = tilingFromArgs('generate', opts, own?.config ?? null, 'this pipeline');
  if (tiling && own) own.tiler.mode = tiling;
  const owned: { destroy(): void }[] = [];
  const vaeDir = opts.vae as string | undefined;
  const decoder = vaeDir ? loadDecoder(vaeDir, pipe, lo) : null;
  if (decoder) owned.push(decoder);
  if (decoder instanceof Vae && tiling) decoder.tiler.mode = tiling;
  const target = opts.preview as string | undefined;
  const pvDir = opts['preview-vae'] as string | undefined, pvLatent = opts['preview-latent'] as string | undefined;
  if (!target && (pvDir || pvLatent)) throw new EngineError(`generate: --${pvDir ? 'preview-vae' : 'preview-latent'} needs --preview DIR|PREFIX`);
  if (pvLatent !== undefined && pvLatent !== 'x0' && pvLatent !== 'latents') throw new EngineError(`generate: --preview-latent must be x0 or latents, got '${pvLatent}'`);
  let preview: PreviewWriter | null = null;
  if (target) {
    if (pipe.family === 'flux') throw new EngineError('generate: --preview is not supported for FLUX pipelines yet (their step latents are packed)');
    if (opts['batch-file']) throw new EngineError('generate: --preview applies to -p runs, not --batch-file');
    const pv = pvDir ? loadDecoder(pvDir, pipe, lo, '--preview-vae') : decoder instanceof Taesd ? decoder : null;
    if (!pv) throw new EngineError('generate: --preview needs a TAESD folder: --preview-vae DIR (or --vae DIR with a TAESD)');
    if (pv !== decoder) owned.push(pv);
    preview = new PreviewWriter(pv, target, (pvLatent ?? 'x0') as PreviewLatent);
  }
  return {
    run: { ...(decoder ? { decoder } : {}), ...(preview ? { onLatents: preview.onLatents } : {}) },
    preview,
    describe: () => [
      decoder ? `decoded with ${decoder.className} ${vaeDir}` : '',
      preview ? `${preview.files.length} preview(s) of ${preview.latent} (${(preview.ms / 1000).toFixed(2)} s), e.g. ${preview.files.at(-1)}` : '',
    ].filter(Boolean).join('; '),
    destroy: () => owned.forEach((o) => o.destroy()),
  };
}
