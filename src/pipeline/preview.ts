// Another VAE for a pipeline (generate --vae FOLDER: a TAESD `taesd` / `taesdxl` / `taef1`
// folder, or an AutoencoderKL such as an fp16-fix VAE) and per-step previews (--preview):
// after every denoising step the step's latent is decoded with a TAESD and written as a PNG.
//
// Which latent: by default x0, the scheduler's pred_original_sample (the clean image the
// model predicts at that step: what preview tools show); `latents` is diffusers'
// callback_on_step_end `latents`, the still-noisy prev_sample entering the next step.
// TAESD's scaling_factor is 1.0 and its shift 0.0, so it decodes UNet-space latents as they
// are, exactly like diffusers' pipelines do with `vae=AutoencoderTiny` (latents / 1.0).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { readJsonObject } from '../io/folder.ts';
import { configClass } from '../io/configcheck.ts';
import { Taesd, Vae, type LoadOptions } from '../models/index.ts';
import { decodeLatents, type ImagePipeline, type LatentDecoder, type StepLatents } from './common.ts';
import { floatImageToRgb, writePng } from './png.ts';

export type PreviewLatent = 'x0' | 'latents';

/** The pipeline's own AutoencoderKL, where it has one. */
export function pipelineVae(pipe: ImagePipeline): Vae | null {
  const v = (pipe as { vae?: unknown }).vae;
  return v instanceof Vae ? v : null;
}

/** Opens `dir` as a decoder for `pipe`: its class decides TAESD or KL; latent channels must match. */
export function loadDecoder(dir: string, pipe: ImagePipeline, opts: LoadOptions, what = '--vae'): Vae | Taesd {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new EngineError(`${what} ${dir}: no such folder (expected a VAE folder with config.json: taesd, taesdxl, taef1 or an AutoencoderKL)`);
  const cls = configClass(readJsonObject(path.join(dir, 'config.json')));
  let dec: Vae | Taesd;
  if (cls === 'AutoencoderTiny') dec = Taesd.load(dir, opts);
  else if (cls === 'AutoencoderKL') dec = Vae.load(dir, opts);
  else throw new EngineError(`${what} ${dir}: config class ${JSON.stringify(cls)} is not a VAE (expected AutoencoderTiny or AutoencoderKL)`);
  const own = pipelineVae(pipe);
  if (own) {
    const want = own.config.latent_channels, got = dec.config.latent_channels;
    const ownScale = 2 ** (own.config.block_out_channels.length - 1);
    const scale = dec instanceof Taesd ? dec.scaleFactor : 2 ** (dec.config.block_out_channels.length - 1);
    const fail = (why: string) => {
      dec.destroy();
      const hint = !(dec instanceof Taesd) ? '' : got === 16 ? ' (taef1 is for FLUX)' : got === 4 ? ' (taesd/taesdxl are for SD/SDXL)' : '';
      throw new EngineError(`${what} ${dir}: ${why}${hint}`);
    };
    if (got !== want) fail(`${dec.className} has ${got} latent channels, the model's VAE has ${want}`);
    if (scale !== ownScale) fail(`${dec.className} downsamples by ${scale}, the model's VAE by ${ownScale}`);
  }
  return dec;
}

/** Where the preview of `step` (of image `b` of `B`) goes: DIR/step-NN.png or PREFIX-step-NN.png. */
export function previewFile(target: string, step: number, total: number, b: number, B: number): string {
  const isDir = target.endsWith('/') || target.endsWith(path.sep) || (fs.existsSync(target) && fs.statSync(target).isDirectory());
  const n = String(step).padStart(String(total).length, '0');
  const name = `step-${n}${B > 1 ? `-${b}` : ''}.png`;
  return isDir ? path.join(target, name) : `${target}-${name}`;
}

/** The onLatents hook that writes one TAESD-decoded PNG per step and image. */
export class PreviewWriter {
  readonly files: string[] = [];
  ms = 0;

  constructor(readonly decoder: LatentDecoder, readonly target: string, readonly latent: PreviewLatent = 'x0') {
    const dir = target.endsWith('/') || target.endsWith(path.sep) ? target : path.dirname(target);
    if (dir && !fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true });
  }

  readonly onLatents = async (s: StepLatents): Promise<void> => {
    const t0 = performance.now();
    const t = this.latent === 'x0' ? s.x0 : s.latents;
    const img = await decodeLatents(this.decoder, t.data as Float32Array, t.shape);
    const B = t.shape[0];
    for (let b = 0; b < B; b++) {
      const file = previewFile(this.target, s.step, s.total, b, B);
      writePng(file, floatImageToRgb(img.data as Float32Array, img.shape, b), [['Comment', `preview of step ${s.step}/${s.total} (${this.latent === 'x0' ? 'x0 = pred_original_sample' : 'latents = prev_sample'})`]]);
      this.files.push(file);
    }
    this.ms += performance.now() - t0;
  };
}
