// Bad input to eval and the sweep runner: one EngineError naming the file / line /
// argument, and nothing written. Also the image readers (PNG colour types, JPEG) and
// --shard auto's scheduler variables.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as evalCmd } from '../../src/cli/eval.ts';
import { run as generate } from '../../src/cli/generate.ts';
import { readImage } from '../../src/eval/image_io.ts';
import { readProcessor } from '../../src/eval/preprocess.ts';
import { clipModelConfig } from '../../src/models/clip_configs.ts';
import { parseSettings, parseShard } from '../../src/pipeline/sweep.ts';
import { crc32, encodePng, generationText } from '../../src/pipeline/png.ts';
import { caseDir, rejects } from '../models/fixtures.ts';
import { writeTinyTokenizer } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-evalbad-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const CLIP = caseDir('clip-score');
const tok = writeTinyTokenizer(path.join(tmp, 'tok'));
const put = (name: string, data: string | Uint8Array) => (fs.writeFileSync(path.join(tmp, name), data), path.join(tmp, name));
const rgb = (w: number, h: number) => ({ width: w, height: h, rgb: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256) });
const nothingWritten = (dir: string) => assert.not.ok(['report.json', 'report.csv', 'contact.png'].some((f) => fs.existsSync(path.join(dir, f))), `${dir} got a report`);
const quietly = async (fn: () => Promise<void>) => {
  const e = console.error;
  console.error = () => {};
  try { await fn(); } finally { console.error = e; }
};

test('eval: an image that is neither PNG nor JPEG is named; nothing is written', async () => {
  const dir = path.join(tmp, 'imgs');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'a.png'), encodePng(rgb(8, 8), generationText({ prompt: 'a fox', negative: 'snow', guidance: 'nasa', alpha: 0.2, steps: 1, model: 'm' })));
  fs.writeFileSync(path.join(dir, 'b.png'), 'GIF89a this is not a png');
  const out = path.join(tmp, 'out1');
  await rejects(() => quietly(() => evalCmd([dir, '--clip', CLIP, '--tokenizer', tok, '--out', out])), /imgs\/b\.png: not a PNG or JPEG image \(starts with bytes 47 49 46 38\)/);
  nothingWritten(out);
});

test('eval: image count not matching the pairs names the pairs file and both counts', async () => {
  const a = put('x.png', encodePng(rgb(8, 8))), b = put('y.png', encodePng(rgb(8, 8)));
  const pairs = put('pairs.jsonl', '{"prompt":"p1","negative":"n1"}\n{"prompt":"p2","negative":"n2"}\n{"prompt":"p3","negative":"n3"}\n');
  const out = path.join(tmp, 'out2');
  await rejects(() => evalCmd([a, b, '--pairs', pairs, '--clip', CLIP, '--tokenizer', tok, '--out', out]), /pairs\.jsonl: 3 prompt pair\(s\) for 2 image\(s\)/);
  await rejects(() => evalCmd([a, '--clip', CLIP, '--tokenizer', tok, '--out', out]), /x\.png: no prompt in its metadata; give the prompt pairs with --pairs FILE/);
  nothingWritten(out);
});

test('eval on loose files with --pairs writes a report (one row per pair)', async () => {
  const a = put('p.png', encodePng(rgb(40, 24))), j = put('q.jpg', jpeg.encode({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(128) }, 90).data);
  const pairs = put('pairs2.csv', 'prompt,negative,id\na fox,snow,fox\na cabin,,cabin\n');
  const out = path.join(tmp, 'out3');
  await quietly(async () => {
    const log = console.log;
    console.log = () => {};
    try { await evalCmd([a, j, '--pairs', pairs, '--clip', CLIP, '--tokenizer', tok, '--out', out, '--thumb', '32', '--sheet-pairs', '1']); } finally { console.log = log; }
  });
  const r = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(r.pairs.map((p: any) => [p.id, p.negative]), [['fox', 'snow'], ['cabin', null]]);
  assert.is(r.images[1].clip_neg, null, 'no negative: no CLIP-');
  assert.is(r.images[1].removed, null);
  assert.is(r.summary[0].removal.n, 1);
  assert.equal([r.contact_sheet.pairs_shown, r.contact_sheet.cells.map((c: any) => c.image)], [1, [0]], '--sheet-pairs 1 draws the first pair only');
  assert.is(readImage(path.join(out, 'contact.png')).height, r.contact_sheet.height);
});

test('sweep: a batch line without a prompt, a line without a negative, --shard 3/2: clear errors, nothing written', async () => {
  const out = path.join(tmp, 'sweep-out');
  const noPrompt = put('np.jsonl', '{"prompt":"a fox","negative":"snow"}\n{"negative":"trees"}\n');
  await rejects(() => generate(['--batch-file', noPrompt, '--out-dir', out]), /np\.jsonl:2: missing 'prompt'/);
  const noNeg = put('nn.jsonl', '{"prompt":"a fox","negative":"snow"}\n\n{"prompt":"a cabin"}\n');
  await rejects(() => generate(['--batch-file', noNeg, '--out-dir', out]), /nn\.jsonl:3: no negative prompt; a sweep measures/);
  const ok = put('ok.jsonl', '{"prompt":"a fox","negative":"snow"}\n');
  await rejects(() => generate(['--batch-file', ok, '--out-dir', out, '--shard', '3/2']), /--shard 3\/2: shard index 3 is outside 1\.\.2/);
  await rejects(() => generate(['--batch-file', ok, '--out-dir', out, '--shard', '0/2']), /shard index 0 is outside 1\.\.2/);
  await rejects(() => generate(['--batch-file', ok, '--out-dir', out, '--shard', 'two']), /expected K\/N/);
  await rejects(() => generate(['-p', 'x', '--shard', '1/2']), /--shard needs --batch-file and --out-dir/);
  await rejects(() => generate(['--batch-file', ok, '--out-dir', out, '--guidance', 'nasa,cfg', '--alpha', '0.1,x']), /'x' is not a number >= 0/);
  await rejects(() => generate(['--batch-file', put('al.jsonl', '{"prompt":"a","negative":"b","alpha":0.3}\n'), '--out-dir', out, '--alpha', '0.1,0.2']), /al\.jsonl:1: 'alpha' on a line conflicts with the --alpha sweep/);
  assert.not.ok(fs.existsSync(out), 'no output folder was created');
});

test('eval: --shard 3/2, a missing shard on --merge, a run folder with a missing part', async () => {
  const run = path.join(tmp, 'run');
  fs.mkdirSync(path.join(run, 'parts'), { recursive: true });
  fs.writeFileSync(path.join(run, 'parts', 'gen-1-of-2.json'), JSON.stringify({ format: 'nasa-engine-sweep-part/1', fingerprint: 'f', model: 'm', shard: { index: 1, count: 2 }, total_pairs: 0, settings: [], pairs: [] }));
  await rejects(() => evalCmd([run, '--clip', CLIP, '--shard', '3/2']), /--shard 3\/2: shard index 3 is outside 1\.\.2/);
  await rejects(() => evalCmd([run, '--clip', CLIP]), /missing shard\(s\) 2\/2/);
  await rejects(() => evalCmd(['--merge', run]), /no scores-K-of-N\.json parts/);
  nothingWritten(run);
});

test('--shard auto: Kubernetes Indexed Job and Slurm array variables', () => {
  assert.equal(parseShard('auto', { JOB_COMPLETION_INDEX: '0', NASA_SHARD_COUNT: '4' }), { index: 1, count: 4 });
  assert.equal(parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '3' }), { index: 2, count: 3 });
  assert.equal(parseShard('auto', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' }), { index: 1, count: 2 });
  assert.throws(() => parseShard('auto', { JOB_COMPLETION_INDEX: '1' }), /NASA_SHARD_COUNT is not/);
  assert.throws(() => parseShard('auto', { JOB_COMPLETION_INDEX: '4', NASA_SHARD_COUNT: '4' }), /shard index 5 is outside 1\.\.4/);
  assert.throws(() => parseShard('auto', {}), /neither JOB_COMPLETION_INDEX .* nor SLURM_ARRAY_TASK_ID/);
  assert.equal(parseSettings('nasa,cfg,none', '0.1,0.2,0.5').map((s) => s.tag), ['nasa-a0.1', 'nasa-a0.2', 'nasa-a0.5', 'cfg', 'none']);
  assert.throws(() => parseSettings('cfg,none', '0.1'), /--alpha applies to nasa and nag/);
});

test('CLIP folder without preprocessor_config.json: the defaults used are stated; a bad one is refused', () => {
  const cfg = clipModelConfig(JSON.parse(fs.readFileSync(path.join(CLIP, 'config.json'), 'utf8')), 'config.json');
  const said: string[] = [];
  const p = readProcessor(CLIP, cfg.vision, (m) => said.push(m));
  assert.is(said.length, 1);
  assert.match(said[0], /preprocessor_config\.json not found: using CLIPImageProcessor defaults: bicubic resize of the shortest edge to 32, center crop 32x32, rescale 1\/255, OpenAI CLIP mean \[0\.48145466,0\.4578275,0\.40821073\]/);
  assert.equal(p.crop, [32, 32]);
  const dir = path.join(tmp, 'pp');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ resample: 2, size: { shortest_edge: 32 }, crop_size: 32 }));
  assert.throws(() => readProcessor(dir, cfg.vision), /pp\/preprocessor_config\.json: "resample" must be 3 \(PIL bicubic/);
  fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ size: { shortest_edge: 40 }, crop_size: { height: 40, width: 40 } }));
  assert.throws(() => readProcessor(dir, cfg.vision), /crop_size 40x40 does not match the vision tower's image_size 32/);
});

// A PNG from raw scanlines (filter byte 0 each row), to test colour types our writer never makes.
function rawPng(w: number, h: number, depth: number, ctype: number, rows: number[][], plte?: number[]): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(data).copy(out, 8);
    out.writeUInt32BE(crc32(Buffer.from(type, 'latin1'), data), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([depth, ctype, 0, 0, 0], 8);
  const raw = Buffer.from(rows.flatMap((r) => [0, ...r]));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(plte ? [chunk('PLTE', Uint8Array.from(plte))] : []), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

test('image readers: PNG grey / grey+alpha / RGBA / 16-bit / 2-bit palette, our own PNGs, JPEG; truncated files', () => {
  const rd = (name: string, b: Uint8Array) => readImage(put(name, b));
  assert.equal([...rd('g.png', rawPng(2, 1, 8, 0, [[10, 200]])).rgb], [10, 10, 10, 200, 200, 200]);
  assert.equal([...rd('ga.png', rawPng(1, 1, 8, 4, [[77, 0]])).rgb], [77, 77, 77]);
  assert.equal([...rd('rgba.png', rawPng(1, 2, 8, 6, [[1, 2, 3, 4], [5, 6, 7, 8]])).rgb], [1, 2, 3, 5, 6, 7]);
  assert.equal([...rd('16.png', rawPng(1, 1, 16, 2, [[0x12, 0x34, 0xab, 0xcd, 0xff, 0x00]])).rgb], [0x12, 0xab, 0xff]);
  assert.equal([...rd('pal.png', rawPng(3, 1, 2, 3, [[0b01_10_00_00]], [9, 9, 9, 1, 2, 3, 4, 5, 6])).rgb], [1, 2, 3, 4, 5, 6, 9, 9, 9]);
  const im = rgb(13, 7);
  assert.equal(rd('own.png', encodePng(im)).rgb, im.rgb, 'the engine\'s own PNGs (all 5 filters) round-trip');
  const j = rd('j.jpg', jpeg.encode({ width: 8, height: 8, data: new Uint8Array(256).fill(200) }, 95).data);
  assert.equal([j.width, j.height], [8, 8]);
  assert.ok(Math.abs(j.rgb[0] - 200) <= 2);
  assert.throws(() => rd('trunc.png', encodePng(im).subarray(0, 60)), /trunc\.png: truncated PNG/);
  assert.throws(() => rd('trunc.jpg', jpeg.encode({ width: 8, height: 8, data: new Uint8Array(256) }, 90).data.subarray(0, 30)), /trunc\.jpg: cannot decode JPEG/);
  assert.throws(() => rd('empty.png', new Uint8Array(0)), /empty\.png: not a PNG or JPEG image \(starts with bytes nothing: empty file\)/);
});

test.run();
