// Generate the embedded default model in weights/default/: a complete diffusers
// StableDiffusionPipeline folder (model_index.json, scheduler, tokenizer, text_encoder,
// unet, vae) so `generate` works on a fresh clone with no download. Its images are noise
// by design: the weights are random.
//
// It takes the tiny SD-Turbo-like fixture folder (../shared/fixtures/sd21-turbo-tiny,
// written by diffusers' own save_pretrained) as the template: the configs, the real CLIP
// tokenizer files and every tensor name and shape are copied, so the layout is exactly what
// diffusers saves for these configs. Each tensor is re-drawn as mean + std * N(0,1) with the
// template tensor's own mean and std (keeps activations in a sane range) from torch's CPU
// generator (src/pipeline/rng.ts, seed --seed + file index), and stored as F16 (~6 MB in all).
// The output is byte-identical on every run.
//   npx tsx tools/make-default-model.ts [--from <folder>] [--out weights/default] [--seed 0]
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { parseArgs } from '../src/cli/args.ts';
import { EngineError } from '../src/errors.ts';
import { SafetensorsReader, SafetensorsWriter, readAll, type TensorDecl } from '../src/io/safetensors.ts';
import { TorchGenerator } from '../src/pipeline/rng.ts';

const ROOT = join(import.meta.dirname, '..');
const COPY = [
  'model_index.json', 'scheduler/scheduler_config.json', 'unet/config.json', 'vae/config.json',
  'tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/special_tokens_map.json', 'tokenizer/tokenizer_config.json',
];
const WEIGHTS = ['text_encoder/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors'];

function meanStd(d: Float32Array): [number, number] {
  let m = 0;
  for (const x of d) m += x;
  m /= d.length;
  let v = 0;
  for (const x of d) v += (x - m) * (x - m);
  return [m, Math.sqrt(v / d.length)];
}

function asF32(src: ReturnType<SafetensorsReader['source']>): Float32Array {
  const b = readAll(src);
  if (src.dtype === 'F32') return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  if (src.dtype === 'F16') return Float32Array.from(new Float16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  throw new EngineError(`${src.file}: tensor '${src.name}' has dtype ${src.dtype}; the template must be F32 or F16`);
}

/** Re-randomise one safetensors file: same names, shapes and metadata; F16 values. */
function rerandomise(from: string, to: string, seed: number): void {
  const r = SafetensorsReader.open(from);
  const names = r.names().sort();
  const decls: TensorDecl[] = names.map((name) => ({ name, dtype: 'F16', shape: r.source(name).shape }));
  const gen = new TorchGenerator(seed);
  const values = new Map<string, Uint8Array>();
  for (const name of names) { // draw in sorted-name order so the result never depends on file layout
    const t = asF32(r.source(name));
    const [mean, std] = meanStd(t);
    const z = gen.randn(t.length);
    const h = new Float16Array(t.length);
    for (let i = 0; i < t.length; i++) h[i] = mean + std * z[i];
    values.set(name, new Uint8Array(h.buffer));
  }
  mkdirSync(dirname(to), { recursive: true });
  const w = new SafetensorsWriter(to, decls, r.metadata);
  for (const d of w.order) w.writeTensor(d.name, [values.get(d.name)!]);
  w.close();
}

export function makeDefaultModel(from: string, out: string, seed = 0): string[] {
  for (const f of [...COPY, 'text_encoder/config.json', ...WEIGHTS]) {
    try {
      statSync(join(from, f));
    } catch {
      throw new EngineError(`${join(from, f)}: missing; --from must be a diffusers StableDiffusionPipeline folder`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  for (const f of COPY) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    copyFileSync(join(from, f), join(out, f));
  }
  // transformers records the dtype the weights were saved in.
  const te = JSON.parse(readFileSync(join(from, 'text_encoder/config.json'), 'utf8'));
  te.torch_dtype = 'float16';
  mkdirSync(join(out, 'text_encoder'), { recursive: true });
  writeFileSync(join(out, 'text_encoder/config.json'), JSON.stringify(te, null, 2) + '\n');
  WEIGHTS.forEach((f, k) => rerandomise(join(from, f), join(out, f), seed + k));
  return [...COPY, 'text_encoder/config.json', ...WEIGHTS].sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const { opts } = parseArgs('make-default-model', process.argv.slice(2), {
      from: { type: 'string' }, out: { type: 'string' }, seed: { type: 'number' },
    });
    const from = (opts.from as string | undefined) ?? join(ROOT, '..', 'shared', 'fixtures', 'sd21-turbo-tiny');
    const out = (opts.out as string | undefined) ?? join(ROOT, 'weights', 'default');
    const files = makeDefaultModel(from, out, (opts.seed as number | undefined) ?? 0);
    let total = 0;
    for (const f of files) {
      const bytes = readFileSync(join(out, f));
      total += bytes.length;
      console.log(`${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}  ${String(bytes.length).padStart(9)}  ${relative(ROOT, join(out, f))}`);
    }
    console.log(`${files.length} files, ${(total / 1e6).toFixed(2)} MB`);
  } catch (e) {
    if (e instanceof EngineError) {
      console.error(`error: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
