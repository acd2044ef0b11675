// CLIPTextModel / CLIPTextModelWithProjection against the transformers goldens
// (clip-text-quickgelu: SD1.x, clip-text-gelu: SD2.x batch 2, clip-text-projection: SDXL
// encoder 2), f32 and f16, under each case's tolerance rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClipTextEncoder } from '../../src/models/index.ts';
import { expectClose, get, loadCase, note, rejects } from './fixtures.ts';

const CASES = ['clip-text-quickgelu', 'clip-text-gelu', 'clip-text-projection'];

for (const name of CASES) {
  const c = loadCase(name);
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${name} ${dtype}`, async () => {
      const enc = ClipTextEncoder.load(c.modelDir, { dtype });
      try {
        const out = await enc.forward({ input_ids: get(c, 'input_ids') });
        assert.equal(Array.from(out.pooled_index.data), Array.from(get(c, 'pooled_index').data), 'pooled_index');
        const names = Object.keys(c.json.outputs).filter((n) => n !== 'pooled_index');
        assert.equal(Object.keys(out).filter((n) => n !== 'pooled_index').sort(), [...names].sort(), 'output names');
        const errs = names.map((n) => `${n} ${expectClose(c, n, out[n], n, dtype).toExponential(1)}`);
        note(`${name} ${dtype}: max |diff| ${errs.join(', ')}`);
      } finally {
        enc.destroy();
      }
    });
  }
}

test('CLIP rejects ids outside the vocabulary and over-long inputs', async () => {
  const c = loadCase('clip-text-quickgelu');
  const enc = ClipTextEncoder.load(c.modelDir);
  const ids = get(c, 'input_ids');
  const bad = { shape: ids.shape, data: Int32Array.from(ids.data) };
  bad.data[3] = 5000;
  await rejects(() => enc.forward({ input_ids: bad }), /input_ids\[0, 3\] = 5000 is outside the vocabulary \[0, 1000\)/);
  const long = { shape: [1, 78], data: new Int32Array(78) };
  await rejects(() => enc.forward({ input_ids: long }), /78 tokens, more than max_position_embeddings 77/);
  const floats = { shape: ids.shape, data: Float32Array.from(ids.data) };
  await rejects(() => enc.forward({ input_ids: floats }), /input 'input_ids' must hold integer ids; expected inputs: input_ids \[B, S\] int/);
  enc.destroy();
});

test.run();
