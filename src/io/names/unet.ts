// UNet2DConditionModel names <-> original `model.diffusion_model.*` names.
// Learned from diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py and
// loaders/single_file_utils.py (convert_ldm_unet_checkpoint), generalised from their
// hard-coded 4 levels x 2 layers to any layout: the original numbers its blocks
// sequentially (input_blocks.k: conv_in, then per level its resnets [+ attention] and a
// downsampler; output_blocks.k: per level layers+1 resnets [+ attention], the last one
// also holding the upsampler, at .1 or .2 depending on whether an attention sits at .1).
import { EngineError } from '../../errors.ts';
import { NameMap, type Local, type Rule } from './prefix.ts';

export interface UnetLayout {
  layersPerBlock: number[];   // per down level; up levels have one more
  downAttn: boolean[];
  upAttn: boolean[];          // diffusers up-block order (deepest first)
  midAttn: boolean;
  labelEmb: boolean;          // SDXL's add_embedding (original: label_emb.0)
}

const RESNET: Local[] = [
  { d: 'norm1', l: 'in_layers.0' },
  { d: 'conv1', l: 'in_layers.2' },
  { d: 'norm2', l: 'out_layers.0' },
  { d: 'conv2', l: 'out_layers.3' },
  { d: 'time_emb_proj', l: 'emb_layers.1' },
  { d: 'conv_shortcut', l: 'skip_connection' },
];

export function unetLayoutFromConfig(cfg: Record<string, any>, file: string): UnetLayout {
  const n = cfg.block_out_channels?.length;
  const down: string[] = cfg.down_block_types, up: string[] = cfg.up_block_types;
  if (!n || !Array.isArray(down) || !Array.isArray(up) || down.length !== n || up.length !== n) {
    throw new EngineError(`${file}: block_out_channels, down_block_types and up_block_types must be lists of the same length`);
  }
  const lpb = Array.isArray(cfg.layers_per_block) ? cfg.layers_per_block : new Array(n).fill(cfg.layers_per_block ?? 2);
  return {
    layersPerBlock: lpb,
    downAttn: down.map((t) => t.startsWith('CrossAttn')),
    upAttn: up.map((t) => t.startsWith('CrossAttn')),
    midAttn: (cfg.mid_block_type ?? 'UNetMidBlock2DCrossAttn') === 'UNetMidBlock2DCrossAttn',
    labelEmb: cfg.addition_embed_type === 'text_time',
  };
}

/** Layout from original names (without the model.diffusion_model. prefix). */
export function unetLayoutFromLdm(names: string[], file: string): UnetLayout {
  const idx = (re: RegExp) => [...new Set(names.map((n) => n.match(re)?.[1]).filter((x) => x !== undefined).map(Number))].sort((a, b) => a - b);
  const inputs = idx(/^input_blocks\.(\d+)\./);
  const ops = idx(/^input_blocks\.(\d+)\.0\.op\./);
  if (!inputs.length) throw new EngineError(`${file}: no model.diffusion_model.input_blocks.* tensors; not a Stable Diffusion UNet`);
  const maxIn = inputs[inputs.length - 1];
  const bounds = [...ops, maxIn + 1];
  const lpb: number[] = [], downAttn: boolean[] = [];
  let start = 0;
  for (const b of bounds) {
    lpb.push(b - start - 1);
    let attn = false;
    for (let k = start + 1; k < b; k++) attn ||= names.some((n) => n.startsWith(`input_blocks.${k}.1.`));
    downAttn.push(attn);
    start = b;
  }
  const upAttn: boolean[] = [];
  let k = 0;
  for (let i = 0; i < lpb.length; i++) {
    const count = lpb[lpb.length - 1 - i] + 1;
    let attn = false;
    for (let j = 0; j < count; j++, k++) attn ||= names.some((n) => n.startsWith(`output_blocks.${k}.1.`) && !n.startsWith(`output_blocks.${k}.1.conv.`));
    upAttn.push(attn);
  }
  return {
    layersPerBlock: lpb,
    downAttn,
    upAttn,
    midAttn: names.some((n) => n.startsWith('middle_block.2.')),
    labelEmb: names.some((n) => n.startsWith('label_emb.0.0.')),
  };
}

export function unetNameMap(L: UnetLayout): NameMap {
  const rules: Rule[] = [
    { d: 'time_embedding.linear_1.', l: 'time_embed.0.' },
    { d: 'time_embedding.linear_2.', l: 'time_embed.2.' },
    { d: 'conv_in.', l: 'input_blocks.0.0.' },
    { d: 'conv_norm_out.', l: 'out.0.' },
    { d: 'conv_out.', l: 'out.2.' },
  ];
  if (L.labelEmb) {
    rules.push({ d: 'add_embedding.linear_1.', l: 'label_emb.0.0.' }, { d: 'add_embedding.linear_2.', l: 'label_emb.0.2.' });
  }
  const n = L.layersPerBlock.length;
  let k = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L.layersPerBlock[i]; j++, k++) {
      rules.push({ d: `down_blocks.${i}.resnets.${j}.`, l: `input_blocks.${k}.0.`, local: RESNET });
      if (L.downAttn[i]) rules.push({ d: `down_blocks.${i}.attentions.${j}.`, l: `input_blocks.${k}.1.` });
    }
    if (i < n - 1) rules.push({ d: `down_blocks.${i}.downsamplers.0.conv.`, l: `input_blocks.${k++}.0.op.` });
  }
  rules.push({ d: 'mid_block.resnets.0.', l: 'middle_block.0.', local: RESNET });
  if (L.midAttn) {
    rules.push({ d: 'mid_block.attentions.0.', l: 'middle_block.1.' });
    rules.push({ d: 'mid_block.resnets.1.', l: 'middle_block.2.', local: RESNET });
  } else rules.push({ d: 'mid_block.resnets.1.', l: 'middle_block.1.', local: RESNET });
  k = 0;
  for (let i = 0; i < n; i++) {
    const count = L.layersPerBlock[n - 1 - i] + 1;
    for (let j = 0; j < count; j++, k++) {
      rules.push({ d: `up_blocks.${i}.resnets.${j}.`, l: `output_blocks.${k}.0.`, local: RESNET });
      if (L.upAttn[i]) rules.push({ d: `up_blocks.${i}.attentions.${j}.`, l: `output_blocks.${k}.1.` });
      if (j === count - 1 && i < n - 1) rules.push({ d: `up_blocks.${i}.upsamplers.0.`, l: `output_blocks.${k}.${L.upAttn[i] ? 2 : 1}.` });
    }
  }
  return new NameMap(rules);
}
