// convert --dtype q8_0 and the FLUX single-file conversions through the commands' run()
// (in process: spawning tsx costs seconds each): the report, the file's q8_0 metadata,
// round trips, and bad input (one clear error, nothing written; one real spawn checks the
// exit status and the single line).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as convertCli, summary } from '../../src/cli/convert.ts';
import { run as inspectCli } from '../../src/cli/inspect.ts';
import { convert } from '../../src/io/convert.ts';
import { META_Q8_0, readAll, SafetensorsReader } from '../../src/io/safetensors.ts';
import { FileStore } from '../../src/io/store.ts';
import { toFloat32 } from '../../src/io/dtype.ts';
import { GGML, writeGguf } from './gguf_writer.ts';
import { FIX, scratch } from './helpers.ts';
import { rejects } from '../models/fixtures.ts';

const dir = scratch('q8cli');
const FLUX = path.join(FIX, 'flux-transformer');

// Runs a command in process with stdout captured.
async function ok(run: (argv: string[]) => Promise<void>, ...args: string[]): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  (process.stdout as any).write = (s: string, cb?: () => void) => { out += s; cb?.(); return true; };
  try {
    await run(args);
  } finally {
    (process.stdout as any).write = write;
  }
  return out;
}
async function fails(re: RegExp, out: string, run: (argv: string[]) => Promise<void>, ...args: string[]) {
  await rejects(() => run(args), re);
  assert.not.ok(fs.existsSync(out), `${out} was written`);
}

test('convert --dtype q8_0: report, metadata, the kept tensor named', () => {
  const out = path.join(dir, 'flux-q8');
  const r = { stderr: summary(convert(FLUX, out, { dtype: 'Q8_0' }), 1, 'q8_0').join('\n') };
  assert.match(r.stderr, /q8_0: 47 linear weights quantized .* 61 tensors kept/);
  assert.match(r.stderr, /q8_0 weight error: max \|w - q\(w\)\| \S+, mean \S+, relative RMS \S+/);
  assert.match(r.stderr, /kept time_text_embed\.text_embedder\.linear_1\.weight: rows of 24 values are not whole 32-value blocks/);
  const st = SafetensorsReader.open(path.join(out, 'model.safetensors'));
  const meta = JSON.parse(st.metadata[META_Q8_0]);
  assert.equal(meta['transformer_blocks.0.attn.to_q.weight'], [32, 32]);
  assert.is(st.source('transformer_blocks.0.attn.to_q.weight').dtype, 'Q8_0');
  assert.is(st.source('transformer_blocks.0.attn.to_q.bias').dtype, 'F32');
  assert.ok(fs.existsSync(path.join(out, 'config.json')));
  // and back to f32: the blocks dequantized, everything else untouched
  const f32 = path.join(dir, 'flux-deq');
  convert(out, f32, { dtype: 'F32' });
  const back = SafetensorsReader.open(path.join(f32, 'model.safetensors'));
  assert.is(back.metadata[META_Q8_0], undefined);
  const w = back.source('transformer_blocks.0.attn.to_q.weight');
  assert.is(w.dtype, 'F32');
  assert.equal(Array.from(toFloat32(w)), Array.from(toFloat32(st.source('transformer_blocks.0.attn.to_q.weight'))));
});

test('FLUX: diffusers -> BFL single file -> diffusers gives identical files', async () => {
  const single = path.join(dir, 'flux1.safetensors');
  await ok(convertCli, FLUX, single, '--to', 'single-file', '--prefixed', '--quiet');
  assert.ok(SafetensorsReader.open(single).has('model.diffusion_model.double_blocks.0.img_attn.qkv.weight'));
  const back = path.join(dir, 'flux-back');
  await ok(convertCli, single, back, '--to', 'diffusers', '--config', FLUX, '--quiet');
  const a = new FileStore(path.join(FLUX, 'model.safetensors')), b = new FileStore(path.join(back, 'diffusion_pytorch_model.safetensors'));
  assert.equal(b.names().sort(), a.names().sort());
  for (const n of a.names()) assert.ok(Buffer.from(readAll(a.source(n))).equals(Buffer.from(readAll(b.source(n)))), n);
  const ins = await ok(inspectCli, single, '--config', FLUX);
  assert.match(ins, /FLUX transformer, BFL layout \(FluxTransformer2DModel\)/);
  assert.match(ins, /norm_out\.linear\.weight\s+F32\s+\[64, 32\]\s+8192\s+<- model\.diffusion_model\.final_layer\.adaLN_modulation\.1\.weight/);
});

test('bad input: unsupported GGUF type, q8_0 rows that are not whole blocks', async () => {
  const q4 = path.join(dir, 'q4.gguf');
  writeGguf(q4, [{ name: 'img_in.weight', type: GGML.Q4_0, shape: [4, 32], data: new Uint8Array(72) }]);
  const msg = /q4\.gguf: unsupported tensor type Q4_0 in tensor 'img_in\.weight'/;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'convert', q4, path.join(dir, 'o1'), '--to', 'diffusers'], { encoding: 'utf8' });
  assert.is.not(r.status, 0);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, msg);
  assert.not.ok(fs.existsSync(path.join(dir, 'o1')));
  await fails(msg, path.join(dir, 'o2.safetensors'), convertCli, q4, path.join(dir, 'o2.safetensors'));
  await fails(msg, path.join(dir, 'none'), inspectCli, q4);
  const odd = path.join(dir, 'odd.gguf');
  writeGguf(odd, [{ name: 'img_in.weight', type: GGML.Q8_0, shape: [2, 48], data: new Uint8Array(102) }]);
  await fails(/odd\.gguf: Q8_0 tensor 'img_in\.weight' \[2, 48\]: rows of 48 values are not whole 32-value blocks/, path.join(dir, 'o3'), convertCli, odd, path.join(dir, 'o3'), '--to', 'diffusers');
});

test.run();
