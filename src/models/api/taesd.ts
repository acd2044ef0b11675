// Typed API of AutoencoderTiny (TAESD): encode (image -> latents), decode (latents ->
// image) and forward, diffusers' uint8 round trip (encode -> scale_latents -> *255, round,
// byte -> /255 -> unscale_latents -> decode). Scaling to and from the uint8 form is host
// arithmetic on small latents, in float32 like PyTorch.
import { EngineError } from '../../errors.ts';
import type { Graph } from '../../graph/graph.ts';
import { latentsToZ } from '../latents.ts';
import { AutoencoderTiny, taesdConfig, type TaesdConfig } from '../taesd.ts';
import { buildModel, checkFinite, checkInputs, GraphCache, openForLoad, shapeKey, type Component, type HostTensor, type InputSpec, type LoadOptions, type RunOptions } from './common.ts';

export type TaesdMethod = 'encode' | 'decode' | 'forward';

export class Taesd {
  readonly className = 'AutoencoderTiny';
  private cache: GraphCache;

  private constructor(readonly model: AutoencoderTiny, readonly config: TaesdConfig, readonly where: string, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
  }

  /** Opens a `taesd` / `taesdxl` / `taef1` folder (config.json + diffusion_pytorch_model.safetensors). */
  static load(dir: string, opts: LoadOptions = {}): Taesd {
    return Taesd.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): Taesd {
    const { model, config } = buildModel(where, comp, taesdConfig, AutoencoderTiny);
    return new Taesd(model, config, where, opts);
  }

  get dtype() { return this.cache.dtype; }

  /** Latent downsampling factor (8). */
  get scaleFactor(): number { return this.model.decoder.scaleFactor; }

  signature(method: TaesdMethod): InputSpec[] {
    const c = this.config;
    return method === 'decode'
      ? [{ name: 'z', shapes: [['B', c.latent_channels, 'h', 'w']], kind: 'float', doc: 'diffusion latents (TAESD scaling_factor 1: the UNet latents themselves)' }]
      : [{ name: 'sample', shapes: [['B', c.in_channels, 'H', 'W']], kind: 'float', doc: 'image in [-1, 1]' }];
  }

  /** sample [B, 3, H, W] in [-1, 1] -> latents [B, latent, H/8, W/8]. */
  async encode(inputs: { sample: HostTensor }, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const f = this.scaleFactor;
    const { H, W } = checkInputs(`${this.className} encode`, this.signature('encode'), inputs);
    if (H % f || W % f) throw new EngineError(`${this.className} encode: image is ${H}x${W}; height and width must be divisible by ${f}`);
    checkFinite(`${this.className} encode`, 'sample', inputs.sample);
    const out = await this.cache.run(`encode|${shapeKey(inputs.sample)}`, (g: Graph) => ({ latents: this.model.encode(g.input('sample', inputs.sample.shape)) }), { sample: inputs.sample.data }, opts);
    return this.finite('encode', out);
  }

  /** z [B, latent, h, w] -> sample [B, 3, 8h, 8w], roughly [-1, 1] (not clamped). */
  async decode(inputs: { z: HostTensor }, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    checkInputs(`${this.className} decode`, this.signature('decode'), inputs);
    checkFinite(`${this.className} decode`, 'z', inputs.z);
    const out = await this.cache.run(`decode|${shapeKey(inputs.z)}`, (g: Graph) => ({ sample: this.model.decode(g.input('z', inputs.z.shape)) }), { z: inputs.z.data }, opts);
    return this.finite('decode', out);
  }

  /** AutoencoderTiny.forward: the uint8 round trip; also returns its latents at each step. */
  async forward(inputs: { sample: HostTensor }, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const { latents, ...dbg } = await this.encode(inputs, opts);
    const scaled = this.scaleLatents(latents);
    const q = quantizeUint8(scaled);
    const { sample, ...dbgD } = await this.decode({ z: this.unscaleLatents({ shape: q.shape, data: Float32Array.from(q.data, (v) => Math.fround(v / 255)) }) }, opts);
    return { latents, scaled_latents: scaled, latents_uint8: q, sample, ...dbg, ...dbgD };
  }

  /** scale_latents: latents / (2 * latent_magnitude) + latent_shift, clamped to [0, 1]. */
  scaleLatents(t: HostTensor): HostTensor {
    const { latent_magnitude: m, latent_shift: s } = this.config;
    return { shape: [...t.shape], data: Float32Array.from(t.data, (v) => Math.min(1, Math.max(0, Math.fround(Math.fround(v / (2 * m)) + s)))) };
  }

  /** unscale_latents: (x - latent_shift) * 2 * latent_magnitude. */
  unscaleLatents(t: HostTensor): HostTensor {
    const { latent_magnitude: m, latent_shift: s } = this.config;
    return { shape: [...t.shape], data: Float32Array.from(t.data, (v) => Math.fround(Math.fround(v - s) * (2 * m))) };
  }

  /** Pipeline latents -> decode()'s z: latents / scaling_factor + shift_factor (identity for TAESD). */
  latentsToZ(latents: HostTensor): HostTensor {
    return { shape: [...latents.shape], data: latentsToZ(latents.data, this.config) };
  }

  private finite(method: string, out: Record<string, HostTensor>): Record<string, HostTensor> {
    for (const [name, t] of Object.entries(out)) {
      if (!name.startsWith('debug.') && !t.data.every(Number.isFinite)) throw new EngineError(`${this.where}: ${this.className} ${method} produced inf/NaN in '${name}'${this.dtype === 'f16' ? ' (f16 overflow; try --dtype f32)' : ''}`);
    }
    return out;
  }

  destroy(): void {
    this.cache.destroy();
  }
}

/** round(255 * x) as bytes, like torch's .mul_(255).round_().byte() on x in [0, 1] (round half to even). */
export function quantizeUint8(t: HostTensor): HostTensor {
  return { shape: [...t.shape], data: Int32Array.from(t.data, (v) => roundHalfEven(Math.fround(v * 255))) };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
