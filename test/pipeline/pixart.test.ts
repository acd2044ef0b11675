// The PixArt-α pipeline end to end on a tiny PixArtAlphaPipeline folder assembled from the
// fixtures (T5 and transformer of `pixart`, the `vae` case, the real T5 tokenizer; the T5
// embedding padded to the real 32128-token vocabulary): every guidance mode runs, NASA
// alpha 0 equals no guidance exactly, and learned sigma is cut to the latent channels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipeline, type ImagePipeline } from '../../src/pipeline/index.ts';
import { FIX } from '../models/fixtures.ts';
import { rewriteF32 } from '../util/folders.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixart-pipe-'));
let pipe: ImagePipeline;

function assemble(): void {
  const put = (sub: string, files: Record<string, string>) => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    for (const [to, from] of Object.entries(files)) fs.copyFileSync(from, path.join(dir, sub, to));
  };
  fs.writeFileSync(path.join(dir, 'model_index.json'), JSON.stringify({
    _class_name: 'PixArtAlphaPipeline', scheduler: ['diffusers', 'DDPMScheduler'], text_encoder: ['transformers', 'T5EncoderModel'],
    tokenizer: ['transformers', 'T5Tokenizer'], transformer: ['diffusers', 'PixArtTransformer2DModel'], vae: ['diffusers', 'AutoencoderKL'],
  }));
  fs.mkdirSync(path.join(dir, 'scheduler'));
  fs.writeFileSync(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({
    _class_name: 'DDPMScheduler', num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear',
    prediction_type: 'epsilon', timestep_spacing: 'trailing', clip_sample: false,
  }));
  const t5 = path.join(FIX, 't5-tokenizer');
  put('tokenizer', Object.fromEntries(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].map((f) => [f, path.join(t5, f)])));
  put('transformer', { 'config.json': path.join(FIX, 'pixart/transformer/config.json'), 'diffusion_pytorch_model.safetensors': path.join(FIX, 'pixart/transformer/model.safetensors') });
  put('vae', { 'config.json': path.join(FIX, 'vae/config.json'), 'diffusion_pytorch_model.safetensors': path.join(FIX, 'vae/model.safetensors') });
  // Text encoder: the fixture's, with its 1000-row embedding padded to the real vocabulary.
  const cfg = JSON.parse(fs.readFileSync(path.join(FIX, 'pixart/text_encoder/config.json'), 'utf8'));
  const V = 32128;
  fs.mkdirSync(path.join(dir, 'text_encoder'));
  fs.writeFileSync(path.join(dir, 'text_encoder', 'config.json'), JSON.stringify({ ...cfg, vocab_size: V }));
  rewriteF32(path.join(FIX, 'pixart/text_encoder/model.safetensors'), path.join(dir, 'text_encoder', 'model.safetensors'), { 'shared.weight': [V, cfg.d_model] });
}

test.before(() => {
  assemble();
  pipe = loadPipeline(dir, { dtype: 'f32' });
});
test.after(() => {
  pipe?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every guidance mode renders finite images of the model size', async () => {
  assert.is(pipe.family, 'pixart');
  for (const mode of ['none', 'nasa', 'cfg', 'nag', 'vsf'] as const) {
    const r = await pipe.generate({ prompts: ['A Red Fox in the snow', 'a boat'], negatives: ['blurry', ''], guidance: { mode }, seed: 1 });
    assert.equal(r.image.shape, [2, 3, 16, 16], mode);
    assert.equal(r.latents.shape, [2, 4, 8, 8], mode);
    assert.ok(r.image.data.every(Number.isFinite), `${mode}: finite`);
    if (mode === 'nasa') assert.equal(r.guidance, { mode: 'nasa', alpha: 0.5 }, 'PixArt default alpha');
  }
});

test('NASA alpha 0 equals no guidance exactly; alpha 0.5 differs', async () => {
  const o = { prompts: ['a cabin'], seed: 4 };
  const none = await pipe.generate({ ...o, guidance: { mode: 'none' } });
  const zero = await pipe.generate({ ...o, negatives: ['snow'], guidance: { mode: 'nasa', alpha: 0 } });
  const half = await pipe.generate({ ...o, negatives: ['snow'], guidance: { mode: 'nasa', alpha: 0.5 } });
  assert.equal([...zero.latents.data], [...none.latents.data]);
  assert.not.equal([...half.latents.data], [...none.latents.data]);
});

test.run();
