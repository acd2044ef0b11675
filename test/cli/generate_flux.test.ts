// `generate --model <FluxPipeline folder>` as a user runs it: the fixture's packed unit
// noise in, `--save-tensors` out (packed latents and the image match the goldens), and the
// bad-input paths (missing T5 folder, width not a multiple of 16, FLUX-only options on SD):
// one clear line, exit 1, nothing written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readHostTensor, writeHostTensors } from '../../src/io/host.ts';
import { expectClose, get } from '../models/fixtures.ts';
import { c, folder } from '../pipeline/flux_case.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'generate-flux-'));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'generate', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, err: r.stderr.split('\n').filter((l) => !/artificially reduced/.test(l)).join('\n') };
};

test('generate on the FluxPipeline folder: --latents in, --save-tensors out, NASA 0.5', () => {
  const lat = path.join(tmp, 'latents.safetensors'), out = path.join(tmp, 'flux.png'), t = path.join(tmp, 'out.safetensors');
  writeHostTensors(lat, { latents: get(c, 'latents') });
  const r = cli('--model', folder, '-p', c.json.prompts[0], '-p', c.json.prompts[1], '-n', c.json.negative_prompts[0], '-n', c.json.negative_prompts[1],
    '--guidance', 'nasa', '--alpha', '0.5', '--max-sequence-length', '32', '--latents', lat, '--save-tensors', t, '-o', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /64x64, nasa, 1 step\(s\)/);
  assert.ok(fs.existsSync(path.join(tmp, 'flux-0.png')) && fs.existsSync(path.join(tmp, 'flux-1.png')));
  expectClose(c, 'cli latents', readHostTensor(t, 'latents'), 'latents.nasa_a0p5', 'f32');
  expectClose(c, 'cli image', readHostTensor(t, 'image'), 'image.nasa_a0p5', 'f32');
});

test('bad input: one clear line, exit 1, nothing written', () => {
  const noT5 = path.join(tmp, 'no-t5');
  fs.mkdirSync(noT5);
  for (const e of fs.readdirSync(folder)) if (e !== 'text_encoder_2') fs.symlinkSync(path.join(folder, e), path.join(noT5, e));
  const cases: [string[], RegExp][] = [
    [['--model', noT5, '-p', 'x'], /component 'text_encoder_2' \(T5EncoderModel\) has no folder .*no-t5.text_encoder_2/],
    [['--model', folder, '-p', 'x', '--width', '72', '--height', '64'], /--width 72 is not divisible by 16 \(VAE factor 8 x 2x2 latent packing\)/],
    [['-p', 'x', '--guidance-scale', '3'], /--guidance-scale applies to FLUX pipelines/],
  ];
  for (const [args, re] of cases) {
    const out = path.join(tmp, 'bad.png'), t = path.join(tmp, 'bad.safetensors');
    const r = cli(...args, '-o', out, '--save-tensors', t);
    assert.is(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.not.ok(fs.existsSync(out) || fs.existsSync(t), 'nothing written');
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
