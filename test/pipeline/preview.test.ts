// generate with another VAE and step previews, in-process on the embedded tiny model:
// --vae <taesd> decodes the final latents with TAESD (exactly Taesd.decode of the saved
// latents: TAESD's scaling_factor is 1, so no rescaling), --preview writes one PNG per step
// from the step's x0 (or its noisy latents), tiling reaches the pipeline's VAE, and the bad
// combinations fail naming the argument and folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MODEL, run as generate } from '../../src/cli/generate.ts';
import { readHostTensor } from '../../src/io/host.ts';
import { Taesd } from '../../src/models/index.ts';
import { AutoencoderTiny, taesdConfig } from '../../src/models/taesd.ts';
import { loadPipeline } from '../../src/pipeline/index.ts';
import { pipelineVae, PreviewWriter } from '../../src/pipeline/preview.ts';
import { recordTensorShapes, writeRandom } from '../../tools/make-random-unet.ts';
import { rejects } from '../models/fixtures.ts';
import { closeReport } from '../util/compare.ts';
import { FIXTURES } from '../util/fixture.ts';

const TAESD = path.join(FIXTURES, 'taesd');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-preview-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; err: string }> {
  const e = console.error, lines: string[] = [];
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    return { value: await fn(), err: lines.join('\n') };
  } finally {
    console.error = e;
  }
}

const isPng = (f: string) => fs.readFileSync(f).subarray(1, 4).toString() === 'PNG';

test('generate --vae <taesd> --preview DIR/: TAESD decodes the final latents; one preview per step', async () => {
  const out = path.join(tmp, 'taesd.png'), t = path.join(tmp, 't.safetensors'), dir = path.join(tmp, 'prev') + path.sep;
  const { err } = await quiet(() => generate(['-p', 'a red fox', '--steps', '2', '--seed', '3', '--vae', TAESD, '--preview', dir, '-o', out, '--save-tensors', t]));
  assert.ok(isPng(out), err);
  assert.ok(isPng(path.join(dir, 'step-1.png')) && isPng(path.join(dir, 'step-2.png')), fs.readdirSync(dir).join(', '));
  assert.match(err, /decoded with AutoencoderTiny .*taesd; 2 preview\(s\) of x0/);
  const taesd = Taesd.load(TAESD);
  try {
    const want = (await taesd.decode({ z: readHostTensor(t, 'latents') })).sample;
    const img = readHostTensor(t, 'image');
    const r = closeReport(img.data, Float32Array.from(want.data, (v) => Math.min(1, Math.max(0, v / 2 + 0.5))), 1e-6, 0);
    assert.ok(r.worstExcess <= 0, `image vs Taesd.decode(latents): max |diff| ${r.maxAbs}`);
  } finally {
    taesd.destroy();
  }
});

test('previews through the API (x0 vs latents, PREFIX-step-N names); the model VAE in 32 px tiles', async () => {
  const pipe = loadPipeline(DEFAULT_MODEL);
  const taesd = Taesd.load(TAESD);
  try {
    const seen: Record<string, number[][]> = { x0: [], latents: [] };
    let whole: Float32Array | null = null;
    for (const latent of ['x0', 'latents'] as const) {
      const p = new PreviewWriter(taesd, path.join(tmp, `p-${latent}`), latent);
      const r = await pipe.generate({ prompts: ['a', 'b'], steps: 2, seed: 1, onLatents: async (s) => { seen[latent].push(Array.from((latent === 'x0' ? s.x0 : s.latents).data.slice(0, 4))); await p.onLatents(s); } });
      assert.equal(p.files.map((f) => path.basename(f)), [`p-${latent}-step-1-0.png`, `p-${latent}-step-1-1.png`, `p-${latent}-step-2-0.png`, `p-${latent}-step-2-1.png`]);
      if (latent === 'latents') assert.equal(seen.latents[1], Array.from(r.latents.data.slice(0, 4)), 'the last step\'s latents are the final latents');
      whole = r.image.data as Float32Array;
    }
    assert.not.equal(seen.x0[0], seen.latents[0], 'step 1: x0 differs from the noisy latents');
    // 64x64 image, 32 px tiles (latent 4, stride 3): 3x3 tiles, each with its own GroupNorm statistics.
    const vae = pipelineVae(pipe)!;
    vae.tiler.mode = { sampleSize: 32, latentSize: 4, overlap: 0.25 };
    const tiled = (await pipe.generate({ prompts: ['a', 'b'], steps: 2, seed: 1 })).image;
    assert.ok(tiled.data.every(Number.isFinite) && tiled.data.length === whole!.length);
    assert.ok(closeReport(tiled.data, whole!, 0, 0).maxAbs > 0, 'tiling must change the image');
  } finally {
    taesd.destroy();
    pipe.destroy();
  }
});

test('bad VAE arguments: wrong latent channels, no TAESD for --preview, tiny tiles, not a VAE', async () => {
  // A valid TAESD with 16 latent channels (taef1-shaped) next to a 4-channel model.
  const f1 = path.join(tmp, 'taef1');
  const cfg = { ...JSON.parse(fs.readFileSync(path.join(TAESD, 'config.json'), 'utf8')), latent_channels: 16 };
  writeRandom(f1, cfg, recordTensorShapes((ws) => new AutoencoderTiny(ws, taesdConfig(cfg, 'taef1'))));
  const o = ['-p', 'x', '-o', path.join(tmp, 'bad.png')];
  await rejects(() => quiet(() => generate([...o, '--vae', f1])), /--vae .*taef1: AutoencoderTiny has 16 latent channels, the model's VAE has 4 \(taef1 is for FLUX\)/);
  await rejects(() => quiet(() => generate([...o, '--preview-vae', f1, '--preview', tmp])), /--preview-vae .*taef1: AutoencoderTiny has 16 latent channels/);
  await rejects(() => quiet(() => generate([...o, '--preview', tmp])), /--preview needs a TAESD folder: --preview-vae DIR/);
  await rejects(() => quiet(() => generate([...o, '--preview-latent', 'x0'])), /--preview-latent needs --preview/);
  await rejects(() => quiet(() => generate([...o, '--tile-sample-size', '4'])), /--tile-sample-size 4 is smaller than the VAE's latent downsampling 8/);
  await rejects(() => quiet(() => generate([...o, '--vae', path.join(DEFAULT_MODEL, 'unet')])), /--vae .*unet: config class "UNet2DConditionModel" is not a VAE/);
  await rejects(() => quiet(() => generate([...o, '--vae', path.join(tmp, 'nope')])), /--vae .*nope: no such folder/);
});

test.run();
