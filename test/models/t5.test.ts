// T5EncoderModel against the transformers goldens of the pixart case (positive and negative
// prompt, padded with their attention masks), f32 and f16, under the case's tolerance rule;
// the relative position buckets exactly; block-group streaming (weights on the device one
// group at a time) equal to the resident run; the f16 overflow fallback; bad inputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getDevice } from '../../src/gpu/device.ts';
import { convert } from '../../src/io/convert.ts';
import { residentWeightBytes } from '../../src/graph/weights.ts';
import { readAll, SafetensorsReader, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { groupBlocks } from '../../src/models/api/t5.ts';
import { T5Encoder, type HostTensor } from '../../src/models/index.ts';
import { relativePositionBucket } from '../../src/models/t5.ts';
import { assertClose } from '../util/compare.ts';
import { expectClose, expectDebug, get, loadCase, note, rejects } from './fixtures.ts';

const c = loadCase('pixart');
const DIR = path.join(c.dir, 'text_encoder');
const pos = { input_ids: get(c, 'input_ids'), attention_mask: get(c, 'attention_mask') };
const neg = { input_ids: get(c, 'negative_input_ids'), attention_mask: get(c, 'negative_attention_mask') };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-t5-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('relative position buckets equal transformers (exact), incl. the log-spaced ones', () => {
  const got = relativePositionBucket(20, 20, 32, 128);
  assert.equal(Array.from(got), Array.from(get(c, 'debug.t5_relative_position_bucket').data));
  // Long range: |rel| >= max_distance all share the last bucket of their direction.
  const far = relativePositionBucket(1, 300, 32, 128);
  assert.is(far[299], 31);
  assert.is(far[200], 31);
  assert.is(relativePositionBucket(300, 1, 32, 128)[299], 15);
});

for (const dtype of ['f32', 'f16'] as const) {
  test(`T5EncoderModel ${dtype}: prompt and negative prompt (padded), hidden states`, async () => {
    const enc = T5Encoder.load(DIR, { dtype });
    try {
      assert.ok(enc.resident, 'the tiny encoder stays on the device as one graph');
      const out = await enc.forward(pos, { debug: true });
      const seen = expectDebug(c, out, 'debug.t5_', dtype);
      assert.equal(seen, ['debug.t5_hidden_states.0', 'debug.t5_hidden_states.1', 'debug.t5_hidden_states.2']);
      const e1 = expectClose(c, 'last_hidden_state', out.last_hidden_state, 't5_last_hidden_state', dtype);
      const e2 = expectClose(c, 'negative', (await enc.forward(neg)).last_hidden_state, 't5_negative_last_hidden_state', dtype);
      // Both prompts as one batch of 2: each row as alone.
      const both = await enc.forward({
        input_ids: { shape: [2, 20], data: Int32Array.from([...pos.input_ids.data, ...neg.input_ids.data]) },
        attention_mask: { shape: [2, 20], data: Int32Array.from([...pos.attention_mask.data, ...neg.attention_mask.data]) },
      });
      const half = both.last_hidden_state.data.length / 2;
      expectClose(c, 'batch row 0', { shape: [1, 20, 32], data: both.last_hidden_state.data.slice(0, half) }, 't5_last_hidden_state', dtype);
      expectClose(c, 'batch row 1', { shape: [1, 20, 32], data: both.last_hidden_state.data.slice(half) }, 't5_negative_last_hidden_state', dtype);
      note(`t5 ${dtype}: max |diff| last_hidden_state ${e1.toExponential(1)}, negative ${e2.toExponential(1)}`);
    } finally {
      enc.destroy();
    }
  });
}

test('T5 block groups: one block per graph, weights released after each, same result as resident', async () => {
  const dev = await getDevice();
  const streamed = T5Encoder.load(DIR, { residentBytes: 0, groupBytes: 1 });
  const resident = T5Encoder.load(DIR);
  try {
    assert.equal(streamed.groups, [[0, 1], [1, 2]]);
    assert.not.ok(streamed.resident);
    const before = residentWeightBytes(dev);
    const b = await streamed.forward(pos, { debug: true });
    assert.is(residentWeightBytes(dev), before, 'a streamed run leaves no weights on the device');
    const a = await resident.forward(pos);
    assertClose('streamed vs resident', b.last_hidden_state.data, a.last_hidden_state.data, 1e-6, 1e-6);
    expectDebug(c, b, 'debug.t5_', 'f32');
    const s = streamed.lastRun!;
    const block = streamed.model.encoder.block[1].weightBytes(4);
    // The bias table of block 0 is read on the host; the last group also holds the final norm.
    assert.is(s.peakWeightBytes, block + 4 * 32, 'peak = one block + the final norm');
    assert.is(resident.lastRun!.peakWeightBytes, 2 * block + 4 * 32, 'resident: both blocks + the final norm');
  } finally {
    resident.destroy();
    streamed.destroy();
  }
});

test('T5 from an f16 weights file (fp16 variant): embedding rows read as F16 on the host', async () => {
  const dir = path.join(tmp, 'fp16');
  convert(DIR, dir, { dtype: 'F16', outVariant: 'fp16' });
  for (const dtype of ['f32', 'f16'] as const) {
    const enc = T5Encoder.load(dir, { dtype, variant: 'fp16' });
    try {
      expectClose(c, `fp16 weights, ${dtype} compute`, (await enc.forward(pos)).last_hidden_state, 't5_last_hidden_state', 'f16');
    } finally {
      enc.destroy();
    }
  }
});

test('groupBlocks packs consecutive blocks within the budget (one at least)', () => {
  assert.equal(groupBlocks([4, 4, 4, 4, 4], 8), [[0, 2], [2, 4], [4, 5]]);
  assert.equal(groupBlocks([10, 1, 1], 4), [[0, 1], [1, 3]]);
  assert.equal(groupBlocks([3], 1), [[0, 1]]);
});

/** The fixture encoder with block 0's `wo` scaled: its output leaves the f16 range. */
function overflowingFolder(): string {
  const dir = path.join(tmp, 'overflow');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(DIR, 'config.json'), path.join(dir, 'config.json'));
  const r = SafetensorsReader.open(path.join(DIR, 'model.safetensors'));
  const decls = r.names().map((name) => ({ name, dtype: r.source(name).dtype, shape: r.source(name).shape }));
  const w = new SafetensorsWriter(path.join(dir, 'model.safetensors'), decls);
  for (const d of w.order) {
    const bytes = readAll(r.source(d.name)).slice();
    if (d.name === 'encoder.block.0.layer.1.DenseReluDense.wo.weight') {
      const f = new Float32Array(bytes.buffer);
      for (let i = 0; i < f.length; i++) f[i] *= 3e5;
    }
    w.writeTensor(d.name, [bytes]);
  }
  w.close();
  return dir;
}

test('T5 f16: blocks that overflow f16 are re-run in f32, with a note; the output matches f32', async () => {
  const dir = overflowingFolder();
  const ref = T5Encoder.load(dir);
  const enc = T5Encoder.load(dir, { dtype: 'f16', residentBytes: 0, groupBytes: 1 });
  const notes: string[] = [];
  enc.warn = (m) => notes.push(m);
  try {
    const want = (await ref.forward(pos)).last_hidden_state;
    const h1 = Math.max(...(await ref.forward(pos, { debug: true }))['debug.hidden_states.1'].data.map(Math.abs));
    assert.ok(h1 > 65504, `the scaled block must leave the f16 range (max |h| ${h1})`);
    const got = (await enc.forward(pos)).last_hidden_state;
    assert.equal(enc.lastRun!.f32Groups, [0, 1]);
    assert.match(notes[0], /t5: blocks 0\.\.0 overflowed f16/);
    assert.match(notes[1], /t5: the input of blocks 1\.\.1 exceeds the f16 range; running it in f32/);
    assertClose('f16 with f32 fallback', got.data, want.data, 1e-4, 1e-3);
    notes.length = 0;
    await enc.forward(pos); // remembered: straight to f32, no new notes for group 0
    assert.equal(enc.lastRun!.f32Groups, [0, 1]);
    assert.equal(notes.filter((n) => /overflowed/.test(n)), []);
  } finally {
    ref.destroy();
    enc.destroy();
  }
});

test('T5 rejects bad inputs and unsupported configs with one clear line', async () => {
  const enc = T5Encoder.load(DIR);
  const ids = pos.input_ids, m = pos.attention_mask;
  const withValue = (t: HostTensor, i: number, v: number) => {
    const d = Int32Array.from(t.data);
    d[i] = v;
    return { shape: t.shape, data: d };
  };
  try {
    await rejects(() => enc.forward({ attention_mask: m } as any), /T5EncoderModel forward: missing input 'input_ids'; expected inputs: input_ids \[B, S\] int; attention_mask \[B, S\] int \(optional\)/);
    await rejects(() => enc.forward({ input_ids: ids, attention_mask: { shape: [1, 19], data: new Int32Array(19) } }), /input 'attention_mask' has shape \[1, 19\], expected \[B, S\] with B=1, S=20/);
    await rejects(() => enc.forward({ input_ids: { shape: [20], data: Int32Array.from(ids.data) } }), /input 'input_ids' has shape \[20\], expected \[B, S\]/);
    await rejects(() => enc.forward({ input_ids: { shape: ids.shape, data: Float32Array.from(ids.data) } }), /input 'input_ids' must hold integer ids/);
    await rejects(() => enc.forward({ input_ids: withValue(ids, 4, 1000) }), /input_ids\[0, 4\] = 1000 is outside the vocabulary \[0, 1000\)/);
    await rejects(() => enc.forward({ input_ids: ids, attention_mask: withValue(m, 2, 2) }), /attention_mask\[0, 2\] = 2, expected 0 or 1/);
    await rejects(() => enc.forward({ input_ids: ids, attention_mask: { shape: m.shape, data: new Int32Array(20) } }), /attention_mask row 0 is all 0/);
    await rejects(() => enc.forward({ input_ids: ids, attention_mask: m, extra: m } as any), /unexpected input 'extra'/);
  } finally {
    enc.destroy();
  }
  const cfgDir = path.join(tmp, 'relu');
  fs.mkdirSync(cfgDir, { recursive: true });
  fs.copyFileSync(path.join(DIR, 'model.safetensors'), path.join(cfgDir, 'model.safetensors'));
  const cfg = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ ...cfg, feed_forward_proj: 'relu' }));
  await rejects(async () => T5Encoder.load(cfgDir), /config\.json: "feed_forward_proj" = "relu" is not supported \(supported: "gated-gelu"\)/);
  fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ ...cfg, d_ff: 48 }));
  await rejects(async () => T5Encoder.load(cfgDir), /tensor 'encoder\.block\.0\.layer\.1\.DenseReluDense\.wi_0\.weight' in .* has shape \[64, 32\], expected \[48, 32\]/);
});

test.run();
