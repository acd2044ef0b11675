// CLIPModel (vision + text towers, projections, logit_scale) against the transformers
// goldens of the clip-score fixture, f32 and f16, and CLIPImageProcessor's preprocessing:
// image_uint8 -> pixel_values (fixture) and PIL's bicubic resize (resize_golden.json,
// written by tools/make-eval-goldens.py with Pillow); JPEG decoding as PIL's libjpeg does it
// (jpeg_golden.json).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as forward } from '../../src/cli/forward.ts';
import { toFloat32 } from '../../src/io/dtype.ts';
import { writeHostTensors } from '../../src/io/host.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { decodeJpeg } from '../../src/eval/jpeg.ts';
import { defaultProcessor, preprocess, resizeBicubic } from '../../src/eval/preprocess.ts';
import { ClipModel } from '../../src/models/api/clip_model.ts';
import { expectClose, expectDebug, get, loadCase, note, rejects } from '../models/fixtures.ts';

const c = loadCase('clip-score');
const OUTPUTS = ['image_embeds', 'text_embeds', 'logits_per_image', 'logits_per_text'];

test('clip-score: image_uint8 -> pixel_values (CLIPImageProcessor)', () => {
  const u8 = get(c, 'image_uint8'); // [N, 32, 32, 3]
  const [N, H, W] = u8.shape;
  const p = defaultProcessor(c.json.scalars.image_size, 'test');
  const out = new Float32Array(N * 3 * H * W);
  for (let n = 0; n < N; n++) {
    const rgb = Uint8Array.from(u8.data.subarray(n * H * W * 3, (n + 1) * H * W * 3));
    preprocess({ width: W, height: H, rgb }, p, out, n * 3 * H * W, `image ${n}`);
  }
  const err = expectClose(c, 'pixel_values', { shape: [N, 3, H, W], data: out }, 'pixel_values', 'f32');
  note(`clip-score pixel_values: max |diff| ${err}`);
});

test('bicubic resize equals PIL Image.resize(BICUBIC) bit for bit', () => {
  const g = JSON.parse(fs.readFileSync(new URL('./resize_golden.json', import.meta.url), 'utf8'));
  for (const k of g.cases) {
    const got = resizeBicubic({ width: k.width, height: k.height, rgb: Uint8Array.from(k.rgb) }, k.out_width, k.out_height);
    let worst = 0;
    for (let i = 0; i < got.rgb.length; i++) worst = Math.max(worst, Math.abs(got.rgb[i] - k.out_rgb[i]));
    assert.is(worst, 0, `${k.width}x${k.height} -> ${k.out_width}x${k.out_height}: max |diff| ${worst}`);
  }
});

test('JPEG decoding matches PIL (libjpeg fancy upsampling + YCbCr tables) within the IDCT noise', () => {
  const g = JSON.parse(fs.readFileSync(new URL('./jpeg_golden.json', import.meta.url), 'utf8'));
  for (const k of g.cases) {
    const got = decodeJpeg(Buffer.from(k.jpeg_base64, 'base64'), k.name);
    assert.equal([got.width, got.height], [k.width, k.height]);
    let worst = 0, sum = 0;
    for (let i = 0; i < got.rgb.length; i++) {
      const d = Math.abs(got.rgb[i] - k.rgb[i]);
      worst = Math.max(worst, d);
      sum += d;
    }
    const mean = sum / got.rgb.length;
    note(`jpeg ${k.name}: max |diff| ${worst}, mean ${mean.toFixed(3)} levels vs PIL`);
    assert.ok(worst <= 4 && mean < 0.5, `${k.name}: max |diff| ${worst}, mean ${mean.toFixed(3)} levels vs PIL`);
  }
});

for (const dtype of ['f32', 'f16'] as const) {
  test(`clip-score CLIPModel ${dtype}`, async () => {
    const m = ClipModel.load(c.modelDir, { dtype });
    try {
      const out = await m.forward({ pixel_values: get(c, 'pixel_values'), input_ids: get(c, 'input_ids'), attention_mask: get(c, 'attention_mask') }, { debug: true });
      const dbg = expectDebug(c, out, 'debug.', dtype);
      assert.ok(dbg.length >= 8, `compared ${dbg.length} debug tensors`);
      const errs = OUTPUTS.map((n) => `${n} ${expectClose(c, n, out[n], n, dtype).toExponential(1)}`);
      note(`clip-score ${dtype}: max |diff| ${errs.join(', ')}`);
      // each tower alone gives the same embeddings
      const img = await m.forward({ pixel_values: get(c, 'pixel_values') });
      assert.equal(Object.keys(img), ['image_embeds']);
      expectClose(c, 'image_embeds (vision only)', img.image_embeds, 'image_embeds', dtype);
    } finally {
      m.destroy();
    }
  });
}

test('CLIPModel rejects wrong inputs naming them', async () => {
  const m = ClipModel.load(c.modelDir);
  await rejects(() => m.forward({}), /give pixel_values and\/or input_ids/);
  await rejects(() => m.forward({ pixel_values: { shape: [1, 3, 16, 16], data: new Float32Array(768) } }), /'pixel_values' has shape \[1, 3, 16, 16\], expected \[N, 3, 32, 32\]/);
  const ids = get(c, 'input_ids');
  const bad = Int32Array.from(ids.data);
  bad[1] = 1000;
  await rejects(() => m.forward({ input_ids: { shape: ids.shape, data: bad } }), /input_ids\[0, 1\] = 1000 is outside the vocabulary \[0, 1000\)/);
  m.destroy();
});

test('forward command on a CLIPModel folder: pixel_values, input_ids, attention_mask (I64)', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-clipfwd-'));
  try {
    const inp = path.join(tmp, 'in.safetensors'), outFile = path.join(tmp, 'out.safetensors');
    writeHostTensors(inp, { pixel_values: get(c, 'pixel_values'), input_ids: get(c, 'input_ids'), attention_mask: get(c, 'attention_mask') });
    const log = console.log;
    console.log = () => {};
    try {
      await forward([c.modelDir, '--inputs', inp, '--out', outFile]);
    } finally {
      console.log = log;
    }
    const r = SafetensorsReader.open(outFile);
    assert.equal(r.names().sort(), ['image_embeds', 'logits_per_image', 'logits_per_text', 'text_embeds']);
    for (const n of r.names()) expectClose(c, n, { shape: [...r.source(n).shape], data: Float32Array.from(toFloat32(r.source(n))) }, n, 'f32');
    r.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
