// dtype conversion: f32 -> f16 checked bit for bit against @petamoriken/float16 (an
// independent implementation) on edge cases and random bit patterns; f16/bf16 -> f32
// exactness; overflow counting and positions; and the fixture's fp16 variant files,
// which torch wrote, reproduced exactly from the f32 files.
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'node:path';
import { DTypeConverter, f16ToF32Table, f32BitsToBF16, f32BitsToF16, toFloat32, unravel } from '../../src/io/dtype.ts';
import { FileStore } from '../../src/io/store.ts';
import { readAll } from '../../src/io/safetensors.ts';
import { TINY } from './helpers.ts';

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const dv = new DataView(new ArrayBuffer(2));
function refF16(bits: number): number {
  u32[0] = bits;
  setFloat16(dv, 0, f32[0], true);
  return dv.getUint16(0, true);
}

test('f32 -> f16 matches the reference on edge cases (round to nearest even, subnormals, overflow)', () => {
  const cases = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e10, 6.1e-5, 5.96e-8, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26,
    1 + 2 ** -11, 1 + 3 * 2 ** -11, 2049, 2051, Infinity, -Infinity, 1 / 3, Math.PI, 2 ** -14 - 2 ** -25];
  for (const x of cases) {
    const b = bitsOf(x);
    assert.is(f32BitsToF16(b), refF16(b), `f16(${x})`);
  }
  const nan = f32BitsToF16(bitsOf(NaN));
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
});

test('f32 -> f16 matches the reference on 300k random bit patterns', () => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed);
  for (let i = 0; i < 300_000; i++) {
    // bias the exponent towards the f16 range so rounding paths are exercised
    const b = i % 2 ? rnd() : ((rnd() & 0x807fffff) | (((rnd() % 40) + 97) << 23)) >>> 0;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff)) continue; // NaN payloads differ by design
    const got = f32BitsToF16(b), want = refF16(b);
    if (got !== want) assert.unreachable(`bits 0x${b.toString(16)}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
  }
});

test('f16 -> f32 table is exact for all 65536 patterns', () => {
  const t = f16ToF32Table();
  for (let h = 0; h < 65536; h++) {
    dv.setUint16(0, h, true);
    const want = getFloat16(dv, 0, true);
    u32[0] = t[h];
    if (!(Object.is(f32[0], want) || (Number.isNaN(want) && Number.isNaN(f32[0])))) assert.unreachable(`f16 0x${h.toString(16)}: got ${f32[0]}, want ${want}`);
  }
});

test('f32 -> bf16 rounds to nearest even and keeps NaN', () => {
  assert.is(f32BitsToBF16(0x3f808000), 0x3f80, 'tie to even (down)');
  assert.is(f32BitsToBF16(0x3f818000), 0x3f82, 'tie to even (up)');
  assert.is(f32BitsToBF16(0x3f808001), 0x3f81, 'above half rounds up');
  assert.is(f32BitsToBF16(0x7f7fffff), 0x7f80, 'max f32 overflows to inf');
  assert.is(f32BitsToBF16(0x7fc00001) & 0x7fc0, 0x7fc0, 'NaN');
});

test('converter counts f16 overflows with positions and max |x|, per chunk', () => {
  const vals = new Float32Array([1, 7e4, -3, 65504, -1e6, 2, Infinity, 65520]);
  const c = new DTypeConverter('F32', 'F16', 'w', [2, 4]);
  const bytes = new Uint8Array(vals.buffer);
  const out = [c.convert(bytes.subarray(0, 12)).slice(), c.convert(bytes.subarray(12)).slice()];
  assert.is(c.overflow.count, 3, 'inf input is not an overflow; 65504 fits; 65520 rounds to inf');
  assert.equal(c.overflow.first, [[0, 1], [1, 0], [1, 3]]);
  assert.is(c.overflow.maxAbs, 1e6);
  const all = new Uint8Array(16);
  all.set(out[0]);
  all.set(out[1], out[0].length);
  const h = new Uint16Array(all.buffer);
  assert.is(h[3], 0x7bff, '65504 is max f16');
  assert.is(h[1], 0x7c00);
  assert.equal(unravel(7, [2, 4]), [1, 3]);
});

test('bf16 <-> f16 <-> f32 round trips through the converter', () => {
  const vals = new Float32Array([0.5, -2.25, 1024, 3.140625]); // exact in f16 and bf16
  for (const [a, b] of [['F32', 'BF16'], ['F32', 'F16']] as const) {
    const down = new DTypeConverter(a, b, 'x', [4]).convert(new Uint8Array(vals.buffer)).slice();
    const up = new DTypeConverter(b, 'F32', 'x', [4]).convert(down).slice();
    assert.equal(Array.from(new Float32Array(up.buffer)), Array.from(vals), `${a}->${b}->F32`);
  }
});

test("fixture fp16 variant files (torch's .half()) are reproduced bit for bit", () => {
  for (const [comp, base] of [['unet', 'diffusion_pytorch_model'], ['vae', 'diffusion_pytorch_model'], ['text_encoder', 'model']]) {
    const f32s = new FileStore(path.join(TINY, comp, `${base}.safetensors`));
    const f16s = new FileStore(path.join(TINY, comp, `${base}.fp16.safetensors`));
    for (const n of f32s.names()) {
      const src = f32s.source(n);
      const got = new DTypeConverter('F32', 'F16', n, src.shape).convert(readAll(src));
      const want = readAll(f16s.source(n));
      const i = got.findIndex((v, k) => v !== want[k]);
      assert.ok(i < 0, `${comp} '${n}': byte ${i} differs`);
    }
    const s = f16s.source(f16s.names()[0]);
    assert.is(toFloat32(s).length, s.shape.reduce((a, b) => a * b, 1));
  }
});

test.run();
