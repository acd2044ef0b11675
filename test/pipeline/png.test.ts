// PNG writer: decoded back by a small independent reader (chunk walk + CRC check, inflate,
// all five unfilter types), byte-identical output for identical input, text metadata, and
// diffusers' float -> uint8 rounding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inflateSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, encodePng, floatImageToRgb, generationText, writePng, type PngImage } from '../../src/pipeline/png.ts';
import { EngineError } from '../../src/errors.ts';
import { FIXTURES, readFixtureTensors } from '../util/fixture.ts';

interface Decoded { width: number; height: number; rgb: Uint8Array; text: Map<string, string>; chunkTypes: string[]; filters: Set<number> }

function decodePng(bytes: Uint8Array): Decoded {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  sig.forEach((b, i) => assert.is(bytes[i], b, `signature byte ${i}`));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8, width = 0, height = 0;
  const idat: Uint8Array[] = [], text = new Map<string, string>(), chunkTypes: string[] = [];
  while (o < bytes.length) {
    const len = dv.getUint32(o);
    const type = Buffer.from(bytes.subarray(o + 4, o + 8)).toString('latin1');
    const data = bytes.subarray(o + 8, o + 8 + len);
    assert.is(dv.getUint32(o + 8 + len), crc32(bytes.subarray(o + 4, o + 8), data), `CRC of ${type}`);
    chunkTypes.push(type);
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8); height = dv.getUint32(o + 12);
      assert.equal(Array.from(data.subarray(8)), [8, 2, 0, 0, 0], 'IHDR: 8-bit RGB, no interlace');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'tEXt') {
      const z = data.indexOf(0);
      text.set(Buffer.from(data.subarray(0, z)).toString('latin1'), Buffer.from(data.subarray(z + 1)).toString('latin1'));
    } else if (type === 'iTXt') {
      const z = data.indexOf(0);
      assert.equal(Array.from(data.subarray(z + 1, z + 3)), [0, 0], 'iTXt uncompressed');
      let p = data.indexOf(0, z + 3); // language tag
      p = data.indexOf(0, p + 1); // translated keyword
      text.set(Buffer.from(data.subarray(0, z)).toString('latin1'), Buffer.from(data.subarray(p + 1)).toString('utf8'));
    }
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3, rgb = new Uint8Array(height * stride), filters = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    filters.add(f);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= 3 ? rgb[y * stride + i - 3] : 0;
      const b = y > 0 ? rgb[(y - 1) * stride + i] : 0;
      const c = i >= 3 && y > 0 ? rgb[(y - 1) * stride + i - 3] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = Math.floor((a + b) / 2);
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.is(f, 0, 'filter type');
      rgb[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, rgb, text, chunkTypes, filters };
}

function pattern(w: number, h: number, seed: number): PngImage {
  const rgb = new Uint8Array(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    // top half smooth gradients (Sub/Up/Paeth win), bottom half noise (None wins)
    rgb[(y * w + x) * 3 + c] = y < h / 2 ? (x * 4 + y * 2 + c * 50) & 0xff : s >>> 24;
  }
  return { width: w, height: h, rgb };
}

test('round trip: every pixel decodes back exactly, several sizes, several filter types used', () => {
  const used = new Set<number>();
  for (const [w, h] of [[1, 1], [7, 5], [64, 64], [33, 17]]) {
    const img = pattern(w, h, w * 31 + h);
    const d = decodePng(encodePng(img));
    assert.is(d.width, w);
    assert.is(d.height, h);
    assert.equal(Array.from(d.rgb), Array.from(img.rgb), `${w}x${h} pixels`);
    d.filters.forEach((f) => used.add(f));
  }
  assert.ok(used.size >= 3, `expected several filter types in use, got ${[...used]}`);
});

test('identical input gives identical bytes; text goes before IDAT in the given order', () => {
  const img = pattern(40, 24, 5);
  const text = [['prompt', 'a cat'], ['negative_prompt', 'dog'], ['seed', '42']] as const;
  const a = encodePng(img, text), b = encodePng({ ...img, rgb: Uint8Array.from(img.rgb) }, text.map(([k, v]) => [k, v] as const));
  assert.equal(Buffer.compare(Buffer.from(a), Buffer.from(b)), 0);
  const d = decodePng(a);
  assert.equal(d.chunkTypes, ['IHDR', 'tEXt', 'tEXt', 'tEXt', 'IDAT', 'IEND']);
  assert.equal([...d.text], [['prompt', 'a cat'], ['negative_prompt', 'dog'], ['seed', '42']]);
  assert.not.equal(Buffer.compare(Buffer.from(a), Buffer.from(encodePng(img, [['seed', '43']]))), 0);
  const dir = mkdtempSync(join(tmpdir(), 'png-'));
  try {
    writePng(join(dir, 'a.png'), img, text);
    writePng(join(dir, 'b.png'), img, text);
    assert.ok(readFileSync(join(dir, 'a.png')).equals(readFileSync(join(dir, 'b.png'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metadata: Latin-1 in tEXt, other Unicode in iTXt (UTF-8); bad keywords and sizes are errors', () => {
  const img = pattern(3, 2, 1);
  const d = decodePng(encodePng(img, [['prompt', 'café au lait'], ['negative_prompt', 'ロボット, 🚀 blur'], ['alpha', '0.2']]));
  assert.equal(d.chunkTypes, ['IHDR', 'tEXt', 'iTXt', 'tEXt', 'IDAT', 'IEND']);
  assert.is(d.text.get('prompt'), 'café au lait');
  assert.is(d.text.get('negative_prompt'), 'ロボット, 🚀 blur');
  for (const k of ['', 'x'.repeat(80), ' lead', 'a\u0000b', 'ключ']) {
    assert.throws(() => encodePng(img, [[k, 'v']]), (e: unknown) => e instanceof EngineError && /keyword/.test(e.message), `keyword ${JSON.stringify(k)}`);
  }
  assert.throws(() => encodePng({ width: 2, height: 2, rgb: new Uint8Array(11) }), (e: unknown) => e instanceof EngineError && /needs 12 bytes/.test(e.message));
  assert.throws(() => encodePng({ width: 0, height: 2, rgb: new Uint8Array(0) }), (e: unknown) => e instanceof EngineError && /invalid size/.test(e.message));
});

test('generationText: fixed order, absent fields left out, empty negative kept', () => {
  const full = generationText({ prompt: 'a cat', negative: '', guidance: 'nasa', alpha: 0.2, seed: 42, steps: 1, model: 'weights/default', width: 64, height: 64, scheduler: 'EulerDiscreteScheduler', noise: 'torch' });
  assert.equal(full.map(([k]) => k), ['prompt', 'negative_prompt', 'guidance', 'alpha', 'seed', 'steps', 'scheduler', 'noise', 'size', 'model', 'Software']);
  assert.equal(full[1], ['negative_prompt', '']);
  const bare = generationText({ prompt: 'x', guidance: 'none', steps: 4, model: 'm' });
  assert.equal(bare, [['prompt', 'x'], ['guidance', 'none'], ['steps', '4'], ['model', 'm'], ['Software', 'nasa-engine']]);
  const d = decodePng(encodePng(pattern(2, 2, 3), full));
  assert.is(d.text.get('alpha'), '0.2');
  assert.is(d.text.get('negative_prompt'), '');
});

test('float -> RGB: clamp to [0,1], x*255 in float32, round half to even (numpy), NaN -> 0, (B,3,H,W) layout', () => {
  // one image 1x8, channel 0 carries the rounding cases
  const cases = [0.5 / 255, 1.5 / 255, 2.5 / 255, -0.25, 1.75, NaN, 1, 0.2];
  const want = [0, 2, 2, 0, 255, 0, 255, 51];
  const img = new Float32Array(2 * 3 * 8);
  cases.forEach((v, i) => { img[i] = v; });
  for (let i = 0; i < 8; i++) { img[8 + i] = i / 7; img[16 + i] = 0.25; img[24 + i] = 1; } // image 1 starts at 24
  const p = floatImageToRgb(img, [2, 3, 1, 8], 0);
  assert.equal([p.width, p.height], [8, 1]);
  assert.equal(Array.from({ length: 8 }, (_, i) => p.rgb[i * 3]), want);
  assert.equal(Array.from({ length: 8 }, (_, i) => p.rgb[i * 3 + 1]), [0, 36, 73, 109, 146, 182, 219, 255]);
  assert.equal(Array.from({ length: 8 }, (_, i) => p.rgb[i * 3 + 2]), Array(8).fill(64));
  assert.equal(Array.from(floatImageToRgb(img, [2, 3, 1, 8], 1).rgb.subarray(0, 3)), [255, 0, 0]);
  assert.throws(() => floatImageToRgb(img, [2, 4, 1, 6]), (e: unknown) => e instanceof EngineError && /\(B,3,H,W\)/.test(e.message));
  assert.throws(() => floatImageToRgb(img, [2, 3, 1, 8], 2), (e: unknown) => e instanceof EngineError && /index 2/.test(e.message));
});

test("the fixture's decoded images survive float -> PNG -> decode unchanged", () => {
  const t = readFixtureTensors(join(FIXTURES, 'sd21-turbo-tiny.case', 'io.safetensors')).get('image.none')!;
  const f = Float32Array.from(t.data);
  for (let b = 0; b < t.shape[0]; b++) {
    const rgb = floatImageToRgb(f, t.shape, b);
    const d = decodePng(encodePng(rgb, [['prompt', `image ${b}`]]));
    assert.equal(Array.from(d.rgb), Array.from(rgb.rgb), `image ${b}`);
    // spot-check the conversion against the formula on the raw tensor
    const x = f[b * 3 * 64 * 64 + 5];
    const v = Math.fround(Math.min(1, Math.max(0, x)) * 255), r = Math.round(v);
    assert.is(rgb.rgb[15], r - v === 0.5 && r % 2 === 1 ? r - 1 : r, 'pixel 5 red');
  }
});

test.run();
