// The experiment-runner side of `generate` (hooked in from generate.ts): with --out-dir,
// --batch-file runs a sweep over modes/alphas (src/pipeline/sweep.ts), optionally sharded.
import { EngineError } from '../errors.ts';
import { readBatchFile } from '../pipeline/batchfile.ts';
import type { GenerateOptions, ImagePipeline } from '../pipeline/index.ts';
import { parseSettings, parseShard, planPairs, runSweep, type PlannedPair, type Setting, type Shard } from '../pipeline/sweep.ts';

export const SWEEP_OPTS = { 'out-dir': { type: 'string' }, shard: { type: 'string' } } as const;

export const SWEEP_HELP = `  --out-dir DIR            with --batch-file: run a sweep into DIR (images/<id>/<mode>.png, parts/),
                           resumable; --guidance and --alpha then take comma lists (nasa,cfg,none / 0.1,0.2)
  --shard K/N | auto       render only the pairs of shard K of N (auto: Kubernetes / Slurm index)`;

export interface SweepArgs {
  outDir: string;
  batchFile: string;
  settings: Setting[];
  pairs: PlannedPair[];
  shard: Shard;
  /** The other options, with guidance/alpha taken out (they are the sweep's). */
  rest: Record<string, unknown>;
}

/** null unless --out-dir is given; checks the sweep options and the batch file before any model loads. */
export function sweepArgs(opts: Record<string, unknown>): SweepArgs | null {
  if (opts['out-dir'] === undefined) {
    if (opts.shard !== undefined) throw new EngineError('generate: --shard needs --batch-file and --out-dir (a sweep)');
    return null;
  }
  if (!opts['batch-file']) throw new EngineError('generate: --out-dir runs a sweep over --batch-file FILE; give one');
  if (opts.out !== undefined) throw new EngineError('generate: use -o for single runs or --out-dir for a sweep, not both');
  const settings = parseSettings(opts.guidance as string | undefined, opts.alpha as string | undefined);
  const shard = opts.shard !== undefined ? parseShard(String(opts.shard)) : { index: 1, count: 1 };
  const batchFile = String(opts['batch-file']);
  const seed = typeof opts.seed === 'number' ? opts.seed : 0;
  const pairs = planPairs(readBatchFile(batchFile), batchFile, seed, settings.some((s) => s.alpha !== null));
  const { guidance: _g, alpha: _a, ...rest } = opts;
  return { outDir: String(opts['out-dir']), batchFile, settings, pairs, shard, rest };
}

export async function runSweepCli(pipe: ImagePipeline, sw: SweepArgs, base: Omit<GenerateOptions, 'prompts'>, model: string): Promise<void> {
  const r = await runSweep(pipe, { outDir: sw.outDir, pairs: sw.pairs, settings: sw.settings, shard: sw.shard, base, model });
  console.error(`${r.images} images (${r.generated} rendered, ${r.skipped} kept); wrote ${r.part}`);
}
