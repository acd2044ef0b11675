// The FLUX pipeline end to end against the real FluxPipeline's goldens
// (../shared/fixtures/flux-schnell-tiny.case): loadPipeline on the folder, the case's prompts,
// negatives and packed unit `latents`, every recorded mode (1, 2, 4 steps; NASA 0.5 at 1 and
// 4 steps), final packed latents and images in f32 and f16 within the case's tolerances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FluxPipeline, loadPipeline } from '../../src/pipeline/index.ts';
import { expectClose, get, note } from '../models/fixtures.ts';
import { c, folder, maxSequenceLength, MODES, negatives, prompts } from './flux_case.ts';

for (const dtype of ['f32', 'f16'] as const) {
  test(`FluxPipeline matches diffusers (${dtype}): none 1/2/4 steps, NASA 0.5 at 1 and 4 steps`, async () => {
    const pipe = loadPipeline(folder, { dtype }) as FluxPipeline;
    assert.ok(pipe instanceof FluxPipeline);
    pipe.text.t5Tokenizer.onWarning = () => {}; // prompt 1 is cut at 32 T5 tokens, as in the goldens
    try {
      const errs: string[] = [];
      for (const [mode, o] of Object.entries(MODES)) {
        const r = await pipe.generate({
          prompts, negatives: o.guidance!.mode === 'none' ? null : negatives, latents: get(c, 'latents'),
          maxSequenceLength, ...o,
        });
        const el = expectClose(c, `latents.${mode}`, r.latents, `latents.${mode}`, dtype);
        const ei = expectClose(c, `image.${mode}`, r.image, `image.${mode}`, dtype);
        errs.push(`${mode} latents ${el.toExponential(2)} image ${ei.toExponential(2)}`);
      }
      note(`flux pipeline ${dtype}: ${errs.join('; ')}`);
    } finally {
      pipe.destroy();
    }
  });
}

test('NASA with alpha 0 gives exactly the unguided image', async () => {
  const pipe = loadPipeline(folder, { dtype: 'f32' });
  try {
    const base = { prompts: [prompts[0]], width: 32, height: 32, seed: 5, maxSequenceLength: 16 };
    const none = await pipe.generate({ ...base, guidance: { mode: 'none' } });
    const zero = await pipe.generate({ ...base, negatives: [negatives[0]], guidance: { mode: 'nasa', alpha: 0 } });
    assert.equal([...zero.image.data], [...none.image.data]);
    const nasa = await pipe.generate({ ...base, negatives: [negatives[0]], guidance: { mode: 'nasa', alpha: 1 } });
    assert.not.equal([...nasa.image.data], [...none.image.data], 'NASA changes the image');
    for (const mode of ['nag', 'vsf', 'cfg'] as const) {
      const r = await pipe.generate({ ...base, negatives: [negatives[0]], guidance: { mode } });
      assert.ok([...r.image.data].every(Number.isFinite), `${mode}: finite image`);
      assert.not.equal([...r.image.data], [...none.image.data], `${mode} changes the image`);
    }
  } finally {
    pipe.destroy();
  }
});

test.run();
