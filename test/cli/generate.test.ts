// `generate` end to end as a user runs it: the embedded default model, every guidance
// mode, byte-identical PNGs for the same seed, metadata, tensors, batch files, bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader } from '../../src/io/safetensors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'generate-'));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'generate', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.split('\n').filter((l) => !/artificially reduced/.test(l)).join('\n') };
};

test('every guidance mode renders a PNG on the embedded model', () => {
  for (const mode of ['none', 'nasa', 'cfg', 'nag', 'vsf']) {
    const out = path.join(tmp, `${mode}.png`);
    const r = cli('-p', 'a cozy cabin', '-n', 'snow', '--guidance', mode, '--seed', '7', '-o', out);
    assert.is(r.code, 0, r.err);
    assert.ok(fs.readFileSync(out).subarray(1, 4).toString() === 'PNG', `${mode}: not a PNG`);
  }
  const none = fs.readFileSync(path.join(tmp, 'none.png')), nasa = fs.readFileSync(path.join(tmp, 'nasa.png'));
  assert.not.ok(none.equals(nasa), 'NASA must change the image');
});

test('the same seed gives byte-identical PNGs with the run recorded in their metadata', () => {
  const a = path.join(tmp, 'a.png'), b = path.join(tmp, 'b.png'), t = path.join(tmp, 't.safetensors');
  assert.is(cli('-p', 'a red fox', '-n', 'blurry', '--alpha', '0.3', '--seed', '42', '-o', a, '--save-tensors', t).code, 0);
  assert.is(cli('-p', 'a red fox', '-n', 'blurry', '--alpha', '0.3', '--seed', '42', '-o', b).code, 0);
  const bytes = fs.readFileSync(a);
  assert.ok(bytes.equals(fs.readFileSync(b)));
  const text = bytes.toString('latin1');
  for (const s of ['prompt\0a red fox', 'negative_prompt\0blurry', 'guidance\0nasa', 'alpha\x000.3', 'seed\x0042', 'steps\x001', 'model\0']) assert.ok(text.includes(s), `metadata ${JSON.stringify(s)}`);
  const r = SafetensorsReader.open(t);
  assert.equal(r.source('latents').shape, [1, 4, 8, 8]);
  assert.equal(r.source('image').shape, [1, 3, 64, 64]);
});

test('--batch-file renders one PNG per pair with a timing breakdown', () => {
  const f = path.join(tmp, 'pairs.jsonl');
  fs.writeFileSync(f, '{"prompt": "a cat", "negative": "dog", "seed": 1}\n{"prompt": "a boat", "id": "boat"}\n');
  const r = cli('--batch-file', f, '-o', path.join(tmp, 'batch.png'));
  assert.is(r.code, 0, r.err);
  assert.ok(fs.existsSync(path.join(tmp, 'batch-0.png')) && fs.existsSync(path.join(tmp, 'batch-boat.png')));
  assert.match(r.err, /denoise/);
});

test('bad arguments give one clear line and a non-zero exit', () => {
  const cases: [string[], RegExp][] = [
    [['-p', 'x', '--guidance', 'magic'], /unknown mode 'magic'/],
    [['-p', 'x', '-n', 'y', '--alpha', '-1'], /alpha must be a finite number >= 0/],
    [['-p', 'x', '--width', '100'], /--width 100 is not divisible/],
    [['-p', 'x', '--model', path.join(tmp, 'nope')], /no such file or folder/],
    [['-p', 'x', '--latents', path.join(tmp, 'nope.safetensors')], /nope\.safetensors/],
    [[], /give a prompt/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.is(r.code, 1, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.err, re);
    assert.not.match(r.err, /\n\s+at /, 'no stack trace');
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
