// The inspect and convert commands end to end (as a user runs them).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SafetensorsReader, SafetensorsWriter, readAll } from '../../src/io/safetensors.ts';
import { FileStore } from '../../src/io/store.ts';
import { TINY, TINY_SINGLE, scratch } from './helpers.ts';

const dir = scratch('cli');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
  assert.is(r.status, 0, `${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

test('inspect --json: single file with --config, and a pipeline folder', () => {
  const a = JSON.parse(cli('inspect', TINY_SINGLE, '--config', TINY, '--json').stdout);
  assert.is(a.kind, 'single-file');
  assert.match(a.architecture, /^sd2 /);
  assert.is(a.ignored.length, 26);
  const te = a.parts.find((p: any) => p.name === 'text_encoder');
  const q = te.tensors.find((t: any) => t.name === 'text_model.encoder.layers.0.self_attn.q_proj.weight');
  assert.equal(q.shape, [32, 32]);
  assert.is(q.stored, 'cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight');
  const b = JSON.parse(cli('inspect', TINY, '--json', '--summary').stdout);
  assert.is(b.kind, 'pipeline');
  assert.is(b.parameters, a.parameters, 'same model, same parameter count');
  const unet = new FileStore(path.join(TINY, 'unet', 'diffusion_pytorch_model.safetensors'));
  const count = unet.names().reduce((n, k) => n + unet.source(k).shape.reduce((x, y) => x * y, 1), 0);
  assert.is(b.parts.find((p: any) => p.name === 'unet').parameters, count);
});

test('inspect (text) of a lone file lists every tensor with dtype, shape and bytes', () => {
  const out = cli('inspect', path.join(TINY, 'vae', 'diffusion_pytorch_model.safetensors')).stdout;
  assert.match(out, /file, AutoencoderKL/);
  assert.match(out, /decoder\.conv_in\.weight\s+F32\s+\[16, 4, 3, 3\]\s+2304/);
  assert.is(out.split('\n').filter((l) => l.startsWith('  ')).length, 244);
});

test('convert --dtype f16 reports throughput and f16 overflows with where they are', () => {
  const src = path.join(dir, 'hot.safetensors');
  const w = new SafetensorsWriter(src, [{ name: 'w', dtype: 'F32', shape: [2, 3] }, { name: 'ids', dtype: 'I64', shape: [2] }]);
  w.write('ids', new Uint8Array(new BigInt64Array([7n, 9n]).buffer));
  w.write('w', new Uint8Array(new Float32Array([1, 2, 1e5, 4, 5, -7e4]).buffer));
  w.close();
  const out = path.join(dir, 'hot.f16.safetensors');
  const r = cli('convert', src, out, '--dtype', 'f16');
  assert.match(r.stderr, /wrote 1 file .* 2 tensors, read .* MB\/s read\)/);
  assert.match(r.stderr, /warning: 2 values in 1 tensors are too large for f16 and became ±inf/);
  assert.match(r.stderr, /w: 2 \(max \|x\| 1\.000e\+5, first at \[0, 2\] \[1, 2\]\)/);
  const rd = SafetensorsReader.open(out);
  assert.is(rd.source('w').dtype, 'F16');
  assert.is(rd.source('ids').dtype, 'I64', 'integer tensors kept');
  assert.equal(Array.from(readAll(rd.source('ids'))), Array.from(readAll(SafetensorsReader.open(src).source('ids'))));
});

test('convert --to diffusers / single-file via the CLI', () => {
  const out = path.join(dir, 'd');
  cli('convert', TINY_SINGLE, out, '--to', 'diffusers', '--config', TINY, '--quiet');
  assert.ok(fs.readFileSync(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors')).equals(fs.readFileSync(path.join(TINY, 'unet', 'diffusion_pytorch_model.safetensors'))));
  const single = path.join(dir, 's.safetensors');
  const r = cli('convert', out, single, '--to', 'single-file', '--dtype', 'bf16');
  assert.match(r.stderr, /767 tensors/);
});

test.run();
