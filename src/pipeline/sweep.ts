// `generate --batch-file F --out-dir D`: an experiment runner. Every prompt pair of the
// batch file is rendered under every setting of a sweep over guidance modes and alphas
// (`--guidance nasa,cfg,none --alpha 0.1,0.2,0.5`), with one seed per pair shared by all
// its settings, so settings differ only in guidance. Images go to D/images/<pair id>/<tag>.png
// and each shard records what it made in D/parts/gen-K-of-N.json, which `eval` reads.
//
// Resumable: an image whose PNG metadata carries this job's key (a hash of prompt,
// negative, seed, setting, generation options and model) is kept; anything else
// (missing, truncated, from other settings) is rendered again. Files are written to a
// temporary name and renamed, so a killed run never leaves a half image.
// Sharded: `--shard K/N` takes the pairs i with i mod N = K - 1 (round robin, so shards
// get equal work); `--shard auto` reads the index from the scheduler (docs/experiments.md).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readPngText } from '../eval/image_io.ts';
import type { BatchEntry } from './batchfile.ts';
import type { GenerateOptions, ImagePipeline } from './common.ts';
import { parseGuidanceMode, type GuidanceMode, type GuidanceOptions } from '../guidance/index.ts';
import { encodePng, floatImageToRgb, generationText } from './png.ts';
import { ProgressBar } from './progress.ts';

export const PART_FORMAT = 'nasa-engine-sweep-part/1';

export interface Setting {
  /** File-name tag: 'none', 'cfg', 'nasa-a0.2', ... */
  tag: string;
  mode: GuidanceMode;
  /** The swept alpha (nasa, nag), or null for the mode's default / no alpha. */
  alpha: number | null;
}

export interface Shard { index: number; count: number }

export interface PlannedPair {
  index: number;
  id: string;
  prompt: string;
  negative: string;
  seed: number;
  /** Line of the batch file. */
  line: number;
  /** Per-pair scale from the batch file (cfg, nag, vsf). */
  scale?: number;
  /** Per-pair alpha from the batch file, used when --alpha is not swept. */
  alpha?: number;
}

/** What a shard wrote: read back by `eval`. Paths are relative to the run folder. */
export interface SweepPart {
  format: typeof PART_FORMAT;
  /** Hash of the whole plan (all pairs, settings, options, model): parts of one run share it. */
  fingerprint: string;
  model: string;
  shard: Shard;
  total_pairs: number;
  settings: Setting[];
  pairs: Array<Omit<PlannedPair, 'scale' | 'alpha'> & { images: Record<string, string> }>;
}

const TAKES_ALPHA: GuidanceMode[] = ['nasa', 'nag'];

/** `--guidance a,b,c` x `--alpha x,y` -> settings; alphas apply to nasa and nag. */
export function parseSettings(guidance: string | undefined, alpha: string | undefined): Setting[] {
  const modes = (guidance ?? 'nasa').split(',').map((s) => parseGuidanceMode(s.trim()));
  if (new Set(modes).size !== modes.length) throw new EngineError(`--guidance ${guidance}: a mode is listed twice`);
  const alphas = alpha === undefined ? null : alpha.split(',').map((s) => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(v) || v < 0) throw new EngineError(`--alpha ${alpha}: '${s}' is not a number >= 0 (a sweep takes comma-separated numbers)`);
    return v;
  });
  if (alphas && new Set(alphas).size !== alphas.length) throw new EngineError(`--alpha ${alpha}: a value is listed twice`);
  if (alphas && !modes.some((m) => TAKES_ALPHA.includes(m))) throw new EngineError(`--alpha applies to ${TAKES_ALPHA.join(' and ')}, which --guidance ${guidance} does not list`);
  const out: Setting[] = [];
  for (const mode of modes) {
    if (alphas && TAKES_ALPHA.includes(mode)) for (const a of alphas) out.push({ tag: `${mode}-a${a}`, mode, alpha: a });
    else out.push({ tag: mode, mode, alpha: null });
  }
  return out;
}

const intVar = (env: NodeJS.ProcessEnv, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) throw new EngineError(`--shard auto: $${name} = '${v}' is not a non-negative integer`);
  return Number(v);
};

/**
 * `K/N` (1 <= K <= N), or `auto`: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based)
 * with the count in NASA_SHARD_COUNT, or a Slurm array's SLURM_ARRAY_TASK_ID -
 * SLURM_ARRAY_TASK_MIN with SLURM_ARRAY_TASK_COUNT.
 */
export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard {
  if (spec === 'auto') {
    const k8s = intVar(env, 'JOB_COMPLETION_INDEX');
    if (k8s !== undefined) {
      const count = intVar(env, 'NASA_SHARD_COUNT');
      if (count === undefined) throw new EngineError('--shard auto: JOB_COMPLETION_INDEX is set but NASA_SHARD_COUNT is not (set it to the Job\'s completions)');
      return checkShard(k8s + 1, count, `auto (JOB_COMPLETION_INDEX=${k8s}, NASA_SHARD_COUNT=${count})`);
    }
    const id = intVar(env, 'SLURM_ARRAY_TASK_ID');
    if (id !== undefined) {
      const count = intVar(env, 'SLURM_ARRAY_TASK_COUNT'), min = intVar(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
      if (count === undefined) throw new EngineError('--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not');
      return checkShard(id - min + 1, count, `auto (SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_COUNT=${count}; use a contiguous --array range)`);
    }
    throw new EngineError('--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm array) is set; give --shard K/N');
  }
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new EngineError(`--shard ${spec}: expected K/N (shard K of N, 1-based) or 'auto'`);
  return checkShard(Number(m[1]), Number(m[2]), spec);
}

function checkShard(index: number, count: number, spec: string): Shard {
  if (count < 1) throw new EngineError(`--shard ${spec}: the shard count must be at least 1`);
  if (index < 1 || index > count) throw new EngineError(`--shard ${spec}: shard index ${index} is outside 1..${count}`);
  return { index, count };
}

export const inShard = (pairIndex: number, s: Shard) => pairIndex % s.count === s.index - 1;

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Checks the batch entries for a sweep and fixes each pair's id and seed (entry seed, else base + index). */
export function planPairs(entries: BatchEntry[], file: string, baseSeed: number, alphaSwept: boolean): PlannedPair[] {
  const seen = new Map<string, number>();
  return entries.map((e, index) => {
    const where = `${file}:${e.line}`;
    if (e.negative === undefined) throw new EngineError(`${where}: no negative prompt; a sweep measures how each mode removes the negative concept, so every line needs one`);
    if (e.alpha !== undefined && alphaSwept) throw new EngineError(`${where}: 'alpha' on a line conflicts with the --alpha sweep; drop one of them`);
    const id = e.id ?? String(index).padStart(4, '0');
    if (!ID_RE.test(id) || id === '.' || id === '..') throw new EngineError(`${where}: id '${id}' cannot name a folder (use 1-64 of A-Z a-z 0-9 . _ -)`);
    const prev = seen.get(id);
    if (prev !== undefined) throw new EngineError(`${where}: id '${id}' was already used on line ${prev}`);
    seen.set(id, e.line);
    const p: PlannedPair = { index, id, prompt: e.prompt, negative: e.negative, seed: e.seed ?? baseSeed + index, line: e.line };
    if (e.scale !== undefined) p.scale = e.scale;
    if (e.alpha !== undefined) p.alpha = e.alpha;
    return p;
  });
}

const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

type BaseOptions = Omit<GenerateOptions, 'prompts'>;

function genKey(base: BaseOptions) {
  const g = base.guidance;
  return { steps: base.steps ?? null, timesteps: base.timesteps ?? null, width: base.width ?? null, height: base.height ?? null, noise: base.noise ?? null, scale: g?.scale ?? null, tau: g?.tau ?? null, offset: g?.offset ?? null };
}

export interface SweepOptions {
  outDir: string;
  pairs: PlannedPair[];
  settings: Setting[];
  shard: Shard;
  /** Generation options shared by every image (guidance mode/alpha come from the settings). */
  base: BaseOptions;
  /** The model as recorded in metadata and parts. */
  model: string;
  /** Progress output (default: stderr). */
  progress?: { write(s: string): unknown; isTTY?: boolean };
}

export interface SweepResult { generated: number; skipped: number; part: string; images: number }

export async function runSweep(pipe: ImagePipeline, o: SweepOptions): Promise<SweepResult> {
  const mine = o.pairs.filter((p) => inShard(p.index, o.shard));
  const fingerprint = sha({ pairs: o.pairs, settings: o.settings, gen: genKey(o.base), model: o.model });
  const bar = new ProgressBar(mine.length * o.settings.length, `generate (shard ${o.shard.index}/${o.shard.count})`, o.progress ?? process.stderr);
  let generated = 0, skipped = 0;
  const partPairs: SweepPart['pairs'] = [];
  for (const p of mine) {
    const images: Record<string, string> = {};
    for (const s of o.settings) {
      const rel = path.posix.join('images', p.id, `${s.tag}.png`);
      const file = path.join(o.outDir, rel);
      const guidance: GuidanceOptions = { ...o.base.guidance, mode: s.mode, alpha: s.alpha ?? p.alpha ?? undefined, scale: p.scale ?? o.base.guidance?.scale };
      const job = sha({ prompt: p.prompt, negative: s.mode === 'none' ? null : p.negative, seed: p.seed, setting: s, scale: guidance.scale ?? null, alpha: guidance.alpha ?? null, gen: genKey(o.base), model: o.model }).slice(0, 32);
      images[s.tag] = rel;
      if (readPngText(file)?.get('sweep_job') === job) {
        skipped++;
        bar.tick(1, `${p.id}/${s.tag} (kept)`);
        continue;
      }
      const r = await pipe.generate({ ...o.base, prompts: [p.prompt], negatives: s.mode === 'none' ? null : [p.negative], guidance, seed: p.seed });
      const g = r.guidance;
      const text = generationText({
        prompt: p.prompt, negative: g.mode === 'none' ? undefined : p.negative, guidance: g.mode,
        alpha: g.mode === 'nasa' ? (typeof g.alpha === 'number' ? g.alpha : undefined) : g.mode === 'nag' ? g.alpha : undefined,
        scale: 'scale' in g ? g.scale : undefined, seed: r.seed, steps: r.timesteps.length, model: o.model,
        width: r.width, height: r.height, scheduler: r.scheduler,
      });
      writeFileAtomic(file, encodePng(floatImageToRgb(r.image.data as Float32Array, r.image.shape, 0), [...text, ['sweep_job', job]]));
      generated++;
      bar.tick(1, `${p.id}/${s.tag}`);
    }
    partPairs.push({ index: p.index, id: p.id, prompt: p.prompt, negative: p.negative, seed: p.seed, line: p.line, images });
  }
  bar.finish(`${generated} rendered, ${skipped} kept from an earlier run`);
  const part: SweepPart = { format: PART_FORMAT, fingerprint, model: o.model, shard: o.shard, total_pairs: o.pairs.length, settings: o.settings, pairs: partPairs };
  const partFile = path.join(o.outDir, 'parts', `gen-${o.shard.index}-of-${o.shard.count}.json`);
  writeFileAtomic(partFile, JSON.stringify(part, null, 1) + '\n');
  return { generated, skipped, part: partFile, images: mine.length * o.settings.length };
}

/** Reads the generation parts of a run folder (all of them, or one shard's). */
export function readParts(runDir: string, shard?: Shard): SweepPart[] {
  const dir = path.join(runDir, 'parts');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^gen-\d+-of-\d+\.json$/.test(n));
  } catch {
    throw new EngineError(`${runDir}: not a sweep run folder (no parts/ from 'generate --batch-file ... --out-dir')`);
  }
  if (shard) names = names.filter((n) => n === `gen-${shard.index}-of-${shard.count}.json`);
  if (!names.length) throw new EngineError(`${dir}: no ${shard ? `gen-${shard.index}-of-${shard.count}.json` : 'gen-K-of-N.json'} part (run generate${shard ? ` --shard ${shard.index}/${shard.count}` : ''} first)`);
  return names.sort().map((n) => readPartFile<SweepPart>(path.join(dir, n), PART_FORMAT));
}

/** A part file (generation or scores) of the given format, with one-line errors. */
export function readPartFile<T extends { format: string }>(file: string, format: string): T {
  let v: T;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError(`${file}: unreadable part (${(e as Error).message})`);
  }
  if (v?.format !== format) throw new EngineError(`${file}: not a ${format} file`);
  return v;
}
