// SD1.x and SDXL have no single-file fixture, so their maps are checked by construction:
// (1) the UNet/VAE tables for the real SD1.5/SD2 layout equal the prefix table of
// diffusers' convert_diffusers_to_original_stable_diffusion.py (rebuilt here from its
// index formulas), and real SDXL key names map where SDXL checkpoints have them;
// (2) tiny SD1 and SDXL pipelines assembled from fixture components go diffusers ->
// single file -> diffusers bit for bit, with family detection and config derivation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convert } from '../../src/io/convert.ts';
import { deriveConfigs } from '../../src/io/derive.ts';
import { openPipeline } from '../../src/io/folder.ts';
import { unetLayoutFromConfig, unetNameMap } from '../../src/io/names/unet.ts';
import { vaeNameMap } from '../../src/io/names/vae.ts';
import { PRESETS } from '../../src/io/presets.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { openSingleFile } from '../../src/io/singlefile.ts';
import { FIX, assertSameTensors, scratch } from './helpers.ts';

const dir = scratch('rt');

test('UNet table for the SD1.5/SD2 layout equals the conversion script prefixes', () => {
  const map = unetNameMap(unetLayoutFromConfig(PRESETS['sd1.5'].unet, 'sd1.5'));
  const pairs: [string, string][] = []; // (original, diffusers), the script's formulas
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) {
      pairs.push([`input_blocks.${3 * i + j + 1}.0.`, `down_blocks.${i}.resnets.${j}.`]);
      if (i < 3) pairs.push([`input_blocks.${3 * i + j + 1}.1.`, `down_blocks.${i}.attentions.${j}.`]);
    }
    for (let j = 0; j < 3; j++) {
      pairs.push([`output_blocks.${3 * i + j}.0.`, `up_blocks.${i}.resnets.${j}.`]);
      if (i > 0) pairs.push([`output_blocks.${3 * i + j}.1.`, `up_blocks.${i}.attentions.${j}.`]);
    }
    if (i < 3) {
      pairs.push([`input_blocks.${3 * (i + 1)}.0.op.`, `down_blocks.${i}.downsamplers.0.conv.`]);
      pairs.push([`output_blocks.${3 * i + 2}.${i === 0 ? 1 : 2}.`, `up_blocks.${i}.upsamplers.0.`]);
    }
  }
  pairs.push(['middle_block.1.', 'mid_block.attentions.0.'], ['middle_block.0.', 'mid_block.resnets.0.'], ['middle_block.2.', 'mid_block.resnets.1.']);
  for (const [sd, hf] of pairs) {
    const [leaf, sdLeaf] = hf.includes('resnets') ? ['norm1.weight', 'in_layers.0.weight'] : hf.includes('attentions') ? ['proj_in.weight', 'proj_in.weight']
      : hf.includes('downsamplers') ? ['weight', 'weight'] : ['conv.weight', 'conv.weight'];
    assert.is(map.toLdm(hf + leaf)?.name, sd + sdLeaf, hf + leaf);
    assert.equal(map.toDiffusers(sd + sdLeaf).map((m) => m.name), [hf + leaf], sd + sdLeaf);
  }
  for (const [d, l] of [['time_embedding.linear_1.weight', 'time_embed.0.weight'], ['conv_in.bias', 'input_blocks.0.0.bias'], ['conv_norm_out.weight', 'out.0.weight'], ['conv_out.weight', 'out.2.weight'], ['down_blocks.1.resnets.0.conv_shortcut.weight', 'input_blocks.4.0.skip_connection.weight'], ['up_blocks.0.resnets.2.time_emb_proj.bias', 'output_blocks.2.0.emb_layers.1.bias']]) {
    assert.is(map.toLdm(d)?.name, l);
  }
});

test('SDXL base layout maps to the names real SDXL checkpoints use', () => {
  const map = unetNameMap(unetLayoutFromConfig(PRESETS.sdxl.unet, 'sdxl'));
  for (const [d, l] of [
    ['add_embedding.linear_1.weight', 'label_emb.0.0.weight'], ['add_embedding.linear_2.bias', 'label_emb.0.2.bias'],
    ['down_blocks.0.downsamplers.0.conv.weight', 'input_blocks.3.0.op.weight'], ['down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight', 'input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight'],
    ['down_blocks.2.attentions.1.proj_out.weight', 'input_blocks.8.1.proj_out.weight'], ['mid_block.attentions.0.transformer_blocks.9.ff.net.2.weight', 'middle_block.1.transformer_blocks.9.ff.net.2.weight'],
    ['up_blocks.0.upsamplers.0.conv.weight', 'output_blocks.2.2.conv.weight'], ['up_blocks.1.upsamplers.0.conv.bias', 'output_blocks.5.2.conv.bias'],
    ['up_blocks.2.resnets.2.conv2.weight', 'output_blocks.8.0.out_layers.3.weight'], ['up_blocks.0.attentions.2.norm.weight', 'output_blocks.2.1.norm.weight'],
  ]) assert.is(map.toLdm(d)?.name, l, d);
  assert.is(map.toLdm('up_blocks.2.attentions.0.norm.weight'), null, 'SDXL up_blocks.2 has no attention');
});

test('VAE table: decoder levels reversed, 1x1-conv attention, nin_shortcut', () => {
  const map = vaeNameMap({ levels: 4, layersPerBlock: 2 });
  assert.equal(map.toLdm('decoder.up_blocks.0.upsamplers.0.conv.weight'), { name: 'decoder.up.3.upsample.conv.weight' });
  assert.equal(map.toLdm('decoder.up_blocks.3.resnets.2.conv_shortcut.weight'), { name: 'decoder.up.0.block.2.nin_shortcut.weight' });
  assert.equal(map.toLdm('encoder.mid_block.attentions.0.to_out.0.weight'), { name: 'encoder.mid.attn_1.proj_out.weight', conv1x1: true });
  assert.equal(map.toLdm('encoder.mid_block.attentions.0.to_q.bias'), { name: 'encoder.mid.attn_1.q.bias' });
  assert.equal(map.toDiffusers('decoder.mid.block_2.norm1.weight'), [{ name: 'decoder.mid_block.resnets.1.norm1.weight' }]);
  assert.is(map.toLdm('encoder.down_blocks.3.downsamplers.0.conv.weight'), null, 'no downsampler on the last level');
});

function pipeline(name: string, index: Record<string, unknown>, parts: Record<string, string>): string {
  const p = path.join(dir, name);
  fs.mkdirSync(p);
  fs.writeFileSync(path.join(p, 'model_index.json'), JSON.stringify(index));
  for (const [c, from] of Object.entries(parts)) fs.symlinkSync(path.join(FIX, from), path.join(p, c), 'dir');
  for (const t of Object.keys(index).filter((k) => k.startsWith('tokenizer'))) fs.symlinkSync(path.join(FIX, 'sd21-turbo-tiny', 'tokenizer'), path.join(p, t), 'dir');
  fs.mkdirSync(path.join(p, 'scheduler'));
  fs.copyFileSync(path.join(FIX, 'sd21-turbo-tiny', 'scheduler', 'scheduler_config.json'), path.join(p, 'scheduler', 'scheduler_config.json'));
  return p;
}

function roundTrip(name: string, folder: string, expectKeys: [string, number[]][]): void {
  const single = path.join(dir, `${name}.safetensors`);
  convert(folder, single, { to: 'single-file' });
  const r = SafetensorsReader.open(single);
  for (const [k, shape] of expectKeys) assert.equal(r.has(k) && r.source(k).shape, shape, `${name}: ${k}`);
  const sf = openSingleFile(single, { config: folder });
  assert.is(sf.ignored.length, 0, `${name}: unused tensors ${sf.ignored.slice(0, 3)}`);
  const back = path.join(dir, `${name}-back`);
  convert(single, back, { to: 'diffusers', config: folder });
  const a = openPipeline(folder), b = openPipeline(back);
  for (const c of Object.keys(a.components)) assertSameTensors(`${name} ${c}`, b.components[c].store, a.components[c].store);
}

test('SD1.x: tiny pipeline round-trips through the single-file layout', () => {
  const folder = pipeline('sd1', PRESETS['sd1.5'].model_index, { unet: 'unet-sd15', vae: 'vae', text_encoder: 'clip-text-quickgelu' });
  roundTrip('sd1', folder, [
    ['model.diffusion_model.input_blocks.1.1.proj_in.weight', [32, 32, 1, 1]],
    ['model.diffusion_model.output_blocks.1.1.conv.weight', [64, 64, 3, 3]],
    ['cond_stage_model.transformer.text_model.encoder.layers.2.self_attn.q_proj.weight', [32, 32]],
    ['first_stage_model.decoder.up.1.upsample.conv.weight', [64, 64, 3, 3]],
    ['first_stage_model.encoder.mid.attn_1.q.weight', [64, 64, 1, 1]],
  ]);
  assert.is(openSingleFile(path.join(dir, 'sd1.safetensors'), { config: folder }).family, 'sd1');
});

test('SDXL: tiny pipeline (both text encoders) round-trips; text_projection transposed', () => {
  const folder = pipeline('sdxl', PRESETS.sdxl.model_index, { unet: 'unet-sdxl', vae: 'vae', text_encoder: 'clip-text-quickgelu', text_encoder_2: 'clip-text-projection' });
  roundTrip('sdxl', folder, [
    ['model.diffusion_model.label_emb.0.0.weight', [128, 80]],
    ['conditioner.embedders.0.transformer.text_model.final_layer_norm.weight', [32]],
    ['conditioner.embedders.1.model.transformer.resblocks.2.attn.in_proj_weight', [96, 32]],
    ['conditioner.embedders.1.model.text_projection', [32, 16]],
    ['conditioner.embedders.1.model.positional_embedding', [77, 32]],
  ]);
  const single = path.join(dir, 'sdxl.safetensors');
  const sf = openSingleFile(single, { config: folder });
  assert.is(sf.family, 'sdxl');
  // derived configs (no --config): sizes from tensors agree with the real ones
  const p = { ...PRESETS.sdxl, unetHeadDim: 16, unet: { ...PRESETS.sdxl.unet, norm_num_groups: 8 }, vae: { ...PRESETS.sdxl.vae, norm_num_groups: 8 } };
  const cfg = deriveConfigs(SafetensorsReader.open(single), 'sdxl', { ...p, text_encoder: { ...p.text_encoder, hidden_size: 32, num_attention_heads: 4 }, text_encoder_2: { ...p.text_encoder_2!, hidden_size: 32, num_attention_heads: 4 } });
  const real = (c: string) => JSON.parse(fs.readFileSync(path.join(folder, c, 'config.json'), 'utf8'));
  for (const k of ['block_out_channels', 'layers_per_block', 'down_block_types', 'up_block_types', 'transformer_layers_per_block', 'cross_attention_dim', 'projection_class_embeddings_input_dim']) assert.equal(cfg.unet[k], real('unet')[k], `unet.${k}`);
  for (const k of ['num_hidden_layers', 'projection_dim', 'intermediate_size', 'vocab_size']) assert.equal(cfg.text_encoder_2[k], real('text_encoder_2')[k], `text_encoder_2.${k}`);
  assert.is(cfg.text_encoder.num_hidden_layers, 3);
});

test.run();
