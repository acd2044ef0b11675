// Streaming: reading (and converting) a file 64x larger than the chunk size keeps JS
// memory bounded by the chunk, not the file. Memory is sampled after every chunk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writePlans } from '../../src/io/convert.ts';
import { SafetensorsReader, SafetensorsWriter, readChunks } from '../../src/io/safetensors.ts';
import { scratch } from './helpers.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MB = 1 << 20;
const FILE_MB = 64;
const dir = scratch('stream');
const file = path.join(dir, 'big.safetensors');

function mem() {
  const m = process.memoryUsage();
  return { ab: m.arrayBuffers, rss: m.rss };
}

test('setup: stream-write a 64 MB f32 file in 1 MB chunks', () => {
  const rows = (FILE_MB * MB) / 4 / 1024;
  const w = new SafetensorsWriter(file, [{ name: 'big', dtype: 'F32', shape: [rows, 1024] }, { name: 'small', dtype: 'F32', shape: [4] }]);
  const chunk = new Float32Array(MB / 4).map((_, i) => (i % 1000) - 500);
  for (let i = 0; i < FILE_MB; i++) w.write('big', new Uint8Array(chunk.buffer));
  w.write('small', new Uint8Array(16));
  w.close();
  assert.ok(fs.statSync(file).size > FILE_MB * MB);
});

function peakGrowth(run: (sample: () => void) => void) {
  gc();
  const base = mem();
  let peakAb = 0, peakRss = 0;
  run(() => {
    const m = mem();
    peakAb = Math.max(peakAb, m.ab - base.ab);
    peakRss = Math.max(peakRss, m.rss - base.rss);
  });
  return { peakAb, peakRss };
}

test('readChunks over a 64 MB tensor with 1 MB chunks: memory grows by about one chunk', () => {
  const src = SafetensorsReader.open(file).source('big');
  let sum = 0, n = 0;
  const g = peakGrowth((sample) => {
    for (const c of readChunks(src, MB)) {
      sum += c[0] + c[c.length - 1];
      n += c.length;
      sample();
    }
  });
  assert.is(n, FILE_MB * MB, 'read every byte');
  assert.ok(sum > 0);
  console.log(`  read ${FILE_MB} MB in 1 MB chunks: peak ArrayBuffer growth ${(g.peakAb / MB).toFixed(2)} MB, peak RSS growth ${(g.peakRss / MB).toFixed(2)} MB`);
  assert.ok(g.peakAb < 4 * MB, `ArrayBuffer memory grew by ${g.peakAb} bytes (limit 4 MB)`);
  assert.ok(g.peakRss < 24 * MB, `RSS grew by ${g.peakRss} bytes (limit 24 MB, file is ${FILE_MB} MB)`);
});

test('converting it to f16 with 1 MB chunks stays bounded too', () => {
  const r = SafetensorsReader.open(file);
  const out = path.join(dir, 'big.f16.safetensors');
  const plan = { path: out, metadata: {}, tensors: r.names().map((n) => ({ ...r.source(n), parts: [r.source(n)] })) };
  const g = peakGrowth((sample) => {
    writePlans([plan], { dtype: 'F16', chunkBytes: MB, onProgress: sample });
  });
  console.log(`  f32->f16 of ${FILE_MB} MB: peak ArrayBuffer growth ${(g.peakAb / MB).toFixed(2)} MB, peak RSS growth ${(g.peakRss / MB).toFixed(2)} MB`);
  assert.is(SafetensorsReader.open(out).source('big').byteLength, (FILE_MB * MB) / 2);
  assert.ok(g.peakAb < 6 * MB, `ArrayBuffer memory grew by ${g.peakAb} bytes (limit 6 MB)`);
  assert.ok(g.peakRss < 32 * MB, `RSS grew by ${g.peakRss} bytes (limit 32 MB)`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
