// tools/make-random-sd-turbo.ts: at the tiny fixture's configs it writes exactly the tensor
// names and shapes diffusers/transformers saved for that fixture, and the folder loads and
// generates; at sd-turbo's real configs the recorded parameter counts are the known ones
// (shape-only, nothing written).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { loadPipeline } from '../../src/pipeline/index.ts';
import { CLIPTextModel } from '../../src/models/clip.ts';
import { clipTextConfig, unetConfig, vaeConfig } from '../../src/models/configs.ts';
import { UNet2DConditionModel } from '../../src/models/unet.ts';
import { AutoencoderKL } from '../../src/models/vae.ts';
import { makeRandomSdTurbo, SD_TURBO_PIPELINE } from '../../tools/make-random-sd-turbo.ts';
import { recordShapes } from '../../tools/random-weights.ts';
import { FIXTURES } from '../util/fixture.ts';

const TINY = path.join(FIXTURES, 'sd21-turbo-tiny');
const FILES: Record<string, string> = { text_encoder: 'model.safetensors', unet: 'diffusion_pytorch_model.safetensors', vae: 'diffusion_pytorch_model.safetensors' };

function tensors(file: string): string[] {
  const r = SafetensorsReader.open(file);
  try {
    return r.names().map((n) => `${n} [${r.source(n).shape}]`).sort();
  } finally {
    r.close();
  }
}

test('tiny configs: the same tensors as the diffusers-saved fixture; loads and generates', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-turbo-'));
  try {
    makeRandomSdTurbo(dir, { configsFrom: TINY });
    for (const [comp, file] of Object.entries(FILES)) {
      assert.equal(tensors(path.join(dir, comp, file)), tensors(path.join(TINY, comp, file)), comp);
    }
    const pipe = loadPipeline(dir, { dtype: 'f32' });
    try {
      const r = await pipe.generate({ prompts: ['a cat'], width: 64, height: 64 });
      assert.equal(r.image.shape, [1, 3, 64, 64]);
      assert.ok(r.image.data.every((v) => Number.isFinite(v)), 'finite image');
    } finally {
      pipe.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('real sd-turbo configs: parameter counts of UNet, VAE and the 23-layer OpenCLIP-H text encoder', () => {
  const P = SD_TURBO_PIPELINE;
  const count = (build: Parameters<typeof recordShapes>[0]) => [...recordShapes(build).values()].reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
  const text = count((ws) => new CLIPTextModel(ws, clipTextConfig(P.text_encoder, 'text_encoder')));
  const vae = count((ws) => new AutoencoderKL(ws, vaeConfig(P.vae, 'vae')));
  const unet = count((ws) => new UNet2DConditionModel(ws, unetConfig(P.unet, 'unet')));
  console.log(`sd-turbo parameters: text encoder ${(text / 1e6).toFixed(1)}M, VAE ${(vae / 1e6).toFixed(1)}M, UNet ${(unet / 1e6).toFixed(1)}M`);
  assert.is(Math.round(unet / 1e5), 8659, 'UNet 865.9M');
  assert.is(Math.round(vae / 1e5), 837, 'AutoencoderKL 83.7M');
  assert.is(Math.round(text / 1e6), 340, 'OpenCLIP-H text, 23 layers: 340M');
});

test.run();
