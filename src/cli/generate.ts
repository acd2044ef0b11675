// `generate`: prompt (+ negative prompt) -> PNG, one image per prompt, or many prompt
// pairs from --batch-file with a progress bar and a per-stage timing breakdown.
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { getDevice } from '../gpu/device.ts';
import { readHostTensor, writeHostTensors } from '../io/host.ts';
import { readBatchFile, type BatchEntry } from '../pipeline/batchfile.ts';
import { EMBEDDED_MODEL } from '../pipeline/embedded.ts';
import { parseAlpha, parseGuidanceMode } from '../guidance/resolve.ts';
import type { GuidanceOptions } from '../guidance/types.ts';
import { loadPipeline, type GenerateOptions, type GenerateResult, type ImagePipeline } from '../pipeline/index.ts';
import { floatImageToRgb, generationText, writePng } from '../pipeline/png.ts';
import { ProgressBar, StageTimes } from '../pipeline/progress.ts';
import { parseNoiseKind } from '../pipeline/rng.ts';
import { formatStats } from '../pipeline/stats.ts';
import { parseArgs, type OptSpec } from './args.ts';
import { formatStartup } from './startup.ts';
import { GENERATE_VAE_HELP, GENERATE_VAE_OPTS, setupVae } from './vae_args.ts';
import { runSweepCli, sweepArgs, SWEEP_HELP, SWEEP_OPTS } from './sweep.ts';

export const DEFAULT_MODEL = EMBEDDED_MODEL;

const SPEC: OptSpec = {
  prompt: { alias: 'p', type: 'string', multiple: true },
  negative: { alias: 'n', type: 'string', multiple: true },
  guidance: { type: 'string' }, alpha: { type: 'string' }, scale: { type: 'number' },
  tau: { type: 'number' }, offset: { type: 'number' },
  steps: { type: 'number' }, timesteps: { type: 'string' }, seed: { type: 'number' }, noise: { type: 'string' },
  width: { type: 'number' }, height: { type: 'number' },
  'max-sequence-length': { type: 'number' }, 'guidance-scale': { type: 'number' },
  model: { type: 'string' }, download: { type: 'boolean' }, dtype: { type: 'string' }, variant: { type: 'string' }, config: { type: 'string' }, preset: { type: 'string' },
  transformer: { type: 'string' },
  out: { alias: 'o', type: 'string' }, latents: { type: 'string' }, 'save-tensors': { type: 'string' },
  'batch-file': { type: 'string' }, stats: { type: 'boolean' }, help: { alias: 'h', type: 'boolean' }, ...GENERATE_VAE_OPTS,
  ...SWEEP_OPTS,
};

const HELP = `usage: npx tsx src/cli.ts generate -p "prompt" [-n "negative"] [options]

  -p, --prompt TEXT        prompt (repeat for a batch)
  -n, --negative TEXT      negative prompt (one for all, or one per prompt)
  --guidance MODE          none | nasa | cfg | nag | vsf (default: nasa with a negative, else none)
  --alpha A                nasa alpha (default by family: SD1 0.1, SD2/SDXL 0.2), also 'down=..,mid=..,up=..'
                           or a JSON list per cross-attention layer; nag blend alpha (default 0.5)
  --scale S                cfg guidance scale (1.5) | nag scale (4) | vsf value scale (3)
  --tau T                  nag norm clip (2.5);  --offset O  vsf negative-key bias (0.1)
  --steps N                denoising steps (1);  --timesteps 999,499  custom timesteps
  --seed S                 noise seed (0);  --noise torch|torch-nofma|torch-scalar|numpy  generator (torch)
  --width W --height H     image size (default: the model's)
  --model PATH|ORG/NAME[@REV]  diffusers folder, single-file checkpoint or hub model id, found in the
                           Hugging Face cache (default: the embedded tiny model)
  --download               fetch what a model id lacks in the cache from the hub (HF_ENDPOINT, HF_TOKEN)
  --config DIR --preset P  for single files: configs/tokenizer from a diffusers folder, or a family preset
  --dtype f32|f16          compute dtype (f32)
  -o, --out FILE.png       output (default out.png; a batch writes FILE-0.png, FILE-1.png, ...)
  --transformer FILE       FLUX: transformer from a BFL .safetensors or GGUF file (e.g. Q8_0) instead of the folder's
  --max-sequence-length N  FLUX: T5 tokens (256 schnell, 512 -dev)
  --guidance-scale G       FLUX.1-dev: embedded guidance (3.5); schnell has none
  --latents FILE           safetensors with 'latents' (B,4,h,w; FLUX: packed (B,L,64)): unit noise used instead of the RNG
  --save-tensors FILE      also write 'latents' (final, before VAE scaling) and 'image' (B,3,H,W) in [0,1]
  --batch-file FILE        JSONL or CSV of prompt pairs (prompt, negative, seed, alpha, scale, id)
  --stats                  also print per stage time and peak device memory, device memory by kind,
                           and the startup timeline (process start to first GPU dispatch)
${GENERATE_VAE_HELP}
${SWEEP_HELP}`;

export async function run(argv: string[]): Promise<void> {
  const { opts, positional } = parseArgs('generate', argv, SPEC);
  if (opts.help) return void console.log(HELP);
  if (positional.length) throw new EngineError(`generate: unexpected argument '${positional[0]}' (use -p "prompt")`);
  const prompts = (opts.prompt as string[] | undefined) ?? [];
  if (!prompts.length && !opts['batch-file']) throw new EngineError('generate: give a prompt with -p "..." or --batch-file FILE');
  if (prompts.length && opts['batch-file']) throw new EngineError('generate: use either -p or --batch-file, not both');
  const dtype = (opts.dtype as string | undefined) ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new EngineError(`--dtype must be f32 or f16, got '${dtype}'`);
  const model = (opts.model as string | undefined) ?? DEFAULT_MODEL;
  const sweep = sweepArgs(opts);
  const base = baseOptions(sweep ? sweep.rest : opts);
  if (opts.download) { // loaded only here: the hub client and hashing cost startup time
    const { downloadModel } = await import('../io/hub_download.ts');
    await downloadModel(model, { dtype, variant: opts.variant as string | undefined });
  }
  const pipe = loadPipeline(model, { dtype, variant: opts.variant as string | undefined, config: opts.config as string | undefined, preset: opts.preset as string | undefined, transformer: opts.transformer as string | undefined });
  const out = (opts.out as string | undefined) ?? 'out.png';
  const modelName = model === DEFAULT_MODEL ? 'weights/default (embedded, random weights)' : model;
  let vae: ReturnType<typeof setupVae> | null = null;
  try {
    for (const k of ['max-sequence-length', 'guidance-scale']) {
      if (opts[k] !== undefined && pipe.family !== 'flux') throw new EngineError(`--${k} applies to FLUX pipelines; ${modelName} is ${pipe.family ?? 'not one'}`);
    }
    vae = setupVae(pipe, opts, { dtype });
    Object.assign(base, vae.run);
    if (sweep) return await runSweepCli(pipe, sweep, base, modelName);
    if (opts['batch-file']) return await runBatch(pipe, readBatchFile(opts['batch-file'] as string), base, out, modelName, !!opts.stats);
    const latents = opts.latents ? readHostTensor(opts.latents as string, 'latents') : undefined;
    const r = await pipe.generate({ ...base, prompts, negatives: (opts.negative as string[] | undefined) ?? null, latents });
    const files = savePngs(r, prompts, (opts.negative as string[] | undefined) ?? null, out, modelName);
    if (opts['save-tensors']) writeHostTensors(opts['save-tensors'] as string, { latents: r.latents, image: r.image });
    const extra = vae.describe();
    console.error(`${files.join(', ')}  (${r.width}x${r.height}, ${r.guidance.mode}, ${r.timesteps.length} step(s); ${r.times.format()})${extra ? `\n${extra}` : ''}`);
    if (opts.stats) console.error(formatStats(r.times, (await getDevice()).memory.snapshot()));
  } finally {
    vae?.destroy();
    pipe.destroy();
    if (opts.stats) console.error(formatStartup());
  }
}

function baseOptions(opts: Record<string, unknown>): Omit<GenerateOptions, 'prompts'> {
  const g: GuidanceOptions | undefined = opts.guidance ? { mode: parseGuidanceMode(opts.guidance as string) } : undefined;
  const guidance: GuidanceOptions = {
    mode: g?.mode as GuidanceOptions['mode'],
    alpha: opts.alpha !== undefined ? parseAlpha(opts.alpha as string) : undefined,
    scale: opts.scale as number | undefined, tau: opts.tau as number | undefined, offset: opts.offset as number | undefined,
  };
  const steps = opts.steps as number | undefined;
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) throw new EngineError(`--steps must be a positive integer, got ${steps}`);
  const timesteps = opts.timesteps !== undefined ? String(opts.timesteps).split(',').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v)) throw new EngineError(`--timesteps: '${s}' is not an integer`);
    return v;
  }) : undefined;
  const seed = opts.seed as number | undefined;
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new EngineError(`--seed must be a non-negative integer, got ${seed}`);
  return {
    guidance: guidance.mode || guidance.alpha !== undefined || guidance.scale !== undefined ? guidance : undefined,
    steps, timesteps, seed, noise: opts.noise ? parseNoiseKind(opts.noise as string) : undefined,
    width: opts.width as number | undefined, height: opts.height as number | undefined,
    maxSequenceLength: opts['max-sequence-length'] as number | undefined, guidanceScale: opts['guidance-scale'] as number | undefined,
  };
}

function savePngs(r: GenerateResult, prompts: string[], negatives: string[] | null, out: string, model: string): string[] {
  const B = prompts.length;
  const files: string[] = [];
  for (let b = 0; b < B; b++) {
    const file = B === 1 ? out : numbered(out, String(b));
    const g = r.guidance;
    const neg = negatives ? (negatives.length === 1 ? negatives[0] : negatives[b]) : undefined;
    const text = generationText({
      prompt: prompts[b], negative: g.mode === 'none' ? undefined : neg, guidance: g.mode,
      alpha: g.mode === 'nasa' ? (typeof g.alpha === 'number' ? g.alpha : undefined) : g.mode === 'nag' ? g.alpha : undefined,
      scale: 'scale' in g ? g.scale : undefined, seed: r.seed, steps: r.timesteps.length, model,
      width: r.width, height: r.height, scheduler: r.scheduler,
    });
    writePng(file, floatImageToRgb(r.image.data as Float32Array, r.image.shape, b), text);
    files.push(file);
  }
  return files;
}

function numbered(out: string, tag: string): string {
  const ext = path.extname(out) || '.png';
  return `${out.slice(0, out.length - path.extname(out).length)}-${tag}${ext}`;
}

async function runBatch(pipe: ImagePipeline, entries: BatchEntry[], base: Omit<GenerateOptions, 'prompts'>, out: string, model: string, stats: boolean): Promise<void> {
  const bar = new ProgressBar(entries.length, 'generate');
  const total = new StageTimes();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const o: GenerateOptions = { ...base, prompts: [e.prompt], negatives: e.negative === undefined ? null : [e.negative], seed: e.seed ?? base.seed };
    if (e.alpha !== undefined || e.scale !== undefined) o.guidance = { ...base.guidance, mode: base.guidance?.mode as any, alpha: e.alpha ?? base.guidance?.alpha, scale: e.scale ?? base.guidance?.scale };
    const r = await pipe.generate(o);
    savePngs(r, [e.prompt], e.negative === undefined ? null : [e.negative], numbered(out, e.id ?? String(i)), model);
    for (const s of r.times.entries()) total.add(s.stage, s.ms, s.peakBytes);
    bar.tick(1, e.prompt.slice(0, 40));
  }
  bar.finish();
  console.error(`${entries.length} images; ${total.format()}`);
  if (stats) console.error(formatStats(total, (await getDevice()).memory.snapshot()));
}
