// Typed API of AutoencoderKL: encode (image -> mean, logvar) and decode (z -> image).
//
// f16 overflow: the SD/SDXL VAE decoder's activations exceed the f16 range on real
// checkpoints (why "fp16-fix" VAEs exist). In f16 the whole decoder runs as one graph;
// if its output holds inf/NaN, it is re-run stage by stage (conv_in+mid block, each up
// block, output head), each stage in f16 unless its input does not fit f16 or its f16
// output is not finite, in which case that stage alone is re-run in f32, said on stderr.
// The stages that needed f32 are remembered for the next call of the same shape.
import { EngineError } from '../../errors.ts';
import type { Graph } from '../../graph/graph.ts';
import { vaeConfig, type VaeConfig } from '../configs.ts';
import { latentsToZ, zToLatents } from '../latents.ts';
import { AutoencoderKL } from '../vae.ts';
import { allFinite, runF16OrF32 } from './f16.ts';
import { buildModel, openForLoad, checkInputs, GraphCache, shapeKey, type HostTensor, type InputSpec, type LoadOptions, type Component } from './common.ts';
import { joinChannels, splitChannels, VaeTiler, type VaeRunOptions } from './vae_tiler.ts';

export type VaeMethod = 'encode' | 'decode';

export class Vae {
  readonly className = 'AutoencoderKL';
  private cache: GraphCache;
  private stageCache: GraphCache;
  /** Per decode shape: stages that overflowed f16 before. */
  private f32Stages = new Map<string, Set<number>>();
  /** Where overflow notes go (stderr by default; tests capture it). */
  warn: (msg: string) => void = (m) => console.error(m);
  /** Tiled decode/encode (diffusers' enable_tiling); `tiler.mode` is 'auto' unless set. */
  readonly tiler: VaeTiler;

  private constructor(readonly model: AutoencoderKL, readonly config: VaeConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
    this.tiler = new VaeTiler(model, config, opts.device);
    const stages = model.decodeStages().length;
    this.stageCache = this.cache.sibling(2 * stages);
  }

  /** Opens a component folder (config.json + weights under any diffusers file name). */
  static load(dir: string, opts: LoadOptions = {}): Vae {
    return Vae.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  /** Builds from an opened component (a folder, or a single-file checkpoint's part); `where` names it in errors. */
  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): Vae {
    const { model, config } = buildModel(where, comp, vaeConfig, AutoencoderKL);
    return new Vae(model, config, opts);
  }


  get dtype() { return this.cache.dtype; }

  signature(method: VaeMethod): InputSpec[] {
    const c = this.config;
    return method === 'encode'
      ? [{ name: 'sample', shapes: [['B', c.in_channels, 'H', 'W']], kind: 'float', doc: 'image in [-1, 1]' }]
      : [{ name: 'z', shapes: [['B', c.latent_channels, 'h', 'w']], kind: 'float', doc: 'UNSCALED latent (unet latent / scaling_factor + shift_factor)' }];
  }

  /** sample [B, 3, H, W] -> mean, logvar [B, latent, H/f, W/f] (logvar clamped to [-30, 20]). */
  async encode(inputs: { sample: HostTensor }, opts: VaeRunOptions = {}): Promise<Record<string, HostTensor>> {
    const f = 2 ** (this.config.block_out_channels.length - 1);
    const { H, W } = checkInputs(`${this.className} encode`, this.signature('encode'), inputs);
    if (H % f || W % f) throw new EngineError(`${this.className} encode: image is ${H}x${W}; height and width must be divisible by ${f}`);
    if (!opts.whole && !opts.debug) { // --debug: one untiled pass with its intermediates
      const moments = await this.tiler.run('encode', inputs.sample, this.dtype, async (tile) => {
        const r = await this.encode({ sample: tile }, { whole: true, unclamped: true });
        return joinChannels(r.mean, r.logvar);
      });
      const [mean, logvar] = splitChannels(moments, this.config.latent_channels);
      return { mean, logvar: clampLogvar(logvar) };
    }
    const build = (g: Graph) => this.model.encode(g.input('sample', inputs.sample.shape)) as unknown as Record<string, any>;
    const key = `encode|${shapeKey(inputs.sample)}`;
    let out = await this.cache.run(key, build, { sample: inputs.sample.data }, opts);
    if (!allFinite(out.mean) || !allFinite(out.logvar)) {
      if (this.dtype === 'f32') throw new EngineError(`${this.className} encode: the output holds inf/NaN in f32 (is the input image in [-1, 1]?)`);
      this.warn(`vae encode: f16 overflowed (inf/NaN in the output); re-ran the encoder in f32`);
      out = await this.cache.run(key, build, { sample: inputs.sample.data }, { ...opts, dtype: 'f32' });
    }
    if (!opts.unclamped) clampLogvar(out.logvar);
    return out;
  }

  /** z [B, latent, h, w] (unscaled) -> sample [B, out_channels, h*f, w*f]. */
  async decode(inputs: { z: HostTensor }, opts: VaeRunOptions = {}): Promise<Record<string, HostTensor>> {
    checkInputs(`${this.className} decode`, this.signature('decode'), inputs);
    const z = inputs.z;
    if (!opts.whole && !opts.debug) return { sample: await this.tiler.run('decode', z, this.dtype, async (tile) => (await this.decode({ z: tile }, { whole: true })).sample) };
    const key = shapeKey(z);
    const known = this.f32Stages.get(key);
    if (this.dtype === 'f32' || !known) {
      const build = (g: Graph) => ({ sample: this.model.decode(g.input('z', z.shape)) });
      const out = await this.cache.run(`decode|${key}`, build, { z: z.data }, opts);
      if (allFinite(out.sample)) return out;
      if (this.dtype === 'f32') throw new EngineError(`${this.className} decode: the output holds inf/NaN in f32 (is z the unscaled latent?)`);
    }
    return { sample: await this.decodeStaged(z, key) };
  }

  /** The fallback: stage by stage, f32 only where f16 does not hold. */
  private async decodeStaged(z: HostTensor, key: string): Promise<HostTensor> {
    const f32 = this.f32Stages.get(key) ?? new Set<number>();
    this.f32Stages.set(key, f32);
    let h = z;
    const stages = this.model.decodeStages();
    for (let i = 0; i < stages.length; i++) {
      const s = stages[i];
      const run = async (dtype: 'f16' | 'f32') => ({ h: (await this.stageCache.run(`stage${i}|${h.shape.join('x')}`, (g) => ({ h: s.forward(g.input('h', h.shape)) }), { h: h.data }, { dtype })).h });
      const r = await runF16OrF32('vae decode', s.name, h, f32.has(i), run, this.warn);
      if (r.usedF32) f32.add(i);
      h = r.out.h;
    }
    if (!allFinite(h)) throw new EngineError(`${this.className} decode: the output holds inf/NaN even with f32 stages (is z the unscaled latent?)`);
    return h;
  }

  /** UNet latents -> the z decode() takes: latents / scaling_factor + shift_factor. */
  latentsToZ(latents: HostTensor): HostTensor {
    return { shape: [...latents.shape], data: latentsToZ(latents.data, this.config) };
  }

  /** Encoder mean (or a sample) -> UNet latents: (z - shift_factor) * scaling_factor. */
  zToLatents(z: HostTensor): HostTensor {
    return { shape: [...z.shape], data: zToLatents(z.data, this.config) };
  }

  destroy(): void {
    this.cache.destroy();
    this.stageCache.destroy();
  }
}

/** DiagonalGaussianDistribution clamps logvar to [-30, 20]. */
function clampLogvar(t: HostTensor): HostTensor {
  const lv = t.data;
  for (let i = 0; i < lv.length; i++) lv[i] = Math.min(20, Math.max(-30, lv[i]));
  return t;
}
