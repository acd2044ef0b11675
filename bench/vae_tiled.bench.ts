// Standalone: a real-size VAE decode on this adapter, tiled automatically when the whole
// decode would not fit its buffer limits (lavapipe: 128 MiB per binding; a 1024x1024 SD
// decode's largest activation is 256 channels x 1024^2 = 512 MiB in f16).
//   npm run bench -- vae_tiled [--size 1024] [--dtype f16] [--config sd|sdxl|taesd] [--dir FOLDER] [--tiling auto|on|off]
// The VAE has the real config (sd: SD 2.x / SD-Turbo, sample_size 768; sdxl: sample_size
// 1024; both 4 latent channels, block_out_channels [128, 256, 512, 512]) and seeded random
// F16 weights, written once to --dir (default: a folder under the OS temp dir; ~160 MB,
// never commit it); `--config taesd` times a TAESD decode (madebyollin/taesd's config, 64
// channels) at the same size instead. Prints adapter, shapes, dtype, tiles, time, range.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getDevice } from '../src/gpu/device.ts';
import type { WeightScope } from '../src/io/store.ts';
import { Vae } from '../src/models/api/vae.ts';
import { vaeConfig } from '../src/models/configs.ts';
import { AutoencoderKL } from '../src/models/vae.ts';
import { Taesd } from '../src/models/api/taesd.ts';
import { AutoencoderTiny, taesdConfig } from '../src/models/taesd.ts';
import { seededUniform } from '../src/tensor/random.ts';
import { recordShapes, writeRandomComponent } from '../tools/random-weights.ts';

const BASE = {
  _class_name: 'AutoencoderKL', act_fn: 'silu', block_out_channels: [128, 256, 512, 512],
  down_block_types: new Array(4).fill('DownEncoderBlock2D'), up_block_types: new Array(4).fill('UpDecoderBlock2D'),
  in_channels: 3, out_channels: 3, latent_channels: 4, layers_per_block: 2, norm_num_groups: 32,
};
const CONFIGS: Record<string, Record<string, unknown>> = {
  sd: { ...BASE, sample_size: 768, scaling_factor: 0.18215 }, // stabilityai/sd-turbo vae/config.json
  sdxl: { ...BASE, sample_size: 1024, scaling_factor: 0.13025, force_upcast: true }, // stabilityai/sdxl-turbo vae/config.json
  taesd: { _class_name: 'AutoencoderTiny', latent_channels: 4, scaling_factor: 1.0 }, // madebyollin/taesd: every other key at its default
};

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const size = Number(arg('size', '1024')), dtype = arg('dtype', 'f16') as 'f16' | 'f32', which = arg('config', 'sd');
  const tiling = arg('tiling', 'auto') as 'auto' | 'on' | 'off';
  const cfg = CONFIGS[which];
  if (!cfg) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const dir = arg('dir', path.join(os.tmpdir(), `nasa-random-vae-${which}`));
  if (!fs.existsSync(path.join(dir, 'diffusion_pytorch_model.safetensors'))) {
    const shapes = recordShapes((ws: WeightScope) => void (which === 'taesd' ? new AutoencoderTiny(ws, taesdConfig(cfg, 'taesd config')) : new AutoencoderKL(ws, vaeConfig(cfg, `${which} vae config`))));
    const params = writeRandomComponent(dir, 'diffusion_pytorch_model.safetensors', cfg, shapes, 'F16', 7);
    console.log(`wrote ${dir}: ${(params / 1e6).toFixed(1)}M parameters, F16`);
  }
  const dev = await getDevice();
  if (which === 'taesd') return timeTaesd(dir, size, dtype, dev.adapter.description || dev.adapter.device);
  const vae = Vae.load(dir, { dtype });
  vae.tiler.mode = tiling;
  const h = size / 8;
  const z = { shape: [1, 4, h, h], data: seededUniform(4 * h * h, 3, 1.7 / 0.18215) /* unit-variance latents, unscaled */ };
  const whole = vae.tiler.largest('decode', z.shape, dtype);
  const spec = await vae.tiler.plan('decode', z.shape, dtype);
  console.log(`adapter ${dev.adapter.description || dev.adapter.device}; maxStorageBufferBindingSize ${dev.limits.maxStorageBufferBindingSize}`);
  console.log(`decode z [1, 4, ${h}, ${h}] -> [1, 3, ${size}, ${size}] ${dtype}, ${which} config; untiled largest tensor ${whole.what} = ${(whole.bytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(spec ? `tiles: ${spec.sampleSize} px / ${spec.latentSize} latent, overlap ${spec.overlap}` : 'untiled');
  let tiles = 0;
  const orig = vae.decode.bind(vae);
  vae.decode = async (inp, o = {}) => (o.whole && spec ? tiles++ : 0, orig(inp, o));
  const t0 = performance.now();
  const out = (await vae.decode({ z })).sample;
  const s = (performance.now() - t0) / 1000;
  let lo = Infinity, hi = -Infinity, bad = 0;
  for (const v of out.data) Number.isFinite(v) ? ((lo = Math.min(lo, v)), (hi = Math.max(hi, v))) : bad++;
  console.log(`completed: [${out.shape}] in ${s.toFixed(1)} s (${tiles} tile decodes, including compiles); range [${lo.toFixed(3)}, ${hi.toFixed(3)}], ${bad} non-finite`);
  const m = dev.memory.snapshot(); // the engine's counters (src/gpu/memory.ts)
  console.log(`device memory: peak ${(m.peakTotal / 2 ** 20).toFixed(1)} MiB (weights ${(m.peak.weights / 2 ** 20).toFixed(1)} MiB, arena ${(m.peak.activations / 2 ** 20).toFixed(1)} MiB, uniforms ${(m.peak.uniforms / 2 ** 20).toFixed(1)} MiB, staging ${(m.peak.staging / 2 ** 20).toFixed(1)} MiB)`);
  vae.destroy();
}

async function timeTaesd(dir: string, size: number, dtype: 'f16' | 'f32', adapter: string): Promise<void> {
  const t = Taesd.load(dir, { dtype });
  const h = size / 8;
  const z = { shape: [1, 4, h, h], data: seededUniform(4 * h * h, 3, 1.7) };
  console.log(`adapter ${adapter}; TAESD decode z [1, 4, ${h}, ${h}] -> [1, 3, ${size}, ${size}] ${dtype}; largest tensor 64 x ${size}^2 = ${(64 * size * size * (dtype === 'f16' ? 2 : 4) / 2 ** 20).toFixed(0)} MiB`);
  for (const run of ['first (compile + run)', 'second']) {
    const t0 = performance.now();
    const out = (await t.decode({ z })).sample;
    console.log(`${run}: [${out.shape}] in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
  t.destroy();
}

main().catch((e) => {
  console.error(e?.message ?? e);
  process.exit(1);
});
