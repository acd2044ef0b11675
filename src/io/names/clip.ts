// Text encoder names. SD1.x and SDXL's first encoder store the transformers CLIPTextModel
// state dict as is (under cond_stage_model.transformer. / conditioner.embedders.0.transformer.).
// SD2.x and SDXL's second encoder are OpenCLIP (cond_stage_model.model. /
// conditioner.embedders.1.model.): attention q/k/v fused into in_proj_weight/bias (rows
// q, k, v), positional_embedding, ln_final, and text_projection stored (hidden, proj),
// i.e. transposed from transformers' text_projection.weight (proj, hidden). Learned from
// diffusers' convert_open_clip_checkpoint and convert_text_enc_state_dict_v20.
import { NameMap, type Local, type Rule } from './prefix.ts';

/** transformers names pass through unchanged; position_ids is a buffer, not a weight. */
export function hfClipNameMap(): NameMap {
  return new NameMap([{ d: 'text_model.', l: 'text_model.' }, { d: 'text_projection.weight', l: 'text_projection.weight' }]);
}

export function isClipBuffer(ldmLocal: string): boolean {
  return ldmLocal.endsWith('embeddings.position_ids');
}

const BLOCK: Local[] = [
  { d: 'layer_norm1', l: 'ln_1' },
  { d: 'layer_norm2', l: 'ln_2' },
  { d: 'mlp.fc1', l: 'mlp.c_fc' },
  { d: 'mlp.fc2', l: 'mlp.c_proj' },
  { d: 'self_attn.out_proj', l: 'attn.out_proj' },
  ...(['q', 'k', 'v'] as const).flatMap((x, part): Local[] => [
    { d: `self_attn.${x}_proj.weight`, l: 'attn.in_proj_weight', part },
    { d: `self_attn.${x}_proj.bias`, l: 'attn.in_proj_bias', part },
  ]),
];

/**
 * OpenCLIP text tower. Only the first `layers` resblocks map: SD2 checkpoints carry one
 * more block than the model uses (diffusers drops it), so later ones stay unmapped.
 * `withProjection`: CLIPTextModelWithProjection (SDXL's second encoder) keeps text_projection.
 */
export function openClipNameMap(layers: number, withProjection: boolean): NameMap {
  const rules: Rule[] = [
    { d: 'text_model.embeddings.token_embedding.weight', l: 'token_embedding.weight' },
    { d: 'text_model.embeddings.position_embedding.weight', l: 'positional_embedding' },
    { d: 'text_model.final_layer_norm.', l: 'ln_final.' },
  ];
  if (withProjection) rules.push({ d: 'text_projection.weight', l: 'text_projection', local: [{ d: '', l: '', transpose: true }] });
  for (let i = 0; i < layers; i++) rules.push({ d: `text_model.encoder.layers.${i}.`, l: `transformer.resblocks.${i}.`, local: BLOCK });
  return new NameMap(rules);
}
