// Component configs for a single-file checkpoint opened without --config: sizes come
// from the tensors (widths, depths, block layout, context width, linear vs conv
// projections), the rest from the family preset. Head counts cannot be read from
// shapes; presets give them by head width (SD2/SDXL: 64) or count (SD1: 8), and a
// width that does not fit fails with a hint to pass --config.
import { EngineError } from '../errors.ts';
import type { Family } from './names/checkpoint.ts';
import { PREFIXES } from './names/checkpoint.ts';
import { unetLayoutFromLdm } from './names/unet.ts';
import { vaeLayoutFromLdm } from './names/vae.ts';
import type { Preset } from './presets.ts';
import type { SafetensorsReader } from './safetensors.ts';

/** Metadata key our converter writes into SD2 single files: OpenCLIP blocks the text encoder uses. */
export const META_TEXT_LAYERS = 'nasa_engine.text_encoder.num_hidden_layers';

class View {
  readonly names: string[];
  constructor(readonly r: SafetensorsReader, readonly prefix: string) {
    this.names = r.names().filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  }
  shape(name: string): number[] {
    if (!this.r.has(this.prefix + name)) throw new EngineError(`${this.r.path}: missing tensor '${this.prefix + name}'`);
    return this.r.source(this.prefix + name).shape;
  }
  count(re: RegExp): number {
    return new Set(this.names.map((n) => n.match(re)?.[1]).filter((x) => x !== undefined)).size;
  }
  find(suffix: string): string | undefined {
    return this.names.find((n) => n.endsWith(suffix));
  }
}

const hint = '; pass --config <diffusers folder> with the real configs';
const uniform = (a: number[]) => (a.every((x) => x === a[0]) ? a[0] : a);

function deriveUnet(v: View, p: Preset): Record<string, unknown> {
  const L = unetLayoutFromLdm(v.names, v.r.path);
  const n = L.layersPerBlock.length;
  const first: number[] = [];
  for (let i = 0, k = 1; i < n; i++) {
    first.push(k);
    k += L.layersPerBlock[i] + (i < n - 1 ? 1 : 0);
  }
  const boc = first.map((k) => v.shape(`input_blocks.${k}.0.in_layers.2.weight`)[0]);
  const tlpb = first.map((k, i) => (L.downAttn[i] ? v.count(new RegExp(`^input_blocks\\.${k}\\.1\\.transformer_blocks\\.(\\d+)\\.`)) : 1));
  const groups = p.unet.norm_num_groups as number;
  boc.forEach((c, i) => { if (c % groups) throw new EngineError(`${v.r.path}: UNet width ${c} (level ${i}) is not divisible by the ${p.name} preset's ${groups} norm groups${hint}`); });
  let heads: number | number[];
  if (p.unetHeadDim) {
    heads = boc.map((c, i) => {
      if (c % p.unetHeadDim!) throw new EngineError(`${v.r.path}: UNet width ${c} (level ${i}) is not a multiple of the ${p.name} head width ${p.unetHeadDim}${hint}`);
      return c / p.unetHeadDim!;
    });
  } else {
    heads = p.unet.attention_head_dim as number;
    for (const c of boc) if (c % heads) throw new EngineError(`${v.r.path}: UNet width ${c} does not split into the ${p.name} preset's ${heads} heads${hint}`);
  }
  const conv = v.shape('input_blocks.0.0.weight');
  const out = v.shape('out.2.weight');
  const toK = v.find('.attn2.to_k.weight');
  const projIn = v.find('.proj_in.weight');
  const cfg: Record<string, unknown> = {
    ...p.unet,
    block_out_channels: boc,
    layers_per_block: uniform(L.layersPerBlock),
    down_block_types: L.downAttn.map((a) => (a ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    up_block_types: L.upAttn.map((a) => (a ? 'CrossAttnUpBlock2D' : 'UpBlock2D')),
    mid_block_type: L.midAttn ? 'UNetMidBlock2DCrossAttn' : 'UNetMidBlock2D',
    in_channels: conv[1], conv_in_kernel: conv[2], out_channels: out[0], conv_out_kernel: out[2],
    attention_head_dim: heads,
    transformer_layers_per_block: uniform(tlpb),
  };
  if (toK) cfg.cross_attention_dim = v.shape(toK)[1];
  if (projIn) cfg.use_linear_projection = v.shape(projIn).length === 2;
  const ted = v.shape('time_embed.0.weight')[0];
  if (ted !== boc[0] * 4) cfg.time_embedding_dim = ted;
  if (L.labelEmb) cfg.projection_class_embeddings_input_dim = v.shape('label_emb.0.0.weight')[1];
  return cfg;
}

function deriveVae(v: View, p: Preset): Record<string, unknown> {
  const L = vaeLayoutFromLdm(v.names, v.r.path);
  const boc = Array.from({ length: L.levels }, (_, i) => v.shape(`encoder.down.${i}.block.0.conv1.weight`)[0]);
  const groups = p.vae.norm_num_groups as number;
  for (const c of boc) if (c % groups) throw new EngineError(`${v.r.path}: VAE width ${c} is not divisible by the ${p.name} preset's ${groups} norm groups${hint}`);
  return {
    ...p.vae,
    block_out_channels: boc,
    down_block_types: new Array(L.levels).fill('DownEncoderBlock2D'),
    up_block_types: new Array(L.levels).fill('UpDecoderBlock2D'),
    layers_per_block: L.layersPerBlock,
    in_channels: v.shape('encoder.conv_in.weight')[1],
    out_channels: v.shape('decoder.conv_out.weight')[0],
    latent_channels: v.shape('decoder.conv_in.weight')[1],
    use_quant_conv: v.names.includes('quant_conv.weight'),
    use_post_quant_conv: v.names.includes('post_quant_conv.weight'),
  };
}

function deriveText(v: View, preset: Record<string, unknown>, openClip: boolean, layersHint?: string, sd2 = false): Record<string, unknown> {
  const tok = v.shape(openClip ? 'token_embedding.weight' : 'text_model.embeddings.token_embedding.weight');
  const pos = v.shape(openClip ? 'positional_embedding' : 'text_model.embeddings.position_embedding.weight');
  const block = openClip ? /^transformer\.resblocks\.(\d+)\./ : /^text_model\.encoder\.layers\.(\d+)\./;
  const stored = v.count(block);
  const fc1 = v.shape(openClip ? 'transformer.resblocks.0.mlp.c_fc.weight' : 'text_model.encoder.layers.0.mlp.fc1.weight');
  const hidden = tok[1];
  let heads = preset.num_attention_heads as number;
  if (hidden !== preset.hidden_size) {
    if (hidden % 64) throw new EngineError(`${v.r.path}: text encoder width ${hidden} is not a multiple of 64, so its head count is unknown${hint}`);
    heads = hidden / 64;
  }
  // SD2 checkpoints carry one OpenCLIP block more than the model uses (diffusers keeps 23 of
  // 24); a file converted from diffusers has exactly the used ones (23, or the count we record).
  let layers = stored;
  if (sd2) layers = layersHint !== undefined ? Number(layersHint) : stored === preset.num_hidden_layers ? stored : stored - 1;
  if (!Number.isSafeInteger(layers) || layers < 1 || layers > stored) throw new EngineError(`${v.r.path}: cannot use ${layers} of its ${stored} text encoder blocks${hint}`);
  const cfg: Record<string, unknown> = {
    ...preset, hidden_size: hidden, vocab_size: tok[0], max_position_embeddings: pos[0],
    intermediate_size: fc1[0], num_attention_heads: heads, num_hidden_layers: layers,
  };
  if (preset.architectures && (preset.architectures as string[])[0] === 'CLIPTextModelWithProjection') {
    cfg.projection_dim = v.shape(openClip ? 'text_projection' : 'text_projection.weight')[openClip ? 1 : 0];
  }
  return cfg;
}

export function deriveConfigs(r: SafetensorsReader, family: Family, p: Preset): Record<string, Record<string, unknown>> {
  const pre = PREFIXES[family];
  const out: Record<string, Record<string, unknown>> = {
    unet: deriveUnet(new View(r, pre.unet), p),
    vae: deriveVae(new View(r, pre.vae), p),
    text_encoder: deriveText(new View(r, pre.text_encoder), p.text_encoder, family === 'sd2', r.metadata[META_TEXT_LAYERS], family === 'sd2'),
  };
  if (family === 'sdxl') {
    out.text_encoder_2 = deriveText(new View(r, pre.text_encoder_2), p.text_encoder_2!, true);
    const pcid = out.unet.projection_class_embeddings_input_dim as number | undefined;
    const time = pcid !== undefined ? (pcid - (out.text_encoder_2.projection_dim as number)) / 6 : NaN;
    if (Number.isSafeInteger(time) && time > 0) out.unet.addition_time_embed_dim = time;
  }
  return out;
}
