// Model ids (`stabilityai/sd-turbo`, `ORG/NAME@REVISION`) resolved from the local Hugging
// Face hub cache, laid out exactly as huggingface_hub writes it, so models a diffusers user
// already has are found where they are:
//
//   <cache>/models--ORG--NAME/refs/main              the commit hash 'main' points at
//   <cache>/models--ORG--NAME/snapshots/<commit>/... the repo's files, as symlinks into
//   <cache>/models--ORG--NAME/blobs/<etag>           content, named by git sha1 / LFS sha256
//
// <cache> is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (XDG_CACHE_HOME
// replaces ~/.cache as in huggingface_hub). Nothing here touches the network; missing files
// are fetched only on request (`--download`, src/io/hub_download.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { readJsonObject } from './folder.ts';
import { planSnapshot, type PlanOptions } from './hub_plan.ts';

export interface ModelRef { repo: string; revision: string }

export interface HubOptions {
  /** Compute dtype: with 'f16' a component's fp16 variant is preferred where it exists. */
  dtype?: 'f32' | 'f16';
  variant?: string;
  /** Cache folder; default from the environment (hubCacheDir). */
  cacheDir?: string;
}

export interface ResolvedModel extends ModelRef {
  dir: string;            // snapshots/<commit>
  commit: string;
  preferVariant: string | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** `ORG/NAME[@REV]` as a model ref, or null when the string cannot be one. */
export function parseModelId(s: string): ModelRef | null {
  const at = s.indexOf('@');
  const id = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? 'main' : s.slice(at + 1);
  const parts = id.split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p) && !p.includes('--') && !p.endsWith('.'))) return null;
  // A revision is a branch, tag or commit; it names a file under refs/, so no '..' or empty segments.
  if (!revision || revision.split('/').some((seg) => !seg || seg === '.' || seg === '..' || !/^[A-Za-z0-9._-]+$/.test(seg))) return null;
  return { repo: id, revision };
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = (p: string) => (p.startsWith('~') ? path.join(os.homedir(), p.slice(1)) : p);
  if (env.HF_HUB_CACHE) return home(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return home(env.HUGGINGFACE_HUB_CACHE); // huggingface_hub's older name
  const hfHome = env.HF_HOME ? home(env.HF_HOME) : path.join(env.XDG_CACHE_HOME ? home(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(hfHome, 'hub');
}

/** `<cache>/models--ORG--NAME`. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

/** The variant to prefer for a compute dtype (diffusers' fp16 files for f16). */
export function preferredVariant(opts: HubOptions): string | null {
  return opts.variant ? null : opts.dtype === 'f16' ? 'fp16' : null;
}

export function planOptions(opts: HubOptions): PlanOptions {
  return { variant: opts.variant ?? null, preferVariant: preferredVariant(opts) };
}

/**
 * For the model argument of generate / loadPipeline: a path that exists stays as it is; a
 * model id is resolved from the cache (throws, naming what is missing, when it is not there).
 */
export function resolveModelArg(arg: string, opts: HubOptions = {}): { path: string; preferVariant: string | null } {
  if (fs.existsSync(arg)) return { path: arg, preferVariant: null };
  const ref = parseModelId(arg);
  if (!ref) return { path: arg, preferVariant: null }; // not an id: the caller reports the missing path
  const r = resolveCached(ref, opts);
  return { path: r.dir, preferVariant: r.preferVariant };
}

/** The complete cached snapshot of `ref`, or an EngineError saying what is missing. */
export function resolveCached(ref: ModelRef, opts: HubOptions = {}): ResolvedModel {
  const cache = opts.cacheDir ?? hubCacheDir();
  const id = ref.revision === 'main' ? ref.repo : `${ref.repo}@${ref.revision}`;
  const repoDir = repoCacheDir(cache, ref.repo);
  if (!fs.existsSync(repoDir)) {
    throw new EngineError(`${id}: not a local file or folder, and not in the Hugging Face cache ${cache} (no ${path.basename(repoDir)}/); pass --download to fetch it from the hub`);
  }
  const commit = commitOf(repoDir, ref.revision);
  if (!commit) {
    throw new EngineError(`${id}: revision '${ref.revision}' is not in the Hugging Face cache (${describeCached(repoDir)}); pass --download to fetch it`);
  }
  const dir = path.join(repoDir, 'snapshots', commit);
  if (!fs.existsSync(dir)) throw new EngineError(`${id}: refs/${ref.revision} points at ${commit}, but ${dir} does not exist; pass --download to fetch it`);
  const { files, broken } = listSnapshot(dir);
  const plan = planSnapshot(files, (rel) => readJsonObject(path.join(dir, rel)), planOptions(opts));
  if (plan.missing.length) {
    const links = broken.size ? `; links to missing blobs: ${[...broken].join(', ')}` : '';
    throw new EngineError(`${id}: the cached snapshot ${dir} is incomplete, missing: ${plan.missing.join(', ')}${links}; pass --download to fetch them`);
  }
  return { ...ref, dir, commit, preferVariant: preferredVariant(opts) };
}

/** The commit a revision names in this cached repo, or null. */
export function commitOf(repoDir: string, revision: string): string | null {
  const ref = path.join(repoDir, 'refs', ...revision.split('/'));
  if (fs.existsSync(ref) && fs.statSync(ref).isFile()) {
    const c = fs.readFileSync(ref, 'utf8').trim();
    if (!COMMIT_HASH.test(c)) throw new EngineError(`${ref}: expected a 40-character commit hash, got '${c.slice(0, 60)}'`);
    return c;
  }
  if (COMMIT_HASH.test(revision) && fs.existsSync(path.join(repoDir, 'snapshots', revision))) return revision;
  return null;
}

function describeCached(repoDir: string): string {
  const refs: string[] = [];
  const walk = (d: string, pre: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${pre}${e.name}/`);
      else refs.push(`${pre}${e.name} -> ${fs.readFileSync(path.join(d, e.name), 'utf8').trim().slice(0, 12)}`);
    }
  };
  const refsDir = path.join(repoDir, 'refs');
  if (fs.existsSync(refsDir)) walk(refsDir, '');
  const snaps = fs.existsSync(path.join(repoDir, 'snapshots')) ? fs.readdirSync(path.join(repoDir, 'snapshots')) : [];
  return `cached refs: ${refs.join(', ') || 'none'}; snapshots: ${snaps.map((s) => s.slice(0, 12)).join(', ') || 'none'}`;
}

/** Files of a snapshot whose content is there (links followed), and links to missing blobs. */
export function listSnapshot(dir: string): { files: Set<string>; broken: Set<string> } {
  const files = new Set<string>(), broken = new Set<string>();
  const walk = (d: string, pre: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      let st: fs.Stats;
      try { st = fs.statSync(full); } catch { broken.add(pre + e.name); continue; }
      if (st.isDirectory()) walk(full, `${pre}${e.name}/`);
      else files.add(pre + e.name);
    }
  };
  walk(dir, '');
  return { files, broken };
}
