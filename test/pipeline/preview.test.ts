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
import { setupVae } from '../../src/cli/vae_args.ts';
import { EngineError } from '../../src/errors.ts';
import { readHostTensor } from '../../src/io/host.ts';
import { Taesd } from '../../src/models/index.ts';
import { AutoencoderTiny, taesdConfig } from '../../src/models/taesd.ts';
import { loadPipeline } from '../../src/pipeline/index.ts';
import { pipelineVae, previewFile, PreviewWriter } from '../../src/pipeline/preview.ts';
import { recordShapes, writeRandomComponent } from '../../tools/random-weights.ts';
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

test('previews through the API (x0 vs latents, names); the model VAE in 32 px tiles', async () => {
  const pipe = loadPipeline(DEFAULT_MODEL);
  const taesd = Taesd.load(TAESD);
  try {
    const px = new PreviewWriter(taesd, path.join(tmp, 'p-x0'), 'x0'), pl = new PreviewWriter(taesd, path.join(tmp, 'p-latents'), 'latents');
    const seen: { x0: number[]; latents: number[] }[] = [];
    const r = await pipe.generate({ prompts: ['a'], steps: 2, seed: 1, onLatents: async (s) => {
      seen.push({ x0: Array.from(s.x0.data.slice(0, 4)), latents: Array.from(s.latents.data.slice(0, 4)) });
      await px.onLatents(s);
      await pl.onLatents(s);
    } });
    assert.equal(px.files.map((f) => path.basename(f)), ['p-x0-step-1.png', 'p-x0-step-2.png']);
    assert.equal(pl.files.map((f) => path.basename(f)), ['p-latents-step-1.png', 'p-latents-step-2.png']);
    assert.ok(px.files.every(isPng) && pl.files.every(isPng));
    assert.equal(seen[1].latents, Array.from(r.latents.data.slice(0, 4)), 'the last step\'s latents are the final latents');
    assert.not.equal(seen[0].x0, seen[0].latents, 'step 1: x0 differs from the noisy latents');
    assert.equal(previewFile(path.join(tmp, 'q') + path.sep, 3, 12, 1, 2), path.join(tmp, 'q', 'step-03-1.png'));
    // 64x64 image, 32 px tiles (latent 4, stride 3): 3x3 tiles, each with its own GroupNorm statistics.
    const vae = pipelineVae(pipe)!;
    const z = vae.latentsToZ(r.latents);
    const whole = (await vae.decode({ z })).sample;
    vae.tiler.mode = { sampleSize: 32, latentSize: 4, overlap: 0.25 };
    const tiled = (await vae.decode({ z })).sample;
    assert.ok(tiled.data.every(Number.isFinite) && tiled.data.length === whole.data.length);
    assert.ok(closeReport(tiled.data, whole.data, 0, 0).maxAbs > 0, 'tiling must change the image');
  } finally {
    taesd.destroy();
    pipe.destroy();
  }
});

test('bad VAE arguments: wrong latent channels, no TAESD for --preview, tiny tiles, not a VAE', async () => {
  // A valid TAESD with 16 latent channels (taef1-shaped) next to a 4-channel model.
  const f1 = path.join(tmp, 'taef1');
  const cfg = { ...JSON.parse(fs.readFileSync(path.join(TAESD, 'config.json'), 'utf8')), latent_channels: 16 };
  writeRandomComponent(f1, 'diffusion_pytorch_model.safetensors', cfg, recordShapes((ws) => void new AutoencoderTiny(ws, taesdConfig(cfg, 'taef1'))));
  // One through the command line; the rest straight at the option handling (no pipeline run).
  await rejects(() => quiet(() => generate(['-p', 'x', '-o', path.join(tmp, 'bad.png'), '--vae', f1])), /--vae .*taef1: AutoencoderTiny has 16 latent channels, the model's VAE has 4 \(taef1 is for FLUX\)/);
  const pipe = loadPipeline(DEFAULT_MODEL);
  const bad = (opts: Record<string, unknown>, re: RegExp) => assert.throws(() => setupVae(pipe, opts, {}), (e: Error) => e instanceof EngineError && re.test(e.message));
  try {
    bad({ 'preview-vae': f1, preview: tmp }, /--preview-vae .*taef1: AutoencoderTiny has 16 latent channels/);
    bad({ preview: tmp }, /--preview needs a TAESD folder: --preview-vae DIR/);
    bad({ 'preview-latent': 'x0' }, /--preview-latent needs --preview/);
    bad({ preview: tmp, 'preview-vae': TAESD, 'preview-latent': 'noise' }, /--preview-latent must be x0 or latents, got 'noise'/);
    bad({ 'tile-sample-size': 4 }, /--tile-sample-size 4 is smaller than the VAE's latent downsampling 8/);
    bad({ 'tile-sample-size': 40.5 }, /--tile-sample-size must be a positive integer, got 40.5/);
    bad({ vae: path.join(DEFAULT_MODEL, 'unet') }, /--vae .*unet: config class "UNet2DConditionModel" is not a VAE/);
    bad({ vae: path.join(tmp, 'nope') }, /--vae .*nope: no such folder/);
    bad({ preview: tmp, 'preview-vae': TAESD, 'batch-file': 'x.jsonl' }, /--preview applies to -p runs, not --batch-file/);
  } finally {
    pipe.destroy();
  }
});

test.run();
