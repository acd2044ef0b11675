// The `forward` command end to end (in-process): input files named as the reference
// forward() arguments -> output files named as its outputs, checked against the goldens;
// I64 and I32 ids, timestep as [] / [1]; weights read from an f16 file; and bad inputs
// failing with one line that lists what the model expects.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as forward } from '../../src/cli/forward.ts';
import { convert } from '../../src/io/convert.ts';
import type { StDType } from '../../src/io/safetensors.ts';
import { readOutputs, runForward, writeInputs as writeTensors } from '../util/forward_cli.ts';
import { UNet, type HostTensor } from '../../src/models/index.ts';
import { expectClose, get, loadCase, rejects } from './fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-forward-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const writeInputs = (file: string, tensors: Parameters<typeof writeTensors>[1]) => writeTensors(path.join(tmp, file), tensors);

const ts = (shape: number[], data: number[], dtype?: StDType) => ({ shape, data: Float32Array.from(data), dtype });

test('forward: CLIPTextModelWithProjection from I32 ids', async () => {
  const c = loadCase('clip-text-projection');
  const ids = get(c, 'input_ids');
  const inp = writeInputs('clip.safetensors', { input_ids: { ...ids, dtype: 'I32' } });
  const out = await runForward([c.modelDir, '--inputs', inp], path.join(tmp, 'clip-out.safetensors'));
  assert.equal(Object.keys(out).sort(), ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'hidden_states.3', 'last_hidden_state', 'pooled_index', 'text_embeds']);
  for (const n of ['last_hidden_state', 'text_embeds', 'hidden_states.2']) expectClose(c, n, out[n], n, 'f32');
});

test('forward: UNet sd15 with an I64 scalar timestep; sd21 with NASA', async () => {
  const c = loadCase('unet-sd15');
  const inp = writeInputs('unet.safetensors', { sample: get(c, 'sample'), encoder_hidden_states: get(c, 'encoder_hidden_states'), timestep: ts([], [999], 'I64') });
  const out = await runForward([c.modelDir, '--inputs', inp], path.join(tmp, 'unet-out.safetensors'));
  assert.equal(Object.keys(out), ['sample']);
  expectClose(c, 'sample', out.sample, 'sample_t999', 'f32');

  const n = loadCase('unet-sd21-nasa');
  const inpN = writeInputs('nasa.safetensors', {
    sample: get(n, 'sample'), encoder_hidden_states: get(n, 'encoder_hidden_states'),
    negative_encoder_hidden_states: get(n, 'negative_encoder_hidden_states'), timestep: ts([1], [999]),
  });
  const outN = await runForward([n.modelDir, '--inputs', inpN, '--guidance', 'nasa', '--alpha', '0.2'], path.join(tmp, 'nasa-out.safetensors'));
  expectClose(n, 'nasa sample', outN.sample, 'sample_t999_nasa_alpha_0p2', 'f32');
});

test('forward: VAE decode (picked from z) and encode (--method), f16', async () => {
  const c = loadCase('vae');
  const dec = await runForward([c.modelDir, '--inputs', writeInputs('z.safetensors', { z: get(c, 'z') }), '--dtype', 'f16'], path.join(tmp, 'dec.safetensors'));
  expectClose(c, 'decode', dec.sample, 'decode_sample', 'f16');
  const enc = await runForward([c.modelDir, '--inputs', writeInputs('img.safetensors', { sample: get(c, 'image') }), '--method', 'encode'], path.join(tmp, 'enc.safetensors'));
  expectClose(c, 'mean', enc.mean, 'encode_mean', 'f32');
  expectClose(c, 'logvar', enc.logvar, 'encode_logvar', 'f32');
});

test('forward: the same UNet weights from an f16 file (fp16 variant)', async () => {
  const c = loadCase('unet-sd15');
  const dir = path.join(tmp, 'unet-fp16');
  convert(c.modelDir, dir, { dtype: 'F16', outVariant: 'fp16' });
  assert.ok(fs.existsSync(path.join(dir, 'model.fp16.safetensors')), 'converted file');
  const x = { sample: get(c, 'sample'), encoder_hidden_states: get(c, 'encoder_hidden_states'), timestep: 999 };
  // f16 weights computed in f32: only the weight rounding differs, within the f16 rule.
  for (const dtype of ['f32', 'f16'] as const) {
    const unet = UNet.load(dir, { dtype, variant: 'fp16' });
    try {
      expectClose(c, `fp16 weights, ${dtype} compute`, (await unet.forward(x)).sample, 'sample_t999', 'f16');
    } finally {
      unet.destroy();
    }
  }
  const out = await runForward([dir, '--inputs', writeInputs('u16.safetensors', { ...x, timestep: ts([1], [999]) }), '--variant', 'fp16'], path.join(tmp, 'u16-out.safetensors'));
  expectClose(c, 'forward --variant fp16', out.sample, 'sample_t999', 'f16');
});

test('forward: bad inputs fail with what the model expects', async () => {
  const u = loadCase('unet-sd15');
  const o = path.join(tmp, 'bad-out.safetensors');
  const s = get(u, 'sample'), e = get(u, 'encoder_hidden_states');
  const expects = /UNet2DConditionModel forward: missing input .timestep.; expected inputs: sample \[B, 4, H, W\] float; timestep \[\] \| \[1\] \| \[B\] float; encoder_hidden_states \[B, S, 32\] float/;
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('m.safetensors', { sample: s, encoder_hidden_states: e }), '--out', o]), /missing input 'timestep'/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('m2.safetensors', { sample: s, encoder_hidden_states: e }), '--out', o]), expects);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('w.safetensors', { sample: ts([1, 3, 8, 8], new Array(192).fill(0)), timestep: ts([], [1]), encoder_hidden_states: e }), '--out', o]),
    /input 'sample' has shape \[1, 3, 8, 8\], expected \[B, 4, H, W\]/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('w2.safetensors', { sample: s, timestep: ts([3], [1, 2, 3]), encoder_hidden_states: e }), '--out', o]),
    /input 'timestep' has shape \[3\], expected \[\] or \[1\] or \[B\] with B=1/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('w3.safetensors', { sample: s, timestep: ts([], [1]), encoder_hidden_states: ts([2, 77, 32], new Array(2 * 77 * 32).fill(0)) }), '--out', o]),
    /input 'encoder_hidden_states' has shape \[2, 77, 32\], expected \[B, S, 32\] with B=1/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('x.safetensors', { sample: s, timestep: ts([], [1]), encoder_hidden_states: e, timesteps: ts([1], [1]) }), '--out', o]),
    /unexpected input 'timesteps'/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('g.safetensors', { sample: s, timestep: ts([], [1]), encoder_hidden_states: e }), '--guidance', 'nasa', '--alpha', '0.1', '--out', o]),
    /missing input 'negative_encoder_hidden_states'/);
  await rejects(() => forward([u.modelDir, '--inputs', writeInputs('g2.safetensors', { sample: s, timestep: ts([], [1]), encoder_hidden_states: e }), '--method', 'decode', '--out', o]),
    /--method decode does not apply to UNet2DConditionModel/);
  const clip = loadCase('clip-text-gelu');
  await rejects(() => forward([clip.modelDir, '--inputs', writeInputs('f.safetensors', { input_ids: ts([1, 77], new Array(77).fill(1)) }), '--out', o]),
    /tensor 'input_ids' is F32; token ids must be an integer dtype/);
  await rejects(() => forward([path.join(tmp, 'nope'), '--inputs', 'x', '--out', o]), /no such folder/);
});

test.run();
