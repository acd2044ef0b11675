// AutoencoderKL names <-> original `first_stage_model.*` names (learned from diffusers'
// convert_vae_state_dict / convert_ldm_vae_checkpoint). The original numbers decoder
// levels from the bottom (up.{n-1-i}); its mid-block attention stores q/k/v/proj_out as
// 1x1 convs (C, C, 1, 1) where diffusers has Linear (C, C).
import { EngineError } from '../../errors.ts';
import { NameMap, type Local, type Rule } from './prefix.ts';

export interface VaeLayout { levels: number; layersPerBlock: number }

const RESNET: Local[] = [
  { d: 'norm1', l: 'norm1' },
  { d: 'conv1', l: 'conv1' },
  { d: 'norm2', l: 'norm2' },
  { d: 'conv2', l: 'conv2' },
  { d: 'conv_shortcut', l: 'nin_shortcut' },
];

const ATTN: Local[] = [
  { d: 'group_norm', l: 'norm' },
  ...(['q', 'k', 'v'] as const).flatMap((x): Local[] => [
    { d: `to_${x}.weight`, l: `${x}.weight`, conv1x1: true },
    { d: `to_${x}.bias`, l: `${x}.bias` },
  ]),
  { d: 'to_out.0.weight', l: 'proj_out.weight', conv1x1: true },
  { d: 'to_out.0.bias', l: 'proj_out.bias' },
];

export function vaeLayoutFromConfig(cfg: Record<string, any>, file: string): VaeLayout {
  const levels = cfg.block_out_channels?.length;
  if (!levels) throw new EngineError(`${file}: "block_out_channels" must be a non-empty list`);
  return { levels, layersPerBlock: cfg.layers_per_block ?? 1 };
}

/** Layout from original names (without the first_stage_model. prefix). */
export function vaeLayoutFromLdm(names: string[], file: string): VaeLayout {
  const levels = new Set(names.map((n) => n.match(/^encoder\.down\.(\d+)\./)?.[1]).filter(Boolean)).size;
  const blocks = new Set(names.map((n) => n.match(/^encoder\.down\.0\.block\.(\d+)\./)?.[1]).filter(Boolean)).size;
  if (!levels || !blocks) throw new EngineError(`${file}: no first_stage_model.encoder.down.* tensors; not a Stable Diffusion VAE`);
  return { levels, layersPerBlock: blocks };
}

export function vaeNameMap(L: VaeLayout): NameMap {
  const rules: Rule[] = [{ d: 'quant_conv.', l: 'quant_conv.' }, { d: 'post_quant_conv.', l: 'post_quant_conv.' }];
  for (const part of ['encoder', 'decoder']) {
    rules.push(
      { d: `${part}.conv_in.`, l: `${part}.conv_in.` },
      { d: `${part}.conv_out.`, l: `${part}.conv_out.` },
      { d: `${part}.conv_norm_out.`, l: `${part}.norm_out.` },
      { d: `${part}.mid_block.attentions.0.`, l: `${part}.mid.attn_1.`, local: ATTN },
    );
    for (let k = 0; k < 2; k++) rules.push({ d: `${part}.mid_block.resnets.${k}.`, l: `${part}.mid.block_${k + 1}.`, local: RESNET });
  }
  const n = L.levels;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L.layersPerBlock; j++) rules.push({ d: `encoder.down_blocks.${i}.resnets.${j}.`, l: `encoder.down.${i}.block.${j}.`, local: RESNET });
    for (let j = 0; j <= L.layersPerBlock; j++) rules.push({ d: `decoder.up_blocks.${i}.resnets.${j}.`, l: `decoder.up.${n - 1 - i}.block.${j}.`, local: RESNET });
    if (i < n - 1) {
      rules.push({ d: `encoder.down_blocks.${i}.downsamplers.0.`, l: `encoder.down.${i}.downsample.` });
      rules.push({ d: `decoder.up_blocks.${i}.upsamplers.0.`, l: `decoder.up.${n - 1 - i}.upsample.` });
    }
  }
  return new NameMap(rules);
}
