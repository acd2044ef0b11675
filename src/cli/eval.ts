// `eval`: CLIP scores of generated images against their prompt pairs -> report.json,
// report.csv, contact.png and a summary per setting (src/eval/).
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { ClipScorer } from '../eval/clip_scorer.ts';
import { checkThreshold, collectFiles, collectRun, isRunDir, mergeScores, scoreCollection, writeReport, writeScorePart, type Collection } from '../eval/evaluate.ts';
import { buildReport, summaryText, type ClipInfo } from '../eval/report.ts';
import { parseShard } from '../pipeline/sweep.ts';
import { parseArgs } from './args.ts';

const USAGE = `usage: npx tsx src/cli.ts eval <run-dir | image files | image folders> --clip DIR [options]
       npx tsx src/cli.ts eval --merge <run-dir> [--out DIR]

  <run-dir>            the --out-dir of 'generate --batch-file ... --out-dir' (pairs, seeds and modes from its parts/)
  <images>             PNG/JPEG files or folders of them (sorted by name); prompt pairs from --pairs, else
                       from each PNG's prompt / negative_prompt metadata, the mode from its guidance/alpha
  --clip DIR           a transformers CLIPModel folder (config.json, model.safetensors, preprocessor_config.json,
                       vocab.json + merges.txt): openai/clip-vit-*, HPSv2, PickScore (ViT-H/14)
  --tokenizer DIR      the CLIP tokenizer files, when not in the --clip folder
  --pairs FILE         JSONL/CSV batch file, one line per image (prompt, negative, seed, id)
  --threshold T        removal decision: the negative is judged absent when CLIP zero-shot over
                       {positive prompt, negative prompt} gives it p < T (default 0.5)
  --dtype f32|f16      scorer compute dtype (f32)
  --shard K/N | auto   score only shard K's pairs of a run -> <run-dir>/parts/scores-K-of-N.json
  --merge              join the score parts of a run into the report (identical to an unsharded eval)
  --out DIR            where report.json, report.csv and contact.png go (default: the run folder, or eval-report/)
  --thumb PX           contact-sheet thumbnail size (default 128)
  --sheet-pairs N      draw the first N pairs on the contact sheet (default 100; the reports hold all)
  -h, --help           this text`;

export async function run(argv: string[]): Promise<void> {
  const { positional, opts } = parseArgs('eval', argv, {
    clip: { type: 'string' }, tokenizer: { type: 'string' }, pairs: { type: 'string' }, threshold: { type: 'number' },
    dtype: { type: 'string' }, shard: { type: 'string' }, merge: { type: 'boolean' }, out: { type: 'string' }, thumb: { type: 'number' },
    'sheet-pairs': { type: 'number' },
    help: { alias: 'h', type: 'boolean' },
  });
  if (opts.help) return void console.log(USAGE);
  const thumb = (opts.thumb as number | undefined) ?? 128;
  if (!Number.isInteger(thumb) || thumb < 8 || thumb > 1024) throw new EngineError(`eval: --thumb must be an integer in 8..1024, got ${thumb}`);
  const sheetPairs = (opts['sheet-pairs'] as number | undefined) ?? 100;
  if (!Number.isInteger(sheetPairs) || sheetPairs < 1) throw new EngineError(`eval: --sheet-pairs must be a positive integer, got ${sheetPairs}`);
  const sheet = { thumb, pairs: sheetPairs };
  if (!positional.length) throw new EngineError(`eval: give a run folder or images\n${USAGE}`);

  if (opts.merge) {
    if (positional.length !== 1) throw new EngineError('eval --merge: give exactly one run folder');
    for (const o of ['clip', 'shard', 'pairs', 'threshold', 'dtype', 'tokenizer']) if (opts[o] !== undefined) throw new EngineError(`eval --merge: --${o} does not apply (the score parts already hold it)`);
    const runDir = positional[0];
    const r = mergeScores(runDir);
    return finish(r, (opts.out as string | undefined) ?? runDir, runDir, sheet);
  }

  if (!opts.clip) throw new EngineError('eval: --clip DIR (a CLIPModel folder) is required');
  const threshold = checkThreshold((opts.threshold as number | undefined) ?? 0.5);
  const dtype = (opts.dtype as string | undefined) ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new EngineError(`eval: --dtype must be f32 or f16, got '${dtype}'`);
  const run = positional.length === 1 && isRunDir(positional[0]);
  if (run && opts.pairs) throw new EngineError(`eval: ${positional[0]} is a sweep run folder, which has its pairs; --pairs is for loose images`);
  if (!run && opts.shard) throw new EngineError('eval: --shard applies to a sweep run folder');
  const shard = opts.shard ? parseShard(String(opts.shard)) : undefined;
  const c: Collection = run ? collectRun(positional[0], shard) : collectFiles(positional, opts.pairs as string | undefined);

  const scorer = ClipScorer.load(opts.clip as string, { dtype, tokenizer: opts.tokenizer as string | undefined });
  try {
    const clip: ClipInfo = {
      model: opts.clip as string, dtype, logit_scale: Number(scorer.logitScale.toFixed(6)),
      preprocess: scorer.processor.source.endsWith('preprocessor_config.json') ? 'preprocessor_config.json' : 'CLIPImageProcessor defaults',
    };
    const tty = process.stderr.isTTY;
    const images = await scoreCollection(scorer, c, threshold, (done, total) => tty && process.stderr.write(`\reval: ${done}/${total} pairs scored`));
    if (tty) process.stderr.write('\n');
    if (shard) {
      const file = writeScorePart(positional[0], shard, c, clip, threshold, images);
      console.error(`scored ${images.length} images of shard ${shard.index}/${shard.count}; wrote ${file} (join the shards with eval --merge ${positional[0]})`);
      return;
    }
    const r = buildReport(clip, threshold, c.settings, c.pairs, images);
    finish(r, (opts.out as string | undefined) ?? (run ? positional[0] : 'eval-report'), run ? positional[0] : '.', sheet);
  } finally {
    scorer.destroy();
  }
}

function finish(r: ReturnType<typeof buildReport>, outDir: string, baseDir: string, sheet: { thumb: number; pairs: number }): void {
  const files = writeReport(outDir, r, baseDir, sheet.thumb, sheet.pairs);
  console.log(summaryText(r));
  console.error(`${r.images.length} images, ${r.pairs.length} pairs, ${r.settings.length} settings; wrote ${[files.json, files.csv, files.png].map((f) => path.normalize(f)).join(', ')}`);
}
