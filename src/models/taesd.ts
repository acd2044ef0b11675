// AutoencoderTiny (TAESD, madebyollin): a small conv-only image <-> latent autoencoder
// trained to mimic the SD / SDXL / FLUX VAEs' latent space, used for step previews and
// fast decodes (the `taesd`, `taesdxl`, `taef1` folders). No posterior, no quant convs,
// no normalisation: the encoder output IS the diffusion latent (scaling_factor 1). Follows
// diffusers v0.31.0
//   src/diffusers/models/autoencoders/autoencoder_tiny.py (AutoencoderTiny)
//   src/diffusers/models/autoencoders/vae.py (EncoderTiny, DecoderTiny)
//   src/diffusers/models/unets/unet_2d_blocks.py (AutoencoderTinyBlock)
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/autoencoders/autoencoder_tiny.py
import { EngineError } from '../errors.ts';
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import { add, relu, scale, tanh, upsampleNearest2x } from '../ops/index.ts';
import { Reader } from './config_reader.ts';
import { Conv2d, tap } from './nn.ts';

/** AutoencoderTiny's config.json (defaults are diffusers' and madebyollin/taesd's). */
export interface TaesdConfig {
  in_channels: number;
  out_channels: number;
  /** Channels of each encoder stage; all equal (each stride-2 conv maps C -> C). */
  encoder_block_out_channels: number[];
  decoder_block_out_channels: number[];
  /** AutoencoderTinyBlocks per stage: encoder (1, 3, 3, 3), decoder (3, 3, 3, 1). */
  num_encoder_blocks: number[];
  num_decoder_blocks: number[];
  /** 4 for taesd / taesdxl, 16 for taef1. */
  latent_channels: number;
  /** uint8 storage form: latent / (2 * magnitude) + shift, clamped to [0, 1]. */
  latent_magnitude: number;
  latent_shift: number;
  /** 1.0 and 0.0 in every TAESD: pipelines' latents / scaling_factor + shift are the latents. */
  scaling_factor: number;
  shift_factor: number;
}

export function taesdConfig(cfg: Record<string, any>, file: string): TaesdConfig {
  const r = new Reader(file, cfg);
  r.str('act_fn', 'relu', ['relu']);
  r.str('upsample_fn', 'nearest', ['nearest']);
  r.oneOf('upsampling_scaling_factor', 2, [2]);
  const list = (key: string, dflt: number[]) => (cfg[key] === undefined ? dflt : r.ints(key));
  const c: TaesdConfig = {
    in_channels: r.posInt('in_channels', 3),
    out_channels: r.posInt('out_channels', 3),
    encoder_block_out_channels: list('encoder_block_out_channels', [64, 64, 64, 64]),
    decoder_block_out_channels: list('decoder_block_out_channels', [64, 64, 64, 64]),
    num_encoder_blocks: list('num_encoder_blocks', [1, 3, 3, 3]),
    num_decoder_blocks: list('num_decoder_blocks', [3, 3, 3, 1]),
    latent_channels: r.posInt('latent_channels', 4),
    latent_magnitude: r.num('latent_magnitude', 3),
    latent_shift: r.num('latent_shift', 0.5),
    scaling_factor: r.num('scaling_factor', 1.0),
    shift_factor: r.numOrNull('shift_factor') ?? 0,
  };
  for (const side of ['encoder', 'decoder'] as const) {
    const boc = c[`${side}_block_out_channels`], nb = c[`num_${side}_blocks`];
    if (boc.length !== nb.length) throw new EngineError(`${file}: "${side}_block_out_channels" has ${boc.length} entries but "num_${side}_blocks" has ${nb.length}`);
    if (!boc.every((ch) => ch === boc[0])) throw new EngineError(`${file}: "${side}_block_out_channels" ${JSON.stringify(boc)} must all be equal (each stage's conv maps C -> C)`);
  }
  return c;
}

/** relu(conv(relu(conv(relu(conv(x))))) + x): three 3x3 convs, identity skip (C -> C). */
export class AutoencoderTinyBlock {
  readonly conv: Conv2d[];
  constructor(ws: WeightScope, ch: number) {
    // nn.Sequential(conv, act, conv, act, conv): the convs are at indices 0, 2, 4.
    this.conv = [0, 2, 4].map((i) => new Conv2d(ws.sub(`conv.${i}`), ch, ch, 3, 1, 1));
  }

  // x [B, C, H, W] -> same
  forward(x: Node): Node {
    const [c0, c2, c4] = this.conv;
    const h = c4.forward(relu(c2.forward(relu(c0.forward(x))))); // [B, C, H, W]
    return relu(add(h, x)); // fuse
  }
}

type Layer = { forward(x: Node): Node };

/** nn.Sequential of convs, blocks, ReLUs and Upsamples, indexed like the checkpoint keys. */
class Sequential {
  constructor(readonly layers: Layer[], readonly prefix: string) {}

  forward(x: Node): Node {
    return this.layers.reduce((h, l, i) => (l instanceof Conv2d ? tap(`${this.prefix}.layers.${i}`, l.forward(h)) : l.forward(h)), x);
  }
}

const ReLU: Layer = { forward: relu };
const Upsample: Layer = { forward: upsampleNearest2x };

export class EncoderTiny {
  readonly layers: Layer[] = [];
  private readonly seq: Sequential;

  constructor(ws: WeightScope, c: TaesdConfig) {
    const L = ws.sub('layers'), ch = c.encoder_block_out_channels[0];
    const at = () => L.sub(String(this.layers.length));
    c.num_encoder_blocks.forEach((nb, i) => {
      // Stage 0: in -> C with bias; later stages: stride-2 C -> C without bias.
      this.layers.push(i === 0 ? new Conv2d(at(), c.in_channels, ch, 3, 1, 1) : new Conv2d(at(), ch, ch, 3, 2, 1, false));
      for (let b = 0; b < nb; b++) this.layers.push(new AutoencoderTinyBlock(at(), ch));
    });
    this.layers.push(new Conv2d(at(), ch, c.latent_channels, 3, 1, 1));
    this.seq = new Sequential(this.layers, ws.prefix);
  }

  // x [B, 3, H, W] in [-1, 1] -> [B, latent, H/8, W/8]
  forward(x: Node): Node {
    return this.seq.forward(scale(x, 0.5, 0.5)); // (x + 1) / 2: TAESD works on [0, 1] images
  }
}

export class DecoderTiny {
  readonly layers: Layer[] = [];
  private readonly seq: Sequential;

  constructor(ws: WeightScope, c: TaesdConfig) {
    const L = ws.sub('layers'), ch = c.decoder_block_out_channels[0], n = c.num_decoder_blocks.length;
    const at = () => L.sub(String(this.layers.length));
    this.layers.push(new Conv2d(at(), c.latent_channels, ch, 3, 1, 1), ReLU);
    c.num_decoder_blocks.forEach((nb, i) => {
      const last = i === n - 1;
      for (let b = 0; b < nb; b++) this.layers.push(new AutoencoderTinyBlock(at(), ch));
      if (!last) this.layers.push(Upsample);
      this.layers.push(new Conv2d(at(), ch, last ? c.out_channels : ch, 3, 1, 1, last)); // bias only on the last
    });
    this.seq = new Sequential(this.layers, ws.prefix);
  }

  /** 2^(number of upsamples): 8 for every TAESD. */
  get scaleFactor(): number {
    return 2 ** this.layers.filter((l) => l === Upsample).length;
  }

  // z [B, latent, h, w] -> [B, 3, 8h, 8w], roughly [-1, 1], not clamped
  forward(z: Node): Node {
    const x = scale(tanh(scale(z, 1 / 3)), 3); // tanh(z / 3) * 3: soft clamp to (-3, 3)
    return scale(this.seq.forward(x), 2, -1); // [0, 1] -> [-1, 1]
  }
}

export class AutoencoderTiny {
  readonly encoder: EncoderTiny;
  readonly decoder: DecoderTiny;

  constructor(ws: WeightScope, readonly config: TaesdConfig) {
    this.encoder = new EncoderTiny(ws.sub('encoder'), config);
    this.decoder = new DecoderTiny(ws.sub('decoder'), config);
  }

  // image [B, 3, H, W] in [-1, 1] -> latents [B, latent, H/8, W/8]
  encode(x: Node): Node {
    return this.encoder.forward(x);
  }

  // latents [B, latent, h, w] -> image [B, 3, 8h, 8w]
  decode(z: Node): Node {
    return this.decoder.forward(z);
  }
}
