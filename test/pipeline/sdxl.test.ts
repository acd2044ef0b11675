// The SDXL path of the SD pipeline on a tiny StableDiffusionXLPipeline folder assembled
// from the fixtures: two CLIP encoders (penultimate states concatenated, the second's
// projected pooled output as text_embeds), the `unet-sdxl` UNet with text_time
// conditioning, the `vae` case. Embeddings padded to the real CLIP vocabulary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPipeline, type ImagePipeline } from '../../src/pipeline/index.ts';
import { FIX } from '../models/fixtures.ts';
import { copyInto, rewriteF32, writeJson } from '../util/folders.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdxl-pipe-'));
const V = 49408;
let pipe: ImagePipeline;

function encoder(sub: string, fixture: string, extra: Record<string, unknown>, reshape: Record<string, number[]>): void {
  const cfg = JSON.parse(fs.readFileSync(path.join(FIX, fixture, 'config.json'), 'utf8'));
  writeJson(path.join(dir, sub, 'config.json'), { ...cfg, vocab_size: V, bos_token_id: 49406, eos_token_id: 49407, pad_token_id: 49407, ...extra });
  rewriteF32(path.join(FIX, fixture, 'model.safetensors'), path.join(dir, sub, 'model.safetensors'), { 'text_model.embeddings.token_embedding.weight': [V, 32], ...reshape });
}

test.before(() => { try { setup(); } catch (e) { console.error(e); throw e; } });
function setup(): void {
  const tiny = path.join(FIX, 'sd21-turbo-tiny');
  writeJson(path.join(dir, 'model_index.json'), {
    _class_name: 'StableDiffusionXLPipeline', force_zeros_for_empty_prompt: true, scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'], text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'],
    tokenizer: ['transformers', 'CLIPTokenizer'], tokenizer_2: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'],
  });
  copyInto(dir, 'scheduler', { 'scheduler_config.json': path.join(tiny, 'scheduler/scheduler_config.json') });
  for (const t of ['tokenizer', 'tokenizer_2']) {
    copyInto(dir, t, Object.fromEntries(fs.readdirSync(path.join(tiny, 'tokenizer')).map((f) => [f, path.join(tiny, 'tokenizer', f)])));
  }
  encoder('text_encoder', 'clip-text-gelu', {}, {});
  // The UNet's text_time embedding takes a 32-wide pooled text embedding.
  encoder('text_encoder_2', 'clip-text-projection', { projection_dim: 32 }, { 'text_projection.weight': [32, 32] });
  copyInto(dir, 'unet', { 'config.json': path.join(FIX, 'unet-sdxl/config.json'), 'diffusion_pytorch_model.safetensors': path.join(FIX, 'unet-sdxl/model.safetensors') });
  copyInto(dir, 'vae', { 'config.json': path.join(FIX, 'vae/config.json'), 'diffusion_pytorch_model.safetensors': path.join(FIX, 'vae/model.safetensors') });
  pipe = loadPipeline(dir, { dtype: 'f32' });
}
test.after(() => {
  pipe?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('SDXL: every guidance mode renders finite images', async () => {
  for (const mode of ['none', 'nasa', 'cfg', 'nag', 'vsf'] as const) {
    const r = await pipe.generate({ prompts: ['an astronaut riding a horse', 'a red fox'], negatives: ['blurry', 'snow'], guidance: { mode }, seed: 2 });
    assert.ok(r.image.data.every(Number.isFinite), mode);
    assert.is(r.image.shape[0], 2);
  }
});

test('SDXL: NASA alpha 0 equals no guidance exactly', async () => {
  const none = await pipe.generate({ prompts: ['a cabin'], seed: 5, guidance: { mode: 'none' } });
  const zero = await pipe.generate({ prompts: ['a cabin'], negatives: ['snow'], seed: 5, guidance: { mode: 'nasa', alpha: 0 } });
  assert.equal([...zero.latents.data], [...none.latents.data]);
});

test('SDXL: CFG without a negative prompt uses zeros for the unconditional input', async () => {
  const o = { prompts: ['a cabin'], seed: 6, guidance: { mode: 'cfg' as const, scale: 1.5 } };
  const none = await pipe.generate(o);
  const empty = await pipe.generate({ ...o, negatives: [''] });
  assert.not.equal([...none.latents.data], [...empty.latents.data], 'zeros differ from the encoding of ""');
});

test.run();
