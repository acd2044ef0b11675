// Diffusers folders and weight scopes: component discovery, variant choice, and the
// error a model gets for a missing or mis-shaped tensor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listWeightFiles, openComponent, openPipeline } from '../../src/io/folder.ts';
import { openModel } from '../../src/io/open.ts';
import { WeightScope } from '../../src/io/store.ts';
import { TINY, TINY_SINGLE, scratch, throwsEngine } from './helpers.ts';

const dir = scratch('folder');

test('pipeline folder: components, scheduler, tokenizer; f32 preferred over the fp16 variant', () => {
  const p = openPipeline(TINY);
  assert.is(p.className, 'StableDiffusionPipeline');
  assert.equal(Object.keys(p.components).sort(), ['text_encoder', 'unet', 'vae']);
  assert.is(p.components.unet.variant, null);
  assert.is(p.components.unet.store.source('conv_in.weight').dtype, 'F32');
  assert.is(p.scheduler?.config._class_name, 'EulerDiscreteScheduler');
  assert.equal(Object.keys(p.tokenizers), ['tokenizer']);
  const v = openPipeline(TINY, { variant: 'fp16' });
  assert.is(v.components.vae.variant, 'fp16');
  assert.is(v.components.vae.store.source('decoder.conv_in.weight').dtype, 'F16');
  throwsEngine(() => openComponent(path.join(TINY, 'unet'), { variant: 'bf16' }), 'unet', "no 'bf16' variant", 'diffusion_pytorch_model.fp16.safetensors');
});

test('variant discovery: sole variant used, ambiguous variants and .bin-only folders refused', () => {
  assert.equal([...listWeightFiles(path.join(TINY, 'unet')).keys()].sort(), ['', 'fp16']);
  const only = path.join(dir, 'only16');
  fs.mkdirSync(only);
  fs.copyFileSync(path.join(TINY, 'vae', 'config.json'), path.join(only, 'config.json'));
  fs.copyFileSync(path.join(TINY, 'vae', 'diffusion_pytorch_model.fp16.safetensors'), path.join(only, 'diffusion_pytorch_model.fp16.safetensors'));
  assert.is(openComponent(only).variant, 'fp16');
  fs.copyFileSync(path.join(TINY, 'vae', 'diffusion_pytorch_model.fp16.safetensors'), path.join(only, 'diffusion_pytorch_model.ema.safetensors'));
  throwsEngine(() => openComponent(only), 'only16', 'several weight variants', '--variant');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.copyFileSync(path.join(TINY, 'vae', 'config.json'), path.join(bin, 'config.json'));
  fs.writeFileSync(path.join(bin, 'diffusion_pytorch_model.bin'), 'x');
  throwsEngine(() => openComponent(bin), 'bin', 'diffusion_pytorch_model.bin', 'only .safetensors');
});

test('WeightScope: full names in errors, expected and found shapes, file; unused tensors listed', () => {
  const unet = openComponent(path.join(TINY, 'unet'));
  const root = new WeightScope(unet.store);
  const res = root.sub('down_blocks').sub(0).sub('resnets').sub(0);
  assert.is(res.prefix, 'down_blocks.0.resnets.0');
  assert.ok(res.has('conv1.weight'));
  assert.equal(res.get('conv1.weight', [16, 16, 3, 3]).shape, [16, 16, 3, 3]);
  assert.equal(res.get('conv1.bias', [-1]).shape, [16]);
  throwsEngine(() => res.get('conv3.weight', [16, 16, 3, 3]), "'down_blocks.0.resnets.0.conv3.weight'", '[16, 16, 3, 3]', 'diffusion_pytorch_model.safetensors');
  throwsEngine(() => res.get('conv1.weight', [16, 8, 3, 3]), "'down_blocks.0.resnets.0.conv1.weight'", 'has shape [16, 16, 3, 3]', 'expected [16, 8, 3, 3]', 'diffusion_pytorch_model.safetensors');
  const unused = res.unused();
  assert.ok(unused.includes('down_blocks.0.resnets.0.norm1.weight') && !unused.includes('down_blocks.0.resnets.0.conv1.weight'));
  assert.is(root.unused().length, unet.store.names().length - 2);
});

test('single-file scope errors name the diffusers name, the stored name and the file', () => {
  const m = openModel(TINY_SINGLE, { config: TINY });
  assert.is(m.kind, 'single-file');
  assert.equal(Object.keys(m.tokenizers), ['tokenizer']);
  const te = new WeightScope(m.components.text_encoder.store, 'text_model.encoder.layers.0.self_attn');
  assert.equal(te.get('v_proj.weight', [32, 32]).shape, [32, 32]);
  throwsEngine(() => te.get('v_proj.weight', [32, 64]), "'text_model.encoder.layers.0.self_attn.v_proj.weight'", "stored as 'cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight'", 'sd21-turbo-tiny.single.safetensors');
  throwsEngine(() => openModel(TINY_SINGLE), 'sd-turbo', '--config');
  throwsEngine(() => openModel(TINY, { config: TINY }), 'diffusers folder');
});

test.run();
