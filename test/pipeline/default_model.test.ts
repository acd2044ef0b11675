// The embedded default model (weights/default): a complete diffusers folder whose files are
// exactly what tools/make-default-model.ts writes (regenerated here and compared byte for
// byte), with diffusers' own tensor names, shapes and header layout, F16 and finite.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { SafetensorsReader, readAll } from '../../src/io/safetensors.ts';
import { loadScheduler } from '../../src/pipeline/scheduler.ts';
import { makeDefaultModel } from '../../tools/make-default-model.ts';
import { FIXTURES } from '../util/fixture.ts';

const DEFAULT = join(import.meta.dirname, '..', '..', 'weights', 'default');
const TEMPLATE = join(FIXTURES, 'sd21-turbo-tiny');
const WEIGHTS: Array<[string, string]> = [
  ['text_encoder/model.safetensors', 'text_encoder/model.fp16.safetensors'],
  ['unet/diffusion_pytorch_model.safetensors', 'unet/diffusion_pytorch_model.fp16.safetensors'],
  ['vae/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.fp16.safetensors'],
];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)))
    .sort();
}

const header = (p: string) => { const b = readFileSync(p); return b.subarray(8, 8 + Number(b.readBigUInt64LE(0))); };

test('weights/default is a diffusers StableDiffusionPipeline folder of a few MB', () => {
  const files = listFiles(DEFAULT);
  assert.equal(files, [
    'model_index.json', 'scheduler/scheduler_config.json', 'text_encoder/config.json', 'text_encoder/model.safetensors',
    'tokenizer/merges.txt', 'tokenizer/special_tokens_map.json', 'tokenizer/tokenizer_config.json', 'tokenizer/vocab.json',
    'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'vae/config.json', 'vae/diffusion_pytorch_model.safetensors',
  ]);
  const total = files.reduce((s, f) => s + statSync(join(DEFAULT, f)).size, 0);
  assert.ok(total < 8e6, `total ${total} bytes`);
  const index = JSON.parse(readFileSync(join(DEFAULT, 'model_index.json'), 'utf8'));
  assert.is(index._class_name, 'StableDiffusionPipeline');
  assert.equal(index.scheduler, ['diffusers', 'EulerDiscreteScheduler']);
  const s = loadScheduler(DEFAULT, { steps: 1 });
  assert.equal([...s.timesteps], [999], 'SD-Turbo style: trailing spacing, one step at t = 999');
  assert.is(JSON.parse(readFileSync(join(DEFAULT, 'text_encoder/config.json'), 'utf8')).vocab_size, 49408);
  for (const f of ['vocab.json', 'merges.txt']) {
    assert.ok(readFileSync(join(DEFAULT, 'tokenizer', f)).equals(readFileSync(join(TEMPLATE, 'tokenizer', f))), `real CLIP ${f}`);
  }
});

test('weights have diffusers\' names, shapes and header bytes, F16, finite, not copies of the template', () => {
  for (const [mine, fp16] of WEIGHTS) {
    assert.ok(header(join(DEFAULT, mine)).equals(header(join(TEMPLATE, fp16))), `${mine}: header equals diffusers' own fp16 save`);
    const r = SafetensorsReader.open(join(DEFAULT, mine));
    const t = SafetensorsReader.open(join(TEMPLATE, fp16));
    let same = 0, total = 0;
    for (const name of r.names()) {
      const a = new Float16Array(readAll(r.source(name)).slice().buffer);
      const b = new Float16Array(readAll(t.source(name)).slice().buffer);
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i])) assert.unreachable(`${mine}: ${name}[${i}] = ${a[i]}`);
        if (a[i] === b[i]) same++;
      }
      total += a.length;
    }
    assert.ok(same < total * 0.05, `${mine}: ${same}/${total} values equal the template's (should be re-drawn)`);
  }
});

test('tools/make-default-model.ts regenerates weights/default byte for byte', () => {
  const dir = mkdtempSync(join(tmpdir(), 'default-model-'));
  try {
    const files = makeDefaultModel(TEMPLATE, join(dir, 'default'), 0);
    assert.equal(files, listFiles(DEFAULT));
    for (const f of files) assert.ok(readFileSync(join(dir, 'default', f)).equals(readFileSync(join(DEFAULT, f))), `${f} differs from the committed file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
