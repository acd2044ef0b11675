// `--download`: fetch the files a model id needs from the Hugging Face hub (npm
// `@huggingface/hub`, loaded only here) into the hub cache layout of src/io/hub.ts, so the
// Python tools and this engine share one copy. Only on request, never by default.
//
// Per file, as huggingface_hub does: the resolve endpoint's ETag names the blob; bytes go to
// blobs/<etag>.incomplete (appended to from where an interrupted run stopped, with an HTTP
// Range request), are checked against the announced size and, where the ETag is a content
// hash (git blob sha1, LFS sha256), against it; then renamed to blobs/<etag> and linked from
// snapshots/<commit>/<path>. refs/<revision> is written last. A file under its final name is
// therefore always complete. HF_ENDPOINT overrides the hub URL, HF_TOKEN authenticates.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EngineError } from '../errors.ts';
import { ProgressBar, type ProgressStream } from '../pipeline/progress.ts';
import { writeFileAtomic } from './atomic.ts';
import { readJsonObject } from './folder.ts';
import { COMMIT_HASH, hubCacheDir, parseModelId, planOptions, repoCacheDir, resolveCached, type HubOptions, type ModelRef, type ResolvedModel } from './hub.ts';
import { planSnapshot } from './hub_plan.ts';

type Hub = typeof import('@huggingface/hub');

export interface DownloadOptions extends HubOptions {
  /** Hub URL (default: HF_ENDPOINT, else the library's default). */
  endpoint?: string;
  /** Access token (default: HF_TOKEN). */
  token?: string;
  /** Where the progress bar goes (default stderr). */
  progress?: ProgressStream;
}

/**
 * Makes `arg` available locally and returns the folder to open: a local path as it is, a
 * model id from the cache when complete there, else after downloading what is missing.
 */
export async function downloadModel(arg: string, opts: DownloadOptions = {}): Promise<string> {
  if (fs.existsSync(arg)) return arg;
  const ref = parseModelId(arg);
  if (!ref) throw new EngineError(`${arg}: no such file or folder, and not a model id ORG/NAME[@REVISION] to download`);
  try {
    return resolveCached(ref, opts).dir;
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
  }
  return (await fetchSnapshot(ref, opts)).dir;
}

interface Session {
  hub: Hub; ref: ModelRef; commit: string; repoDir: string;
  hubUrl: string | undefined; accessToken: string | undefined;
}

async function fetchSnapshot(ref: ModelRef, opts: DownloadOptions): Promise<ResolvedModel> {
  const hub = await import('@huggingface/hub');
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const hubUrl = (opts.endpoint ?? process.env.HF_ENDPOINT)?.replace(/\/+$/, '') || undefined;
  const accessToken = opts.token ?? (process.env.HF_TOKEN || undefined);
  const id = `${ref.repo}@${ref.revision}`;
  const info = await hubCall(id, hubUrl, () => hub.modelInfo({ name: ref.repo, revision: ref.revision, additionalFields: ['sha', 'filePaths'], hubUrl, accessToken }));
  const commit = String(info.sha ?? '');
  if (!COMMIT_HASH.test(commit)) throw new EngineError(`${id}: the hub answered without a commit hash for this revision`);
  const s: Session = { hub, ref, commit, repoDir: repoCacheDir(cacheDir, ref.repo), hubUrl, accessToken };
  const available = new Set(info.filePaths ?? []);
  const snapshot = path.join(s.repoDir, 'snapshots', commit);
  const local = (rel: string) => fs.existsSync(path.join(snapshot, rel));
  // model_index.json and shard indexes decide what else is needed: plan, fetch, plan again.
  for (let round = 0; ; round++) {
    const plan = planSnapshot(available, (rel) => (local(rel) ? readJsonObject(path.join(snapshot, rel)) : undefined), planOptions(opts));
    if (plan.missing.length) throw new EngineError(`${id}: the hub repo (commit ${commit}) has no ${plan.missing.join(', ')}`);
    const todo = plan.files.filter((f) => !local(f));
    if (!todo.length) break;
    if (round > 4) throw new EngineError(`${id}: the files to download did not settle (still missing: ${todo.join(', ')})`);
    await fetchFiles(s, todo, opts.progress ?? process.stderr);
  }
  if (ref.revision !== commit) writeFileAtomic(path.join(s.repoDir, 'refs', ...ref.revision.split('/')), commit);
  return resolveCached({ repo: ref.repo, revision: commit }, { ...opts, cacheDir });
}

async function fetchFiles(s: Session, files: string[], out: ProgressStream): Promise<void> {
  const infos = [];
  for (const rel of files) {
    const info = await hubCall(`${s.ref.repo}/${rel}`, s.hubUrl, () => s.hub.fileDownloadInfo({ repo: s.ref.repo, path: rel, revision: s.commit, hubUrl: s.hubUrl, accessToken: s.accessToken }));
    if (!info) throw new EngineError(`${s.ref.repo}@${s.commit}: ${rel} is listed by the hub but cannot be downloaded (not found)`);
    infos.push({ rel, info });
  }
  const MiB = 1 << 20;
  const total = infos.reduce((a, f) => a + f.info.size, 0);
  const bar = new ProgressBar(Math.max(1, Math.ceil(total / MiB)), `download ${s.ref.repo} (MiB)`, out);
  let done = 0, shown = 0, lastDraw = 0;
  const progress = (bytes: number, rel: string) => {
    done += bytes;
    const mib = Math.floor(done / MiB), now = performance.now();
    // Redraw at most 4x a second on a terminal, every 2 s in logs.
    if (mib > shown && now - lastDraw > (out.isTTY ? 250 : 2000)) {
      bar.tick(mib - shown, rel);
      shown = mib;
      lastDraw = now;
    }
  };
  for (const { rel, info } of infos) await fetchFile(s, rel, info, progress);
  bar.tick(Math.ceil(total / MiB) - shown);
  bar.finish();
}

type DownloadInfo = NonNullable<Awaited<ReturnType<Hub['fileDownloadInfo']>>>;

async function fetchFile(s: Session, rel: string, info: DownloadInfo, progress: (bytes: number, rel: string) => void): Promise<void> {
  const etag = info.etag.replace(/^W\//, '').replace(/"/g, '');
  if (!/^[A-Za-z0-9._-]+$/.test(etag)) throw new EngineError(`${s.ref.repo}/${rel}: the hub sent an unusable ETag '${info.etag}'`);
  const blob = path.join(s.repoDir, 'blobs', etag);
  const pointer = path.join(s.repoDir, 'snapshots', s.commit, ...rel.split('/'));
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  if (!(fs.existsSync(blob) && fs.statSync(blob).size === info.size)) {
    const part = `${blob}.incomplete`;
    let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    if (have > info.size) {
      fs.rmSync(part);
      have = 0;
    }
    progress(have, rel);
    if (have < info.size) await appendFrom(s, rel, info, part, have, progress);
    const got = fs.statSync(part).size;
    if (got !== info.size) {
      fs.rmSync(part);
      throw new EngineError(`${s.ref.repo}/${rel}: the hub sent ${got} bytes, expected ${info.size}; removed the partial file, run again`);
    }
    const bad = await verify(part, etag);
    if (bad) {
      fs.rmSync(part);
      throw new EngineError(`${s.ref.repo}/${rel}: downloaded content does not match its ETag (${bad}); removed the partial file, run again`);
    }
    fs.renameSync(part, blob);
  }
  link(blob, pointer);
}

/** Appends bytes [have, size) of the file to `part`; an interrupted transfer leaves what arrived. */
async function appendFrom(s: Session, rel: string, info: DownloadInfo, part: string, have: number, progress: (bytes: number, rel: string) => void): Promise<void> {
  const remote = await s.hub.downloadFile({ repo: s.ref.repo, path: rel, revision: s.commit, hubUrl: s.hubUrl, accessToken: s.accessToken, downloadInfo: info });
  if (!remote) throw new EngineError(`${s.ref.repo}@${s.commit}: ${rel} not found on the hub`);
  const body = Readable.fromWeb((have ? remote.slice(have) : remote).stream() as WebReadableStream<Uint8Array>);
  const fd = fs.openSync(part, 'a');
  let got = have, overflow = false;
  try {
    for await (const chunk of body) {
      const buf = chunk as Uint8Array;
      // More than is left means the server ignored the Range header and the bytes are not
      // the continuation: the partial file is unusable.
      if (got + buf.byteLength > info.size) {
        overflow = true;
        throw new Error(`received more than the announced ${info.size} bytes`);
      }
      fs.writeSync(fd, buf);
      got += buf.byteLength;
      progress(buf.byteLength, rel);
    }
  } catch (e) {
    if (overflow) fs.rmSync(part, { force: true });
    const again = overflow ? 'removed the partial file, run again' : 'run the same command again to resume';
    throw new EngineError(`${s.ref.repo}/${rel}: download interrupted after ${got} of ${info.size} bytes (${(e as Error)?.message ?? e}); ${again}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Null when the file matches an ETag that is a content hash (or is not one); else why not. */
async function verify(file: string, etag: string): Promise<string | null> {
  let h;
  if (/^[0-9a-f]{64}$/.test(etag)) h = createHash('sha256'); // LFS: sha256 of the content
  else if (/^[0-9a-f]{40}$/.test(etag)) h = createHash('sha1').update(`blob ${fs.statSync(file).size}\0`); // git blob id
  else return null;
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const got = h.digest('hex');
  return got === etag ? null : `hash ${got}`;
}

/** snapshots/<commit>/<path> -> ../../blobs/<etag> (relative, as huggingface_hub links), replaced atomically. */
function link(blob: string, pointer: string): void {
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
  fs.renameSync(tmp, pointer);
}

/** Runs a hub request, turning HTTP and network failures into one clear line. */
async function hubCall<T>(what: string, hubUrl: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e: any) {
    const where = hubUrl ? ` at ${hubUrl}` : '';
    const status = e?.statusCode as number | undefined;
    if (status === 401 || status === 403) throw new EngineError(`${what}: the hub${where} refused access (HTTP ${status}); the model may be gated, private or not exist -- set HF_TOKEN to a token that can read it`);
    if (status === 404) throw new EngineError(`${what}: not found on the hub${where} (HTTP 404: no such model, revision or file)`);
    if (status) throw new EngineError(`${what}: the hub${where} answered HTTP ${status}: ${e.message}`);
    throw new EngineError(`${what}: could not reach the hub${where} (${e?.cause?.code ?? e?.message ?? e})`);
  }
}
