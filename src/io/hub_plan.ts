// Which files of a diffusers pipeline repo the engine needs, decided from a list of the
// files that exist -- the same rules as openPipeline / openComponent / loadTokenizer
// (src/io/folder.ts, src/tokenizers/index.ts), so a snapshot that passes this plan opens.
// Used twice: on a local hub-cache snapshot (what is missing?) and on a hub repo's file
// list (what to download?). Paths are repo-relative with '/'.
import { posix } from 'node:path';
import { UNUSED_PARTS, weightFileNames } from './folder.ts';

export interface PlanOptions {
  /** Weight variant required for every component (`--variant`). */
  variant?: string | null;
  /** Variant taken where a component has it (e.g. 'fp16' with `--dtype f16`). */
  preferVariant?: string | null;
}

export interface SnapshotPlan {
  /** Needed files that exist. */
  files: string[];
  /** Needed files (or a description of the alternatives) that do not. */
  missing: string[];
  /** Existing JSON files whose content decides more (model_index.json, shard indexes) not read yet. */
  pending: string[];
}

/** `readJson(rel)`: the parsed file, or undefined when it is not available (yet). */
export type JsonReader = (rel: string) => Record<string, any> | undefined;

// Each alternative is a set of files that together make a tokenizer, in loadTokenizer's order.
const TOKENIZER_FILES = [['vocab.json', 'merges.txt'], ['tokenizer.json'], ['spiece.model']];
const TOKENIZER_EXTRAS = ['tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'];

export function planSnapshot(available: ReadonlySet<string>, readJson: JsonReader, opts: PlanOptions = {}): SnapshotPlan {
  const plan: SnapshotPlan = { files: [], missing: [], pending: [] };
  const need = (rel: string) => (available.has(rel) ? plan.files : plan.missing).push(rel);
  need('model_index.json');
  if (!available.has('model_index.json')) return plan;
  const index = readJson('model_index.json');
  if (!index) {
    plan.pending.push('model_index.json');
    return plan;
  }
  for (const [key, v] of Object.entries(index)) {
    if (key.startsWith('_') || !Array.isArray(v) || v[0] === null || v[1] === null || UNUSED_PARTS.has(key)) continue;
    const inFolder = [...available].filter((f) => posix.dirname(f) === key).map((f) => posix.basename(f));
    if (key.startsWith('scheduler')) need(`${key}/scheduler_config.json`);
    else if (key.startsWith('tokenizer')) planTokenizer(key, new Set(inFolder), plan);
    else planComponent(key, inFolder, readJson, opts, plan, need);
  }
  return plan;
}

function planTokenizer(key: string, names: Set<string>, plan: SnapshotPlan): void {
  const alt = TOKENIZER_FILES.find((fs) => fs.every((f) => names.has(f)));
  if (!alt) {
    plan.missing.push(`${key}/ (${TOKENIZER_FILES.map((fs) => fs.join(' + ')).join(', or ')})`);
    return;
  }
  for (const f of [...alt, ...TOKENIZER_EXTRAS.filter((e) => names.has(e))]) plan.files.push(`${key}/${f}`);
}

function planComponent(
  key: string, names: string[], readJson: JsonReader, opts: PlanOptions, plan: SnapshotPlan, need: (rel: string) => void,
): void {
  need(`${key}/config.json`);
  const weights = weightFileNames(names);
  const want = opts.variant ?? null;
  let variant: string | undefined;
  if (want !== null) variant = weights.has(want) ? want : undefined;
  else if (opts.preferVariant && weights.has(opts.preferVariant)) variant = opts.preferVariant;
  else if (weights.has('')) variant = '';
  else if (weights.size === 1) variant = [...weights.keys()][0];
  if (variant === undefined) {
    const what = want !== null ? `'${want}' variant weights` : weights.size ? `one weight variant of ${[...weights.keys()].join(', ')} (choose with --variant)` : 'safetensors weights';
    plan.missing.push(`${key}/ (${what}, e.g. ${key}/${key.startsWith('text_encoder') ? 'model' : 'diffusion_pytorch_model'}${want ? `.${want}` : ''}.safetensors)`);
    return;
  }
  const entry = `${key}/${weights.get(variant)!}`;
  plan.files.push(entry);
  if (!entry.endsWith('.json')) return;
  const idx = readJson(entry);
  if (!idx) {
    plan.pending.push(entry);
    return;
  }
  const shards = new Set(Object.values((idx.weight_map ?? {}) as Record<string, unknown>).filter((f): f is string => typeof f === 'string'));
  for (const s of shards) {
    // A shard name must be a bare file name (openSharded rejects others with a clear error).
    if (s === posix.basename(s)) need(`${key}/${s}`);
  }
}
