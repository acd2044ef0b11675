// `eval`: score images against their prompt pairs with a CLIP scorer and write the report.
// Sources: a sweep run folder (all of it, or one shard's part), or image files / folders
// with a --pairs batch file (or the prompts in their PNG metadata). Sharded scoring writes
// parts/scores-K-of-N.json; `mergeScores` joins them into the report the unsharded run
// writes, byte for byte: each pair is scored as one batch (its images, then its two texts)
// whatever shard it falls in, and the report is built from sorted, rounded scores only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readBatchFile } from '../pipeline/batchfile.ts';
import { readPartFile, readParts, type Shard } from '../pipeline/sweep.ts';
import { cosine, type ClipScorer } from './clip_scorer.ts';
import { contactSheet } from './contact.ts';
import { checkImageFile, readImage, readPngText } from './image_io.ts';
import { buildReport, reportCsv, roundImage, type ClipInfo, type EvalImage, type EvalPair, type EvalSetting, type Report } from './report.ts';

export interface Item { pair: number; setting: string; file: string }

export interface Collection {
  /** Sweep fingerprint (run folders), null for loose files. */
  fingerprint: string | null;
  settings: EvalSetting[];
  pairs: EvalPair[];
  items: Item[];
  totalPairs: number;
  /** Folder that item paths are relative to. */
  baseDir: string;
}

export const isRunDir = (p: string) => {
  try {
    return fs.readdirSync(path.join(p, 'parts')).some((n) => /^gen-\d+-of-\d+\.json$/.test(n));
  } catch {
    return false;
  }
};

function checkComplete(kind: string, parts: Array<{ file: string; fingerprint: string; shard: Shard }>): number {
  const prints = new Set(parts.map((p) => p.fingerprint));
  if (prints.size > 1) throw new EngineError(`${kind} parts come from different sweeps (batch file, settings or model differ): ${parts.map((p) => p.file).join(', ')}`);
  const counts = [...new Set(parts.map((p) => p.shard.count))];
  if (counts.length > 1) throw new EngineError(`${kind} parts of different shardings (${counts.map((n) => `N=${n}`).join(', ')}): ${parts.map((p) => p.file).join(', ')}; remove the stale ones`);
  const N = counts[0], have = new Set(parts.map((p) => p.shard.index));
  const missing = Array.from({ length: N }, (_, i) => i + 1).filter((k) => !have.has(k));
  if (missing.length) throw new EngineError(`${kind}: missing shard(s) ${missing.map((k) => `${k}/${N}`).join(', ')} (found ${parts.map((p) => path.basename(p.file)).join(', ')})`);
  return N;
}

/** The images of a sweep run (one shard's, or all shards', which must all be there). */
export function collectRun(runDir: string, shard?: Shard): Collection {
  const parts = readParts(runDir, shard);
  if (!shard) checkComplete(`${runDir}: generation`, parts.map((p) => ({ file: path.join(runDir, 'parts', `gen-${p.shard.index}-of-${p.shard.count}.json`), fingerprint: p.fingerprint, shard: p.shard })));
  const settings = parts[0].settings.map((s) => ({ tag: s.tag, mode: s.mode, alpha: s.alpha }));
  const pairs: EvalPair[] = [], items: Item[] = [];
  for (const part of parts) {
    for (const p of part.pairs) {
      pairs.push({ index: p.index, id: p.id, prompt: p.prompt, negative: p.negative, seed: p.seed });
      for (const s of settings) {
        const file = p.images[s.tag];
        if (!file || !fs.existsSync(path.join(runDir, file))) throw new EngineError(`${path.join(runDir, file ?? `images/${p.id}/${s.tag}.png`)}: missing; re-run generate --shard ${part.shard.index}/${part.shard.count} to render it`);
        items.push({ pair: p.index, setting: s.tag, file });
      }
    }
  }
  pairs.sort((a, b) => a.index - b.index);
  return { fingerprint: parts[0].fingerprint, settings, pairs, items, totalPairs: parts[0].total_pairs, baseDir: runDir };
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/**
 * Loose images: files and folders (their .png/.jpg/.jpeg files, sorted by name). Pairs come
 * from `pairsFile` (one line per image, in that order) or else from each PNG's prompt and
 * negative_prompt metadata; the setting from its guidance/alpha metadata.
 */
export function collectFiles(inputs: string[], pairsFile?: string): Collection {
  const files: string[] = [];
  for (const inp of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(inp);
    } catch {
      throw new EngineError(`${inp}: no such image file or folder`);
    }
    if (st.isDirectory()) {
      const found = fs.readdirSync(inp).filter((n) => IMAGE_EXT.test(n)).sort();
      if (!found.length) throw new EngineError(`${inp}: no .png/.jpg/.jpeg images in the folder`);
      files.push(...found.map((n) => path.join(inp, n)));
    } else files.push(inp);
  }
  if (!files.length) throw new EngineError('eval: no images given');
  files.forEach(checkImageFile);
  const entries = pairsFile ? readBatchFile(pairsFile) : null;
  if (entries && entries.length !== files.length) {
    throw new EngineError(`${pairsFile}: ${entries.length} prompt pair(s) for ${files.length} image(s); give one line per image, in the order they are listed (folders: sorted by name; first: ${files[0]}, last: ${files[files.length - 1]})`);
  }
  const pairKey = new Map<string, number>(), pairs: EvalPair[] = [], settings: EvalSetting[] = [], items: Item[] = [];
  files.forEach((file, i) => {
    const meta = readPngText(file) ?? new Map<string, string>();
    let prompt: string, negative: string | null, seed: number | null = null, id: string | undefined;
    if (entries) {
      const e = entries[i];
      [prompt, negative, id] = [e.prompt, e.negative ?? null, e.id];
      seed = e.seed ?? null;
    } else {
      const p = meta.get('prompt');
      if (p === undefined) throw new EngineError(`${file}: no prompt in its metadata; give the prompt pairs with --pairs FILE (one line per image)`);
      [prompt, negative] = [p, meta.get('negative_prompt') ?? null];
      const s = Number(meta.get('seed'));
      seed = meta.has('seed') && Number.isSafeInteger(s) ? s : null;
    }
    const key = JSON.stringify([prompt, negative]);
    let pi = pairKey.get(key);
    if (pi === undefined) {
      pi = pairs.length;
      pairKey.set(key, pi);
      pairs.push({ index: pi, id: id ?? String(pi).padStart(4, '0'), prompt, negative, seed });
    }
    const mode = meta.get('guidance') ?? 'image';
    const a = meta.has('alpha') ? Number(meta.get('alpha')) : null;
    const alpha = a !== null && Number.isFinite(a) && (mode === 'nasa' || mode === 'nag') ? a : null;
    const tag = alpha !== null ? `${mode}-a${alpha}` : mode;
    if (!settings.some((s) => s.tag === tag)) settings.push({ tag, mode, alpha });
    items.push({ pair: pi, setting: tag, file });
  });
  return { fingerprint: null, settings, pairs, items, totalPairs: pairs.length, baseDir: '.' };
}

/** Scores every item: per pair one batch of its images and one of its texts. */
export async function scoreCollection(scorer: ClipScorer, c: Collection, threshold: number, onPair?: (done: number, total: number) => void): Promise<EvalImage[]> {
  const out: EvalImage[] = [];
  const ls = scorer.logitScale;
  for (let i = 0; i < c.pairs.length; i++) {
    const p = c.pairs[i];
    const mine = c.items.filter((it) => it.pair === p.index);
    if (!mine.length) continue;
    const names = mine.map((it) => path.resolve(c.baseDir, it.file));
    const img = await scorer.embedImages(names.map((f) => readImage(f)), names);
    const txt = await scorer.embedTexts(p.negative === null ? [p.prompt] : [p.prompt, p.negative]);
    mine.forEach((it, k) => {
      const pos = cosine(img[k], txt[0]);
      const neg = p.negative === null ? null : cosine(img[k], txt[1]);
      const pNeg = neg === null ? null : 1 / (1 + Math.exp(ls * (pos - neg)));
      out.push(roundImage({ pair: p.index, setting: it.setting, file: it.file, clip_pos: pos, clip_neg: neg, p_negative: pNeg, removed: pNeg === null ? null : pNeg < threshold }));
    });
    onPair?.(i + 1, c.pairs.length);
  }
  return out;
}

export function checkThreshold(t: number): number {
  if (!(t > 0 && t < 1)) throw new EngineError(`--threshold must be in (0, 1), got ${t}`);
  return t;
}

// ---- shard score parts ---------------------------------------------------------------

export const SCORE_PART_FORMAT = 'nasa-engine-eval-part/1';

interface ScorePart {
  format: typeof SCORE_PART_FORMAT;
  fingerprint: string;
  shard: Shard;
  total_pairs: number;
  clip: ClipInfo;
  threshold: number;
  settings: EvalSetting[];
  pairs: EvalPair[];
  images: EvalImage[];
}

export function writeScorePart(runDir: string, shard: Shard, c: Collection, clip: ClipInfo, threshold: number, images: EvalImage[]): string {
  const part: ScorePart = { format: SCORE_PART_FORMAT, fingerprint: c.fingerprint!, shard, total_pairs: c.totalPairs, clip, threshold, settings: c.settings, pairs: c.pairs, images };
  const file = path.join(runDir, 'parts', `scores-${shard.index}-of-${shard.count}.json`);
  writeFileAtomic(file, JSON.stringify(part, null, 1) + '\n');
  return file;
}

/** Joins every parts/scores-K-of-N.json of a run into one report. */
export function mergeScores(runDir: string): Report {
  const dir = path.join(runDir, 'parts');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^scores-\d+-of-\d+\.json$/.test(n)).sort();
  } catch {
    throw new EngineError(`${runDir}: no parts/ folder (expected the output of generate --out-dir and eval --shard)`);
  }
  if (!names.length) throw new EngineError(`${dir}: no scores-K-of-N.json parts; run eval ${runDir} --clip DIR --shard K/N for each shard first`);
  const parts = names.map((n) => ({ ...readPartFile<ScorePart>(path.join(dir, n), SCORE_PART_FORMAT), file: path.join(dir, n) }));
  checkComplete(`${runDir}: score`, parts);
  const a = parts[0];
  for (const p of parts) {
    if (JSON.stringify(p.clip) !== JSON.stringify(a.clip) || p.threshold !== a.threshold) {
      throw new EngineError(`${p.file}: scored with another CLIP model, dtype or threshold than ${a.file} (${JSON.stringify(p.clip)}, ${p.threshold} vs ${JSON.stringify(a.clip)}, ${a.threshold})`);
    }
  }
  const pairs = parts.flatMap((p) => p.pairs), images = parts.flatMap((p) => p.images);
  if (pairs.length !== a.total_pairs) throw new EngineError(`${dir}: the score parts hold ${pairs.length} pairs, the sweep has ${a.total_pairs}`);
  return buildReport(a.clip, a.threshold, a.settings, pairs, images);
}

/**
 * Writes contact.png, report.csv and report.json into `outDir` (each via a temporary file).
 * The sheet shows the first `sheetPairs` pairs (a sweep of thousands would not fit one PNG).
 */
export function writeReport(outDir: string, r: Report, baseDir: string, thumb: number, sheetPairs = 100): { json: string; csv: string; png: string } {
  const shown = new Set(r.pairs.slice(0, sheetPairs).map((p) => p.index));
  const index = r.images.map((im, i) => (shown.has(im.pair) ? i : -1)).filter((i) => i >= 0);
  const sub: Report = { ...r, pairs: r.pairs.filter((p) => shown.has(p.index)), images: index.map((i) => r.images[i]) };
  const sheet = contactSheet(sub, (f) => readImage(path.resolve(baseDir, f)), thumb);
  const cells = sheet.cells.map((c) => ({ ...c, image: index[c.image] })); // indices into the full report
  const report: Report = { ...r, contact_sheet: { file: 'contact.png', width: sheet.width, height: sheet.height, thumb, pairs_shown: shown.size, cells } };
  const json = JSON.stringify(report, null, 1) + '\n', csv = reportCsv(report);
  const files = { png: path.join(outDir, 'contact.png'), csv: path.join(outDir, 'report.csv'), json: path.join(outDir, 'report.json') };
  writeFileAtomic(files.png, sheet.png);
  writeFileAtomic(files.csv, csv);
  writeFileAtomic(files.json, json);
  return files;
}
