// Model ids from the Hugging Face hub cache (src/io/hub.ts) and `--download` into it
// (src/io/hub_download.ts). The caches here are laid out by hand the way huggingface_hub
// writes them (refs/, snapshots/ of relative symlinks, blobs/ named by content hash), and
// downloads come from a fake hub on 127.0.0.1 (test/io/fakehub.ts): no real host is contacted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineError } from '../../src/errors.ts';
import { convert } from '../../src/io/convert.ts';
import { hubCacheDir, parseModelId, resolveCached } from '../../src/io/hub.ts';
import { downloadModel } from '../../src/io/hub_download.ts';
import { openModel } from '../../src/io/open.ts';
import { loadPipeline } from '../../src/pipeline/index.ts';
import { startFakeHub } from './fakehub.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-'));
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const OTHER = 'b'.repeat(40);

// The embedded model plus an fp16 variant of its unet and a feature_extractor the engine never uses.
const model = path.join(tmp, 'model');
fs.cpSync('weights/default', model, { recursive: true });
// (the embedded weights are F16: the plain file becomes F32, as in a real repo).
const unetFile = path.join(model, 'unet/diffusion_pytorch_model.safetensors');
fs.renameSync(unetFile, path.join(model, 'unet/diffusion_pytorch_model.fp16.safetensors'));
convert(path.join(model, 'unet/diffusion_pytorch_model.fp16.safetensors'), unetFile, { dtype: 'F32' });
const index = JSON.parse(fs.readFileSync(path.join(model, 'model_index.json'), 'utf8'));
fs.writeFileSync(path.join(model, 'model_index.json'), JSON.stringify({ ...index, feature_extractor: ['transformers', 'CLIPImageProcessor'] }));
fs.mkdirSync(path.join(model, 'feature_extractor'));
fs.writeFileSync(path.join(model, 'feature_extractor/preprocessor_config.json'), '{}');

function filesOf(dir: string, pre = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(path.join(dir, e.name), `${pre}${e.name}/`) : [pre + e.name]));
}
const sha256 = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** huggingface_hub's layout for `files` of `src` at `commit`, by hand. */
function layCache(cache: string, repo: string, commit: string, src: string, opts: { refs?: Record<string, string>; omit?: string[] } = {}): string {
  const root = path.join(cache, `models--${repo.replace('/', '--')}`);
  for (const rel of filesOf(src)) {
    if (opts.omit?.includes(rel)) continue;
    const data = fs.readFileSync(path.join(src, rel));
    const etag = rel.endsWith('.safetensors') ? createHash('sha256').update(data).digest('hex') : createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'blobs', etag), data);
    const link = path.join(root, 'snapshots', commit, rel);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(root, 'blobs', etag)), link);
  }
  for (const [ref, c] of Object.entries(opts.refs ?? { main: commit })) {
    fs.mkdirSync(path.join(root, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'refs', ref), c);
  }
  return root;
}

const cache = path.join(tmp, 'cache');
layCache(cache, 'test-org/tiny', COMMIT, model);
const partialRoot = layCache(cache, 'test-org/partial', OTHER, model, { omit: ['vae/diffusion_pytorch_model.safetensors', 'unet/config.json'] });
// A link whose blob is gone (an interrupted `rm`, a cleaned cache).
fs.rmSync(fs.realpathSync(path.join(partialRoot, 'snapshots', OTHER, 'text_encoder/model.safetensors')));

function throwsEngine(fn: () => unknown, re: RegExp): void {
  try { fn(); } catch (e) {
    assert.instance(e, EngineError, String(e));
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}
async function rejectsEngine(p: Promise<unknown>, re: RegExp): Promise<string> {
  try { await p; } catch (e) {
    assert.instance(e, EngineError, String(e));
    assert.match((e as Error).message, re);
    return (e as Error).message;
  }
  assert.unreachable(`expected an error matching ${re}`);
  return '';
}

test('the cache folder comes from HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
  assert.is(hubCacheDir({ HF_HUB_CACHE: '/c/hub', HF_HOME: '/h' }), '/c/hub');
  assert.is(hubCacheDir({ HF_HOME: '/h' }), path.join('/h', 'hub'));
  assert.is(hubCacheDir({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'huggingface', 'hub'));
  assert.is(hubCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
});

test('model ids: ORG/NAME[@REV]; anything else is a path', () => {
  assert.equal(parseModelId('stabilityai/sd-turbo'), { repo: 'stabilityai/sd-turbo', revision: 'main' });
  assert.equal(parseModelId('PixArt-alpha/PixArt-XL-2-512x512@refs/pr/3'), { repo: 'PixArt-alpha/PixArt-XL-2-512x512', revision: 'refs/pr/3' });
  for (const p of ['sd-turbo', './a/b', '/abs/path', 'a/b/c', 'a/b@', 'a/b@../x', 'a--b/c', '../x']) assert.is(parseModelId(p), null, p);
});

test('an id resolves to its snapshot through refs/main, a commit hash or a branch, and loads', () => {
  const dir = path.join(cache, 'models--test-org--tiny', 'snapshots', COMMIT);
  assert.is(resolveCached({ repo: 'test-org/tiny', revision: 'main' }, { cacheDir: cache }).dir, dir);
  assert.is(resolveCached({ repo: 'test-org/tiny', revision: COMMIT }, { cacheDir: cache }).dir, dir);
  const prev = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  try {
    // f16 prefers the fp16 variant file; f32 keeps the plain one.
    assert.match(openModel('test-org/tiny', { dtype: 'f16' }).components.unet.store.describe(), /diffusion_pytorch_model\.fp16\.safetensors$/);
    assert.match(openModel('test-org/tiny@main').components.unet.store.describe(), /diffusion_pytorch_model\.safetensors$/);
    // (test/package.test.ts generates from an id end to end.)
    const pipe = loadPipeline('test-org/tiny', { dtype: 'f16' });
    assert.is(pipe.family, 'sd2');
    pipe.destroy();
  } finally {
    if (prev === undefined) delete process.env.HF_HUB_CACHE; else process.env.HF_HUB_CACHE = prev;
  }
});

test('bad input: unknown id, unknown revision, incomplete snapshot -- each named, with what is missing', () => {
  throwsEngine(() => resolveCached({ repo: 'nobody/nothing', revision: 'main' }, { cacheDir: cache }), /nobody\/nothing: not a local file or folder, and not in the Hugging Face cache .*models--nobody--nothing.*--download/);
  throwsEngine(() => resolveCached({ repo: 'test-org/tiny', revision: 'v2' }, { cacheDir: cache }), /revision 'v2' is not in the Hugging Face cache \(cached refs: main -> aaaaaaaa0123; snapshots: aaaaaaaa0123\)/);
  throwsEngine(() => resolveCached({ repo: 'test-org/tiny', revision: OTHER }, { cacheDir: cache }), /revision 'b{40}' is not in the Hugging Face cache/);
  throwsEngine(() => resolveCached({ repo: 'test-org/tiny', revision: 'main' }, { cacheDir: cache, variant: 'bf16' }), /incomplete, missing: text_encoder\/ \('bf16' variant weights.*unet\/ \('bf16'.*vae\/ \('bf16'/);
  throwsEngine(() => resolveCached({ repo: 'test-org/partial', revision: 'main' }, { cacheDir: cache }),
    /incomplete, missing: text_encoder\/ \(safetensors weights.*unet\/config\.json, vae\/ \(safetensors weights.*; links to missing blobs: text_encoder\/model\.safetensors; pass --download/);
});

test('--download fetches exactly what is needed into the cache layout, then resolves offline', async () => {
  const hub = await startFakeHub({ 'test-org/tiny': { dir: model, commit: COMMIT } });
  const c = path.join(tmp, 'dl-cache');
  let log = '';
  try {
    const dir = await downloadModel('test-org/tiny', { cacheDir: c, endpoint: hub.url, dtype: 'f16', progress: { write: (s: string) => { log += s; } } });
    const root = path.join(c, 'models--test-org--tiny');
    assert.is(dir, path.join(root, 'snapshots', COMMIT));
    assert.is(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), COMMIT);
    const got = filesOf(dir).sort();
    // fp16 preferred with f16: the plain unet file is not fetched; neither is the unused feature_extractor.
    assert.equal(got, filesOf(model).filter((f) => f !== 'unet/diffusion_pytorch_model.safetensors' && !f.startsWith('feature_extractor')).sort());
    for (const rel of got) {
      const link = path.join(dir, rel);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), `${rel} is a symlink`);
      assert.ok(!path.isAbsolute(fs.readlinkSync(link)) && fs.readlinkSync(link).includes('blobs'), `${rel}: relative link into blobs/`);
      assert.ok(fs.readFileSync(link).equals(fs.readFileSync(path.join(model, rel))), `${rel} content`);
    }
    assert.is(path.basename(fs.realpathSync(path.join(dir, 'vae/diffusion_pytorch_model.safetensors'))), sha256(path.join(model, 'vae/diffusion_pytorch_model.safetensors')));
    assert.equal(fs.readdirSync(path.join(root, 'blobs')).filter((f) => f.includes('.')), [], 'no temporary files left');
    assert.match(log, /download test-org\/tiny \(MiB\): \d+\/\d+ done/);
    // Complete now: a second call and opening by id need no request.
    const before = hub.requests.length;
    assert.is(await downloadModel('test-org/tiny', { cacheDir: c, endpoint: hub.url, dtype: 'f16', progress: { write() {} } }), dir);
    assert.is(hub.requests.length, before);
    assert.is(resolveCached({ repo: 'test-org/tiny', revision: 'main' }, { cacheDir: c, dtype: 'f16' }).dir, dir);
  } finally {
    await hub.close();
  }
});

test('a download interrupted half-way leaves no file under its final name and resumes with a Range request', async () => {
  const hub = await startFakeHub({ 'test-org/tiny': { dir: model, commit: COMMIT } });
  const c = path.join(tmp, 'cut-cache');
  const rel = 'unet/diffusion_pytorch_model.safetensors';
  const size = fs.statSync(path.join(model, rel)).size;
  const blob = path.join(c, 'models--test-org--tiny', 'blobs', sha256(path.join(model, rel)));
  const quiet = { write() {} };
  try {
    hub.cutOnce.set(rel, Math.floor(size / 2));
    const msg = await rejectsEngine(downloadModel('test-org/tiny', { cacheDir: c, endpoint: hub.url, progress: quiet }), /unet\/diffusion_pytorch_model\.safetensors: download interrupted after \d+ of \d+ bytes .*run the same command again to resume/);
    const have = Number(/after (\d+) of/.exec(msg)![1]);
    assert.ok(have > 0 && have <= size / 2, `kept ${have} bytes`);
    assert.not.ok(fs.existsSync(blob), 'no blob under the final name');
    assert.not.ok(fs.existsSync(path.join(c, 'models--test-org--tiny', 'snapshots', COMMIT, rel)), 'no snapshot link');
    assert.not.ok(fs.existsSync(path.join(c, 'models--test-org--tiny', 'refs', 'main')), 'no ref before the snapshot is complete');
    assert.is(fs.statSync(`${blob}.incomplete`).size, have);
    throwsEngine(() => resolveCached({ repo: 'test-org/tiny', revision: 'main' }, { cacheDir: c }), /revision 'main' is not in the Hugging Face cache/);

    await downloadModel('test-org/tiny', { cacheDir: c, endpoint: hub.url, progress: quiet });
    assert.ok(hub.requests.some((r) => r.range === `bytes=${have}-${size - 1}`), `resumed from byte ${have}: ${JSON.stringify(hub.requests.map((r) => r.range))}`);
    assert.is(sha256(blob), path.basename(blob));
    assert.not.ok(fs.existsSync(`${blob}.incomplete`));
    assert.ok(openModel(path.join(c, 'models--test-org--tiny', 'snapshots', COMMIT)).components.unet);
  } finally {
    await hub.close();
  }
});

test('bad input on download: unknown model, unknown revision, gated without a token', async () => {
  const hub = await startFakeHub({ 'test-org/tiny': { dir: model, commit: COMMIT }, 'test-org/gated': { dir: model, commit: COMMIT, token: 'hf_secret' } });
  const c = path.join(tmp, 'bad-cache');
  const o = { cacheDir: c, endpoint: hub.url, progress: { write() {} } };
  try {
    await rejectsEngine(downloadModel('nobody/nothing', o), /nobody\/nothing@main: the hub at http:\/\/127\.0\.0\.1:\d+ refused access \(HTTP 401\).*HF_TOKEN/);
    await rejectsEngine(downloadModel('test-org/tiny@v9', o), /test-org\/tiny@v9: not found on the hub at .* \(HTTP 404/);
    await rejectsEngine(downloadModel('test-org/gated', o), /refused access \(HTTP 401\)/);
    await rejectsEngine(downloadModel('no such thing', o), /no such file or folder, and not a model id/);
    assert.ok(await downloadModel('test-org/gated', { ...o, token: 'hf_secret' }));
  } finally {
    await hub.close();
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
