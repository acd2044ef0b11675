// The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into
// an empty project without dev dependencies (so no tsx, no TypeScript), then plain `node`
// importing it and `npx nasa-engine generate` run from that project, whose folder holds no
// kernels: they and the embedded model must be found inside the installed package. The
// --download run fetches from a fake hub on 127.0.0.1 (test/io/fakehub.ts). Dependencies come
// from npm's local cache where `npm ci` already put them (--prefer-offline).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startFakeHub } from './io/fakehub.ts';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'package-'));
const project = path.join(tmp, 'project');
const quietEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: quietEnv, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
const isPng = (f: string) => fs.readFileSync(f).subarray(1, 4).toString() === 'PNG';

// `npm pack` builds dist/ (prepack); when dist/ is newer than every source (CI builds it
// first, in .ci/run), the tarball is packed from it without building again.
function newest(dir: string): number {
  return Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
}
const distFresh = () => fs.existsSync('dist/cli.js') && fs.statSync('dist/cli.js').mtimeMs > Math.max(newest('src'), fs.statSync('tsconfig.build.json').mtimeMs);

test('npm pack ships dist, kernels and the embedded model, not the TypeScript sources', async () => {
  const { stdout } = await npm(['pack', '--json', '--pack-destination', tmp, ...(distFresh() ? ['--ignore-scripts'] : [])], process.cwd());
  const packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/io/hub.js', 'bin/nasa-engine.mjs', 'kernels/matmul.wgsl', 'weights/default/unet/diffusion_pytorch_model.safetensors', 'LICENSE', 'README.md']) {
    assert.ok(files.includes(f), `tarball has ${f}`);
  }
  assert.equal(files.filter((f) => /^(src|test|bench)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts'))), [], 'no TypeScript sources');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await npm(['install', '--prefer-offline', '--omit=dev', '--no-package-lock', path.join(tmp, packed.filename)], project);
  const installed = path.join(project, 'node_modules', 'nasa-engine');
  assert.ok(fs.existsSync(path.join(installed, 'dist', 'cli.js')));
  assert.not.ok(fs.existsSync(path.join(project, 'node_modules', 'tsx')), 'tsx is not a runtime dependency');
  assert.not.ok(fs.existsSync(path.join(project, 'node_modules', 'typescript')), 'typescript is not a runtime dependency');
});

test("plain node imports 'nasa-engine' (and its subpath entries) and generates with the embedded model", async () => {
  fs.writeFileSync(path.join(project, 'check.mjs'), `
import { loadPipeline, EMBEDDED_MODEL, EngineError } from 'nasa-engine';
import { SafetensorsReader } from 'nasa-engine/io';
import { Graph } from 'nasa-engine/graph';
import { loadUNet } from 'nasa-engine/models';
import { loadTokenizer } from 'nasa-engine/tokenizers';
const pipe = loadPipeline(EMBEDDED_MODEL);
const r = await pipe.generate({ prompts: ['a cabin'], negatives: ['snow'], seed: 1 });
pipe.destroy();
console.log(JSON.stringify({ shape: r.image.shape, finite: r.image.data.every(Number.isFinite),
  entries: [SafetensorsReader, Graph, loadUNet, loadTokenizer, EngineError].map((f) => typeof f) }));
process.exit(0);
`);
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(r, { shape: [1, 3, 64, 64], finite: true, entries: ['function', 'function', 'function', 'function', 'function'] });
});

test("the package's .d.ts types reach a TypeScript user (nodenext, strict)", async () => {
  fs.writeFileSync(path.join(project, 'typed.ts'), `
import { loadPipeline, EMBEDDED_MODEL, type GenerateResult } from 'nasa-engine';
import { SafetensorsReader } from 'nasa-engine/io';
const pipe = loadPipeline(EMBEDDED_MODEL, { dtype: 'f16' });
const r: GenerateResult = await pipe.generate({ prompts: ['x'] });
const width: number = r.width;
const wrong: string = r.width; // the one error expected: types are real, not any
SafetensorsReader.open('x');
export { width, wrong };
`);
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['typed.ts'],
  }));
  const tsc = path.resolve('node_modules/typescript/bin/tsc');
  const out = await run(process.execPath, [tsc, '-p', '.'], { cwd: project, encoding: 'utf8', timeout: 120_000 }).then((r) => r.stdout, (e) => e.stdout as string);
  const errors = out.split('\n').filter((l) => /error TS/.test(l));
  assert.equal(errors.length, 1, out);
  assert.match(errors[0], /typed\.ts\(7,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
});

test('npx nasa-engine generate runs on plain node: a model id with --download from a (fake) hub, and bad ids', async () => {
  const hub = await startFakeHub({ 'test-org/tiny': { dir: 'weights/default', commit: 'c'.repeat(40) } });
  const env = { ...quietEnv, HF_HUB_CACHE: path.join(tmp, 'hf-cache'), HF_ENDPOINT: hub.url };
  const npx = (args: string[]) => run('npx', ['--no-install', 'nasa-engine', 'generate', '-p', 'a cozy cabin', '-n', 'snow', ...args], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
  try {
    // Without --download an id that is not in the cache is one clear line, and the hub is not asked.
    const bad = await npx(['--model', 'test-org/tiny']).then(() => assert.unreachable('generate succeeded'), (e) => e);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /^error: test-org\/tiny: not a local file or folder, and not in the Hugging Face cache .*pass --download/m);
    assert.equal(hub.requests, [], 'no request to the hub without --download');

    const r = await npx(['-o', 'hub.png', '--save-tensors', 'hub.safetensors', '--model', 'test-org/tiny', '--download', '--stats']);
    assert.ok(isPng(path.join(project, 'hub.png')));
    assert.match(r.stderr, /download test-org\/tiny \(MiB\): \d+\/\d+ done/);
    assert.match(r.stderr, /startup \(ms since process start\): first dispatch at \d+ ms/);
    console.log(`  installed CLI: ${/startup.*$/m.exec(r.stderr)![0]}`);
  } finally {
    await hub.close();
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
