// Reader/writer format tests: round trip of every dtype with metadata, the exact byte
// layout of the reference library (a fixture file is rewritten byte for byte), chunking,
// F8 refusal, sharded folders.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openComponent } from '../../src/io/folder.ts';
import { DTYPE_BYTES, SafetensorsReader, SafetensorsWriter, readAll, readChunks, type StDType } from '../../src/io/safetensors.ts';
import { FIX, rawFile, scratch, throwsEngine } from './helpers.ts';

const dir = scratch('st');

function bytesFor(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

test('write then read: all dtypes, scalar and empty tensors, metadata, aligned layout', () => {
  const decl: { name: string; dtype: StDType; shape: number[] }[] = [
    { name: 'b.f16', dtype: 'F16', shape: [3] }, { name: 'a.i64', dtype: 'I64', shape: [2] },
    { name: 'c.u8', dtype: 'U8', shape: [5] }, { name: 'bool', dtype: 'BOOL', shape: [1, 3] },
    { name: 'scalar', dtype: 'F32', shape: [] }, { name: 'empty', dtype: 'F32', shape: [0, 4] },
    { name: 'bf', dtype: 'BF16', shape: [2, 2] }, { name: 'i32', dtype: 'I32', shape: [1] }, { name: 'f64', dtype: 'F64', shape: [1] },
  ];
  const p = path.join(dir, 'all.safetensors');
  const w = new SafetensorsWriter(p, decl, { format: 'pt', note: 'ünïcode' });
  assert.equal(w.order.map((t) => t.name), ['a.i64', 'f64', 'empty', 'scalar', 'i32', 'bf', 'b.f16', 'c.u8', 'bool'], 'reference dtype order, then by name');
  const data = new Map<string, Uint8Array>();
  for (const t of w.order) {
    const n = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype as StDType];
    const b = bytesFor(n, t.name.length);
    data.set(t.name, b);
    w.writeTensor(t.name, n > 3 ? [b.subarray(0, 2), b.subarray(2)] : [b]);
  }
  w.close();
  assert.not.ok(fs.existsSync(p + '.partial'));
  const raw = fs.readFileSync(p);
  const hlen = Number(raw.readBigUInt64LE(0));
  assert.is((8 + hlen) % 8, 0, 'data starts 8-byte aligned');
  const header = raw.subarray(8, 8 + hlen).toString('utf8');
  assert.match(header, /^\{"a\.i64":\{"dtype":"I64","shape":\[2\],"data_offsets":\[0,16\]\}/, 'compact JSON in file order');
  assert.match(header, /"__metadata__":\{"format":"pt","note":"ünïcode"\}\} *$/, 'metadata last, space padded');
  const r = SafetensorsReader.open(p);
  assert.equal(r.metadata, { format: 'pt', note: 'ünïcode' });
  assert.equal(r.names().sort(), decl.map((d) => d.name).sort());
  for (const d of decl) {
    const s = r.source(d.name);
    assert.equal(s.shape, d.shape);
    assert.equal(Array.from(readAll(s)), Array.from(data.get(d.name)!), d.name);
  }
});

test('a fixture file rewritten through the writer is byte-identical (reference layout)', () => {
  const src = path.join(FIX, 'unet-sdxl', 'model.safetensors');
  const r = SafetensorsReader.open(src);
  const out = path.join(dir, 'copy.safetensors');
  const w = new SafetensorsWriter(out, r.names().map((n) => ({ ...r.source(n) })), r.metadata);
  for (const t of w.order) w.writeTensor(t.name, readChunks(r.source(t.name), 4096));
  w.close();
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(src)), 'bytes differ from the Python-written file');
});

test('readChunks: chunks bounded and aligned to whole elements; writer enforces order and sizes', () => {
  const p = path.join(dir, 'chunks.safetensors');
  const w = new SafetensorsWriter(p, [{ name: 'h', dtype: 'F16', shape: [11] }]);
  throwsEngine(() => w.write('x', new Uint8Array(2)), "expected data for 'h'");
  throwsEngine(() => w.write('h', new Uint8Array(23)), 'more than its 22 bytes');
  w.write('h', bytesFor(22, 1));
  w.close();
  const s = SafetensorsReader.open(p).source('h');
  const sizes = [...readChunks(s, 7)].map((c) => c.length);
  assert.equal(sizes, [6, 6, 6, 4]);
  const w2 = new SafetensorsWriter(path.join(dir, 'short.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2] }]);
  w2.write('a', new Uint8Array(4));
  throwsEngine(() => w2.close(), "before tensor 'a' was written");
  assert.not.ok(fs.existsSync(path.join(dir, 'short.safetensors')) || fs.existsSync(path.join(dir, 'short.safetensors.partial')));
});

test('F8 tensors are recognised in headers and refused when read', () => {
  const p = rawFile(dir, 'f8.safetensors', { q: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4);
  const s = SafetensorsReader.open(p).source('q');
  assert.is(s.dtype, 'F8_E4M3');
  throwsEngine(() => readAll(s), p, "'q'", 'F8_E4M3', 'not support');
});

test('sharded component folder (index.json) reads as one store, bad indexes fail clearly', () => {
  const comp = path.join(dir, 'sharded');
  fs.mkdirSync(comp);
  fs.copyFileSync(path.join(FIX, 'sd21-turbo-tiny', 'vae', 'config.json'), path.join(comp, 'config.json'));
  const whole = SafetensorsReader.open(path.join(FIX, 'sd21-turbo-tiny', 'vae', 'diffusion_pytorch_model.safetensors'));
  const names = whole.names();
  const shards = [names.filter((n) => n.startsWith('decoder')), names.filter((n) => !n.startsWith('decoder'))];
  const map: Record<string, string> = {};
  shards.forEach((ns, i) => {
    const f = `diffusion_pytorch_model-0000${i + 1}-of-00002.safetensors`;
    const w = new SafetensorsWriter(path.join(comp, f), ns.map((n) => whole.source(n)));
    for (const t of w.order) w.writeTensor(t.name, readChunks(whole.source(t.name)));
    w.close();
    for (const n of ns) map[n] = f;
  });
  const idx = path.join(comp, 'diffusion_pytorch_model.safetensors.index.json');
  fs.writeFileSync(idx, JSON.stringify({ metadata: { total_size: 1 }, weight_map: map }));
  const c = openComponent(comp);
  assert.is(c.files.length, 2);
  assert.equal(c.store.names().sort(), [...names].sort());
  assert.equal(Array.from(readAll(c.store.source('decoder.conv_in.weight'))), Array.from(readAll(whole.source('decoder.conv_in.weight'))));
  fs.writeFileSync(idx, JSON.stringify({ weight_map: { ...map, 'decoder.conv_in.weight': '../x.safetensors' } }));
  throwsEngine(() => openComponent(comp), 'index.json', 'decoder.conv_in.weight', 'same folder');
  fs.writeFileSync(idx, JSON.stringify({ weight_map: { ...map, 'decoder.conv_in.weight': map['encoder.conv_in.weight'] } }));
  throwsEngine(() => openComponent(comp), 'index.json', 'decoder.conv_in.weight', 'does not contain it');
  fs.writeFileSync(idx, JSON.stringify({ weights: {} }));
  throwsEngine(() => openComponent(comp), 'index.json', 'weight_map');
});

test.run();
