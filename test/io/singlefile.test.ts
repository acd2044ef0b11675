// The fixture's single-file SD2 checkpoint against its diffusers folder: the loader view
// and `convert --to diffusers --config` reproduce every tensor (and file) bit for bit;
// diffusers -> single-file -> diffusers does too, and the single file we write agrees
// with the fixture's (made by diffusers' own script) on every tensor both have.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convert } from '../../src/io/convert.ts';
import { openPipeline } from '../../src/io/folder.ts';
import { openModel } from '../../src/io/open.ts';
import { PRESETS } from '../../src/io/presets.ts';
import { deriveConfigs } from '../../src/io/derive.ts';
import { SafetensorsReader, SafetensorsWriter, readAll, readChunks } from '../../src/io/safetensors.ts';
import { openSingleFile } from '../../src/io/singlefile.ts';
import { FileStore } from '../../src/io/store.ts';
import { FIX, TINY, TINY_SINGLE, assertSameTensors, scratch, throwsEngine } from './helpers.ts';

const dir = scratch('sf');
const caseJson = JSON.parse(fs.readFileSync(path.join(FIX, 'sd21-turbo-tiny.case', 'case.json'), 'utf8'));
const FILES = ['unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors', 'text_encoder/model.safetensors'];

test('single-file view under diffusers names equals the folder, extras ignored as diffusers does', () => {
  const sf = openSingleFile(TINY_SINGLE, { config: TINY });
  assert.is(sf.family, 'sd2');
  const folder = openPipeline(TINY);
  for (const c of ['unet', 'vae', 'text_encoder']) assertSameTensors(c, sf.components[c], folder.components[c].store);
  assert.equal([...sf.ignored].sort(), [...caseJson.single_file.extras].sort());
  const q = sf.components.text_encoder.source('text_model.encoder.layers.1.self_attn.k_proj.weight');
  assert.is(q.stored, 'cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight');
  assert.equal(sf.components.vae.source('decoder.mid_block.attentions.0.to_q.weight').shape, [16, 16]);
});

test('convert single file -> diffusers (--config) writes files identical to the fixture folder', () => {
  const out = path.join(dir, 'from-single');
  const r = convert(TINY_SINGLE, out, { to: 'diffusers', config: TINY });
  assert.is(r.ignored.length, caseJson.single_file.extras.length);
  for (const f of [...FILES, 'unet/config.json', 'model_index.json', 'scheduler/scheduler_config.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt']) {
    assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(TINY, f))), `${f} differs`);
  }
  assertSameTensors('reopened', openPipeline(out).components.unet.store, openPipeline(TINY).components.unet.store);
});

test('diffusers -> single file -> diffusers reproduces the folder; the single file matches the fixture one', () => {
  const single = path.join(dir, 'ours.safetensors');
  convert(TINY, single, { to: 'single-file' });
  const ours = SafetensorsReader.open(single), ref = SafetensorsReader.open(TINY_SINGLE);
  let compared = 0;
  for (const n of ours.names()) {
    if (n === 'cond_stage_model.model.text_projection') continue; // our identity placeholder
    assert.ok(ref.has(n), `we wrote '${n}', which the reference single file does not have`);
    const a = ours.source(n), b = ref.source(n);
    assert.equal(a.shape, b.shape, n);
    assert.ok(Buffer.from(readAll(a)).equals(Buffer.from(readAll(b))), `'${n}' differs from the reference single file`);
    compared++;
  }
  assert.is(compared, caseJson.single_file.num_converted, 'every converted tensor of the reference');
  const back = path.join(dir, 'back');
  convert(single, back, { to: 'diffusers', config: TINY });
  for (const f of FILES) assert.ok(fs.readFileSync(path.join(back, f)).equals(fs.readFileSync(path.join(TINY, f))), `${f} differs after the round trip`);
});

test('fp16 variant in, bf16 out; --variant picks the fp16 files', () => {
  const single = path.join(dir, 'fp16.safetensors');
  convert(TINY, single, { to: 'single-file', variant: 'fp16', dtype: 'BF16' });
  const r = SafetensorsReader.open(single);
  assert.ok(r.names().every((n) => r.source(n).dtype === 'BF16'));
  const m = openModel(TINY, { variant: 'fp16' });
  assert.is(m.components.unet.store.source('conv_in.weight').dtype, 'F16');
});

test('configs derived from tensors match the real configs on every size they determine', () => {
  // A preset with this tiny model's head width and norm groups stands in for the real one.
  const p = {
    ...PRESETS['sd-turbo'], unetHeadDim: 8,
    unet: { ...PRESETS['sd-turbo'].unet, norm_num_groups: 8 }, vae: { ...PRESETS['sd-turbo'].vae, norm_num_groups: 4 },
    text_encoder: { ...PRESETS['sd-turbo'].text_encoder, hidden_size: 32, num_attention_heads: 4 },
  };
  const cfg = deriveConfigs(SafetensorsReader.open(TINY_SINGLE), 'sd2', p);
  const real = (c: string) => JSON.parse(fs.readFileSync(path.join(TINY, c, 'config.json'), 'utf8'));
  const keys: Record<string, string[]> = {
    unet: ['block_out_channels', 'layers_per_block', 'down_block_types', 'up_block_types', 'in_channels', 'out_channels', 'cross_attention_dim', 'use_linear_projection', 'transformer_layers_per_block', 'mid_block_type'],
    vae: ['block_out_channels', 'layers_per_block', 'in_channels', 'out_channels', 'latent_channels', 'down_block_types', 'up_block_types'],
    text_encoder: ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'vocab_size', 'max_position_embeddings', 'hidden_act'],
  };
  for (const [c, ks] of Object.entries(keys)) for (const k of ks) assert.equal(cfg[c][k], real(c)[k], `${c}.${k}`);
  assert.equal(cfg.unet.attention_head_dim, [2, 4, 4], 'heads from width / head width');
  assert.is(cfg.text_encoder.num_attention_heads, 4);
});

test('single file -> diffusers from a preset (no --config): written configs load and match the tensors', () => {
  const base = PRESETS['sd-turbo'];
  PRESETS['tiny-sd2'] = {
    ...base, name: 'tiny-sd2', unetHeadDim: 8, unet: { ...base.unet, norm_num_groups: 8 }, vae: { ...base.vae, norm_num_groups: 4 },
    text_encoder: { ...base.text_encoder, hidden_size: 32, num_attention_heads: 4 },
  };
  try {
    const out = path.join(dir, 'preset');
    const r = convert(TINY_SINGLE, out, { to: 'diffusers', preset: 'tiny-sd2' });
    assert.match(r.notes.join(), /tokenizer/);
    const p = openPipeline(out); // also checks every written config against the weights
    const ref = openPipeline(TINY);
    for (const c of ['unet', 'vae', 'text_encoder']) assertSameTensors(c, p.components[c].store, ref.components[c].store);
    assert.equal(p.components.unet.config.attention_head_dim, [2, 4, 4]);
    assert.is(p.scheduler?.config.timestep_spacing, 'trailing');
    assert.equal(p.tokenizers, {});
  } finally {
    delete PRESETS['tiny-sd2'];
  }
});

test('EMA weights: --ema takes model_ema.* for the UNet; --drop-ema removes them', () => {
  const src = SafetensorsReader.open(TINY_SINGLE);
  const unet = src.names().filter((n) => n.startsWith('model.diffusion_model.'));
  const ema = (n: string) => 'model_ema.' + n.slice('model.'.length).replace(/\./g, '');
  const file = path.join(dir, 'ema.safetensors');
  const w = new SafetensorsWriter(file, [...src.names().map((n) => src.source(n)), ...unet.map((n) => ({ ...src.source(n), name: ema(n) }))]);
  for (const t of w.order) {
    if (t.name.startsWith('model_ema.')) w.write(t.name, new Uint8Array(t.shape.reduce((a, b) => a * b, 1) * 4));
    else w.writeTensor(t.name, readChunks(src.source(t.name)));
  }
  w.close();
  const sf = openSingleFile(file, { config: TINY, ema: true });
  const s = sf.components.unet.source('conv_in.weight');
  assert.is(s.stored, 'model_ema.diffusion_modelinput_blocks00weight');
  assert.ok(readAll(s).every((b) => b === 0));
  assert.ok(sf.ignored.includes('model.diffusion_model.input_blocks.0.0.weight'));
  const dropped = path.join(dir, 'noema.safetensors');
  const r = convert(file, dropped, { dropEma: true });
  assert.is(r.dropped.length, unet.length);
  assert.equal(new FileStore(dropped).names().sort(), src.names().sort());
  throwsEngine(() => openSingleFile(TINY_SINGLE, { config: TINY, ema: true }), '--ema', 'model_ema.diffusion_model');
});

test('output safety: existing outputs need --force; same path refused', () => {
  throwsEngine(() => convert(TINY_SINGLE, TINY_SINGLE, {}), 'must differ');
  throwsEngine(() => convert(TINY, path.join(TINY, 'copy'), {}), 'inside the input folder');
  const out = path.join(dir, 'exists.safetensors');
  fs.writeFileSync(out, 'x');
  throwsEngine(() => convert(TINY, out, { to: 'single-file' }), 'exists', '--force');
  throwsEngine(() => convert(TINY, path.join(dir, 'y'), { to: 'diffusers' }), '--to diffusers', 'single .safetensors file');
});

test.run();
