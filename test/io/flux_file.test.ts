// FLUX single files: the fixture FluxTransformer2DModel written in the BFL layout (fused
// qkv / linear1, swapped final adaLN halves; with and without model.diffusion_model.)
// reads back as the identical diffusers tensors; the same BFL tensors in a GGUF file
// (F32, F16, Q8_0, written by the test writer) load as the same tensors (F16 rounded,
// Q8_0 quantized). Bad GGUF / q8_0 files fail with one line naming file and tensor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toFloat32 } from '../../src/io/dtype.ts';
import { openFluxFile } from '../../src/io/fluxfile.ts';
import { GgufReader } from '../../src/io/gguf.ts';
import { bflTensors, FluxBflStore } from '../../src/io/names/flux.ts';
import { readAll, SafetensorsReader, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { FileStore } from '../../src/io/store.ts';
import { toF16Bits, fromF16Bits } from '../../src/tensor/dtype.ts';
import { dequantizeQ8_0, quantizeQ8_0 } from '../../src/tensor/q8_0.ts';
import { GGML, writeGguf } from './gguf_writer.ts';
import { FIX, rawFile, scratch, throwsEngine } from './helpers.ts';

const FLUX = path.join(FIX, 'flux-transformer');
const fixture = new FileStore(path.join(FLUX, 'model.safetensors'));
const tmp = scratch('flux');

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

function writeBfl(file: string, prefix: string): void {
  const ts = bflTensors(fixture, prefix);
  const w = new SafetensorsWriter(file, ts.map((t) => ({ name: t.name, dtype: t.parts[0].dtype, shape: [t.parts.reduce((a, p) => a + p.shape[0], 0), ...t.parts[0].shape.slice(1)] })));
  const byName = new Map(ts.map((t) => [t.name, t]));
  for (const d of w.order) w.writeTensor(d.name, byName.get(d.name)!.parts.map(readAll));
  w.close();
}

for (const prefix of ['model.diffusion_model.', '']) {
  test(`fixture -> BFL single file (${prefix ? 'prefixed' : 'bare'}) -> diffusers names: identical tensors`, () => {
    const file = path.join(tmp, `bfl${prefix ? '-prefixed' : ''}.safetensors`);
    writeBfl(file, prefix);
    const r = SafetensorsReader.open(file);
    assert.ok(r.has(`${prefix}double_blocks.0.img_attn.qkv.weight`) && r.has(`${prefix}single_blocks.1.linear1.weight`) && r.has(`${prefix}final_layer.adaLN_modulation.1.weight`));
    assert.equal(r.source(`${prefix}single_blocks.0.linear1.weight`).shape, [3 * 32 + 128, 32]);
    const s = new FluxBflStore(new FileStore(r));
    assert.equal([...s.names()].sort(), [...fixture.names()].sort());
    for (const n of fixture.names()) {
      assert.equal(s.source(n).shape, fixture.source(n).shape, n);
      assert.ok(Buffer.from(readAll(s.source(n))).equals(Buffer.from(readAll(fixture.source(n)))), `${n}: bytes differ`);
    }
    // BFL keeps (shift, scale): its first rows are diffusers' second half
    const bfl = toFloat32(r.source(`${prefix}final_layer.adaLN_modulation.1.weight`));
    const d = toFloat32(fixture.source('norm_out.linear.weight'));
    assert.equal(Array.from(bfl.subarray(0, 32 * 32)), Array.from(d.subarray(32 * 32)));
    const f = openFluxFile(file, { config: FLUX });
    assert.is(f.config.num_layers, 2);
  });
}

// The BFL tensors as GGUF: 2-D weights with whole-block rows in Q8_0, other weights F16, the rest F32.
function ggufType(name: string, shape: number[]): number {
  if (shape.length === 2 && shape[1] % 32 === 0) return GGML.Q8_0;
  return shape.length === 2 ? GGML.F16 : GGML.F32;
}

test('BFL tensors in a GGUF file (F32 / F16 / Q8_0) load as the fixture tensors', () => {
  const ts = bflTensors(fixture);
  const file = path.join(tmp, 'flux.gguf');
  const specs = ts.map((t) => {
    const shape = [t.parts.reduce((a, p) => a + p.shape[0], 0), ...t.parts[0].shape.slice(1)];
    const f32 = new Float32Array(Uint8Array.from(concat(t.parts.map(readAll))).buffer);
    const type = ggufType(t.name, shape);
    const data = type === GGML.Q8_0 ? quantizeQ8_0(f32) : type === GGML.F16 ? new Uint8Array(toF16Bits(f32).buffer) : new Uint8Array(f32.buffer);
    return { name: t.name, type, shape, data };
  });
  writeGguf(file, specs, { 'general.architecture': 'flux', 'general.quantization_version': 2 });
  const g = GgufReader.open(file);
  assert.is(g.metadata.get('general.architecture'), 'flux');
  assert.equal(g.source('double_blocks.0.img_attn.qkv.weight').shape, [96, 32]); // ne = [32, 96] on disk
  assert.is(g.source('double_blocks.0.img_attn.qkv.weight').dtype, 'Q8_0');
  const f = openFluxFile(file, { config: FLUX });
  let q8 = 0;
  for (const n of fixture.names()) {
    const want = toFloat32(fixture.source(n));
    const src = f.store.source(n);
    assert.equal(src.shape, fixture.source(n).shape, n);
    const got = toFloat32(src);
    const exp = src.dtype === 'Q8_0' ? dequantizeQ8_0(quantizeQ8_0(want), want.length) : src.dtype === 'F16' ? fromF16Bits(toF16Bits(want)) : want;
    if (src.dtype === 'Q8_0') q8++;
    assert.equal(Array.from(got), Array.from(exp), `${n} (${src.dtype})`);
  }
  assert.ok(q8 >= 20, `${q8} q8_0 tensors`);
});

test('bad GGUF and q8_0 files: one line naming the file and tensor', () => {
  const w = { name: 'double_blocks.0.img_mod.lin.weight', shape: [4, 32] };
  const q4 = path.join(tmp, 'q4.gguf');
  writeGguf(q4, [{ ...w, type: GGML.Q4_K, data: new Uint8Array(256) }]);
  throwsEngine(() => GgufReader.open(q4), q4, 'unsupported tensor type Q4_K in tensor', w.name);
  const odd = path.join(tmp, 'odd.gguf');
  writeGguf(odd, [{ name: 'img_in.weight', type: GGML.Q8_0, shape: [2, 40], data: new Uint8Array(0) }]);
  throwsEngine(() => GgufReader.open(odd), odd, "Q8_0 tensor 'img_in.weight'", 'rows of 40 values are not whole 32-value blocks');
  const cut = path.join(tmp, 'cut.gguf');
  writeGguf(cut, [{ ...w, type: GGML.F32, data: new Uint8Array(512) }]);
  fs.truncateSync(cut, fs.statSync(cut).size - 100);
  throwsEngine(() => GgufReader.open(cut), cut, w.name, 'runs past the end of the file');
  const notGguf = rawFile(tmp, 'x.gguf', {}, 0);
  throwsEngine(() => GgufReader.open(notGguf), notGguf, 'not a GGUF file');
  // q8_0 safetensors whose rows are not whole blocks: K = 40 would need 42.5 bytes per row
  const st = rawFile(tmp, 'q8odd.safetensors', { 'a.weight': { dtype: 'U8', shape: [2, 42], data_offsets: [0, 84] }, __metadata__: { 'nasa_engine.q8_0': JSON.stringify({ 'a.weight': [2, 40] }) } }, 84);
  throwsEngine(() => SafetensorsReader.open(st), st, "q8_0 tensor 'a.weight'", 'rows of 40 values are not whole 32-value blocks');
  const st2 = rawFile(tmp, 'q8bad.safetensors', { 'a.weight': { dtype: 'U8', shape: [2, 34], data_offsets: [0, 68] }, __metadata__: { 'nasa_engine.q8_0': JSON.stringify({ 'a.weight': [2, 64] }) } }, 68);
  throwsEngine(() => SafetensorsReader.open(st2), st2, "q8_0 tensor 'a.weight'", 'must be stored as U8 [2, 68]');
});

test.run();
