// The text-to-image pipeline against the real StableDiffusionPipeline's goldens
// (../shared/fixtures/sd21-turbo-tiny.case): the case's prompts, negatives and unit
// `latents`, every recorded mode (none / NASA / CFG at 1 step, none / NASA at 2 and 4).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'node:path';
import { TextToImagePipeline, type GenerateOptions } from '../../src/pipeline/pipeline.ts';
import { EngineError } from '../../src/errors.ts';
import { expectClose, get, loadCase, note } from '../models/fixtures.ts';

const c = loadCase('sd21-turbo-tiny.case');
const folder = path.resolve(c.dir, c.json.model_folder);
const prompts: string[] = c.json.prompts;
const negatives: string[] = c.json.negative_prompts;
let pipe: TextToImagePipeline;

test.before(() => {
  pipe = TextToImagePipeline.load(folder, { dtype: 'f32' });
});
test.after(() => pipe.destroy());

const modes: Record<string, Partial<GenerateOptions>> = {
  none: { guidance: { mode: 'none' } },
  nasa_a0p2: { guidance: { mode: 'nasa', alpha: 0.2 } },
  nasa_a1: { guidance: { mode: 'nasa', alpha: 1 } },
  cfg_g1p5: { guidance: { mode: 'cfg', scale: 1.5 } },
  none_steps2: { guidance: { mode: 'none' }, steps: 2 },
  nasa_a0p2_steps2: { guidance: { mode: 'nasa', alpha: 0.2 }, steps: 2 },
  none_steps4: { guidance: { mode: 'none' }, steps: 4 },
  nasa_a0p2_steps4: { guidance: { mode: 'nasa', alpha: 0.2 }, steps: 4 },
};

for (const [mode, o] of Object.entries(modes)) {
  test(`generate matches diffusers: ${mode}`, async () => {
    const r = await pipe.generate({ prompts, negatives: o.guidance!.mode === 'none' ? null : negatives, latents: get(c, 'latents'), ...o });
    const dl = expectClose(c, `latents.${mode}`, r.latents, `latents.${mode}`, 'f32');
    const di = expectClose(c, `image.${mode}`, r.image, `image.${mode}`, 'f32');
    note(`generate ${mode} f32: max |diff| latents ${dl.toExponential(2)}, image ${di.toExponential(2)}`);
  });
}

test('NASA with alpha 0 equals no guidance exactly', async () => {
  const base = { prompts: prompts.slice(0, 2), latents: { shape: [2, 4, 8, 8], data: get(c, 'latents').data.slice(0, 512) as Float32Array } };
  const none = await pipe.generate({ ...base, guidance: { mode: 'none' } });
  const zero = await pipe.generate({ ...base, negatives: negatives.slice(0, 2), guidance: { mode: 'nasa', alpha: 0 } });
  assert.equal([...zero.image.data], [...none.image.data]);
});

test('a negative prompt alone switches NASA on with the family default alpha', async () => {
  const r = await pipe.generate({ prompts: [prompts[0]], negatives: ['dog'], seed: 3, noise: 'numpy' });
  assert.equal(r.guidance, { mode: 'nasa', alpha: 0.2 });
  const e = await pipe.generate({ prompts: [prompts[0]], negatives: [''], seed: 3, noise: 'numpy' });
  assert.equal(e.guidance, { mode: 'none' }, 'an empty negative without --guidance is no negative');
});

test('a single-file checkpoint (configs from --config) generates exactly what its diffusers folder does', async () => {
  const single = TextToImagePipeline.load(path.resolve(c.dir, '../sd21-turbo-tiny.single.safetensors'), { config: folder });
  try {
    const o = { prompts: prompts.slice(0, 2), negatives: negatives.slice(0, 2), seed: 3 };
    const a = await single.generate(o), b = await pipe.generate(o);
    assert.equal([...a.image.data], [...b.image.data]);
  } finally {
    single.destroy();
  }
});

test('bad options fail with a clear message', async () => {
  const bad: [Partial<GenerateOptions>, RegExp][] = [
    [{ guidance: { mode: 'nasa', alpha: -0.1 }, negatives: ['x'] }, /alpha must be a finite number >= 0/],
    [{ guidance: { mode: 'nasa' } }, /needs a negative prompt/],
    [{ width: 60 }, /--width 60 is not divisible by \d+ \(VAE factor/],
    [{ latents: { shape: [1, 3, 8, 8], data: new Float32Array(192) } }, /--latents.*expected \[1,4,8,8\]/],
    [{ guidance: { mode: 'nag', tau: 0 }, negatives: ['x'] }, /--tau/],
  ];
  for (const [o, re] of bad) {
    // The failure is caught apart from the assertion, so a generate() that succeeds cannot
    // pass by its own assertion message matching `re`.
    const err = await pipe.generate({ prompts: ['a'], ...o }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof EngineError, `${JSON.stringify(o)}: expected an EngineError matching ${re}, got ${err === null ? 'success' : String(err)}`);
    assert.match((err as Error).message, re);
  }
});

test.run();
