// The eval report: per-image CLIP scores and removal decisions, and a summary per setting
// (mode/alpha), as report.json and report.csv. Built only from the sorted scored images, so
// the same images and scores give the same bytes however the work was split into shards.
import { summarizeMean, summarizeRate, type MeanSummary, type RateSummary } from './stats.ts';

export const REPORT_FORMAT = 'nasa-engine-eval-report/1';

export interface EvalSetting { tag: string; mode: string; alpha: number | null }

export interface EvalPair {
  index: number;
  id: string;
  prompt: string;
  /** null: the pair has no negative prompt (no CLIP-, no removal decision). */
  negative: string | null;
  seed: number | null;
}

export interface EvalImage {
  /** EvalPair.index. */
  pair: number;
  /** EvalSetting.tag. */
  setting: string;
  /** Path as listed (relative to the run folder for sweeps). */
  file: string;
  /** Cosine similarity of the image to the positive prompt. */
  clip_pos: number;
  /** ... and to the negative prompt. */
  clip_neg: number | null;
  /** CLIP zero-shot probability of the negative over {positive prompt, negative prompt}. */
  p_negative: number | null;
  /** p_negative < threshold: the negative concept judged absent. */
  removed: boolean | null;
}

export interface ClipInfo {
  /** The scorer folder as given. */
  model: string;
  dtype: string;
  /** exp(logit_scale). */
  logit_scale: number;
  /** 'preprocessor_config.json' or 'CLIPImageProcessor defaults'. */
  preprocess: string;
}

export interface SettingSummary {
  setting: string;
  mode: string;
  alpha: number | null;
  n: number;
  clip_pos: MeanSummary;
  clip_neg: MeanSummary;
  /** Success = the negative concept judged absent (over images with a negative prompt). */
  removal: RateSummary;
}

export interface CellBox { image: number; x: number; y: number; width: number; height: number }

export interface Report {
  format: typeof REPORT_FORMAT;
  clip: ClipInfo;
  removal: { rule: string; threshold: number };
  settings: EvalSetting[];
  pairs: EvalPair[];
  images: EvalImage[];
  summary: SettingSummary[];
  /** `cells[i].image` indexes `images`; only the first `pairs_shown` pairs are drawn. */
  contact_sheet: { file: string; width: number; height: number; thumb: number; pairs_shown: number; cells: CellBox[] } | null;
}

export const REMOVAL_RULE = 'removed when CLIP zero-shot classification of the image over the two texts {positive prompt, negative prompt} gives the negative prompt a probability p_negative = softmax(logit_scale * [cos_neg, cos_pos])[0] below the threshold';

const r6 = (x: number) => Number(x.toFixed(6));
const roundMean = (m: MeanSummary): MeanSummary => ({ n: m.n, mean: m.mean === null ? null : r6(m.mean), std: m.std === null ? null : r6(m.std), ci95: m.ci95 ? [r6(m.ci95[0]), r6(m.ci95[1])] : null });
const roundRate = (m: RateSummary): RateSummary => ({ ...m, rate: m.rate === null ? null : r6(m.rate), ci95: m.ci95 ? [r6(m.ci95[0]), r6(m.ci95[1])] : null });

/** Rounds scores to 6 decimals (what the files hold). */
export function roundImage(im: EvalImage): EvalImage {
  return { ...im, clip_pos: r6(im.clip_pos), clip_neg: im.clip_neg === null ? null : r6(im.clip_neg), p_negative: im.p_negative === null ? null : r6(im.p_negative) };
}

/** Sorts images by pair then setting order and builds the summaries. */
export function buildReport(clip: ClipInfo, threshold: number, settings: EvalSetting[], pairs: EvalPair[], images: EvalImage[]): Report {
  const order = new Map(settings.map((s, i) => [s.tag, i]));
  const sorted = [...pairs].sort((a, b) => a.index - b.index);
  const imgs = images.map(roundImage).sort((a, b) => a.pair - b.pair || order.get(a.setting)! - order.get(b.setting)! || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const summary = settings.map((s): SettingSummary => {
    const mine = imgs.filter((im) => im.setting === s.tag);
    const withNeg = mine.filter((im) => im.clip_neg !== null);
    return {
      setting: s.tag, mode: s.mode, alpha: s.alpha, n: mine.length,
      clip_pos: roundMean(summarizeMean(mine.map((im) => im.clip_pos))),
      clip_neg: roundMean(summarizeMean(withNeg.map((im) => im.clip_neg!))),
      removal: roundRate(summarizeRate(withNeg.map((im) => im.removed!))),
    };
  });
  return { format: REPORT_FORMAT, clip, removal: { rule: REMOVAL_RULE, threshold }, settings, pairs: sorted, images: imgs, summary, contact_sheet: null };
}

const csvField = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function reportCsv(r: Report): string {
  const pairs = new Map(r.pairs.map((p) => [p.index, p]));
  const settings = new Map(r.settings.map((s) => [s.tag, s]));
  const head = ['pair', 'id', 'prompt', 'negative', 'seed', 'setting', 'mode', 'alpha', 'file', 'clip_pos', 'clip_neg', 'p_negative', 'removed'];
  const lines = [head.join(',')];
  for (const im of r.images) {
    const p = pairs.get(im.pair)!, s = settings.get(im.setting)!;
    lines.push([im.pair, p.id, p.prompt, p.negative, p.seed, s.tag, s.mode, s.alpha, im.file, im.clip_pos, im.clip_neg, im.p_negative, im.removed].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

/** The summary as a text table (stderr). */
export function summaryText(r: Report): string {
  const f = (m: MeanSummary) => (m.mean === null ? '-' : `${m.mean.toFixed(4)} ± ${m.std === null ? '-' : m.std.toFixed(4)}${m.ci95 ? ` [${m.ci95[0].toFixed(4)}, ${m.ci95[1].toFixed(4)}]` : ''}`);
  const rate = (x: RateSummary) => (x.rate === null ? '-' : `${(100 * x.rate).toFixed(1)}% (${x.successes}/${x.n})${x.ci95 ? ` [${(100 * x.ci95[0]).toFixed(1)}, ${(100 * x.ci95[1]).toFixed(1)}]` : ''}`);
  const rows = [['setting', 'n', 'CLIP+ mean ± std [95% CI]', 'CLIP- mean ± std [95% CI]', `removed (p_neg < ${r.removal.threshold}) [95% CI]`]];
  for (const s of r.summary) rows.push([s.setting, String(s.n), f(s.clip_pos), f(s.clip_neg), rate(s.removal)]);
  const w = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((x, c) => x.padEnd(w[c])).join('  ').trimEnd()).join('\n');
}
