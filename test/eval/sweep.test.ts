// The experiment runner end to end on the embedded default model (weights/default) with
// the clip-score fixture model as scorer: a 2-pair x 3-setting sweep run unsharded and as
// 2 shards (generate --shard K/2, eval --shard K/2, eval --merge) gives byte-identical
// report.json / report.csv / contact.png; a re-run regenerates nothing, and a damaged or
// foreign image is regenerated; the contact sheet has one cell per image, drawn from it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as evalCmd } from '../../src/cli/eval.ts';
import { run as generate } from '../../src/cli/generate.ts';
import { layout, thumbnail } from '../../src/eval/contact.ts';
import { readImage } from '../../src/eval/image_io.ts';
import type { Report } from '../../src/eval/report.ts';
import { caseDir } from '../models/fixtures.ts';
import { writeTinyTokenizer } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-sweep-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const tok = writeTinyTokenizer(path.join(tmp, 'tok'));
const CLIP = caseDir('clip-score');
const pairs = path.join(tmp, 'pairs.jsonl');
fs.writeFileSync(pairs, '{"prompt": "a red fox in a field", "negative": "snow"}\n\n{"prompt": "a cabin by a lake", "negative": "trees", "id": "cabin", "seed": 11}\n');
const SWEEP = ['--batch-file', pairs, '--guidance', 'nasa,cfg,none', '--alpha', '0.3'];

/** Runs a command in-process with its stdout/stderr chatter captured. */
async function quiet(fn: () => Promise<void>): Promise<string> {
  const log = console.log, err = console.error, write = process.stderr.write;
  let text = '';
  console.log = console.error = (...a: unknown[]) => { text += a.join(' ') + '\n'; };
  process.stderr.write = ((s: string) => { text += s; return true; }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    console.log = log;
    console.error = err;
    process.stderr.write = write;
  }
  return text;
}

const A = path.join(tmp, 'unsharded'), B = path.join(tmp, 'sharded');
const OUT = ['report.json', 'report.csv', 'contact.png'];
const evalArgs = ['--clip', CLIP, '--tokenizer', tok];

test('2-shard sweep + eval --merge == unsharded run, byte for byte', async () => {
  let log = await quiet(() => generate([...SWEEP, '--out-dir', A]));
  assert.match(log, /6 images \(6 rendered, 0 kept\)/);
  await quiet(() => evalCmd([A, ...evalArgs]));
  for (const k of [1, 2]) {
    log = await quiet(() => generate([...SWEEP, '--out-dir', B, '--shard', `${k}/2`]));
    assert.match(log, /3 images \(3 rendered, 0 kept\)/, `shard ${k} renders its one pair x 3 settings`);
  }
  // the images themselves are the same: same seed per pair, whichever shard renders it
  for (const f of ['images/0000/nasa-a0.3.png', 'images/cabin/cfg.png', 'images/cabin/none.png']) {
    assert.ok(fs.readFileSync(path.join(A, f)).equals(fs.readFileSync(path.join(B, f))), f);
  }
  for (const k of [1, 2]) await quiet(() => evalCmd([B, ...evalArgs, '--shard', `${k}/2`]));
  assert.not.ok(fs.existsSync(path.join(B, 'report.json')), 'a shard writes only its part');
  await quiet(() => evalCmd(['--merge', B]));
  for (const f of OUT) assert.ok(fs.readFileSync(path.join(A, f)).equals(fs.readFileSync(path.join(B, f))), `${f} differs between the unsharded and the merged run`);
  const r: Report = JSON.parse(fs.readFileSync(path.join(A, 'report.json'), 'utf8'));
  assert.equal(r.settings.map((s) => s.tag), ['nasa-a0.3', 'cfg', 'none']);
  assert.equal(r.pairs.map((p) => [p.id, p.seed]), [['0000', 0], ['cabin', 11]]);
  assert.is(r.images.length, 6);
  assert.equal(r.summary.map((s) => s.n), [2, 2, 2]);
});

test('a resumed sweep regenerates nothing; a foreign or damaged image is rendered again', async () => {
  const before = fs.readdirSync(path.join(A, 'images', 'cabin')).map((f) => fs.statSync(path.join(A, 'images', 'cabin', f)).mtimeMs);
  let log = await quiet(() => generate([...SWEEP, '--out-dir', A]));
  assert.match(log, /6 images \(0 rendered, 6 kept\)/);
  const after = fs.readdirSync(path.join(A, 'images', 'cabin')).map((f) => fs.statSync(path.join(A, 'images', 'cabin', f)).mtimeMs);
  assert.equal(after, before, 'kept files are not rewritten');
  const none = path.join(A, 'images', 'cabin', 'none.png'), good = fs.readFileSync(none);
  fs.copyFileSync(path.join(A, 'images', 'cabin', 'cfg.png'), none); // another setting's image under this name
  fs.writeFileSync(path.join(A, 'images', '0000', 'cfg.png'), good.subarray(0, 100)); // truncated
  log = await quiet(() => generate([...SWEEP, '--out-dir', A]));
  assert.match(log, /6 images \(2 rendered, 4 kept\)/);
  assert.ok(fs.readFileSync(none).equals(good), 'the re-rendered image equals the original');
});

test('contact sheet: its size, one cell per image drawn from that image, scores for every cell', () => {
  const r: Report = JSON.parse(fs.readFileSync(path.join(A, 'report.json'), 'utf8'));
  const sheet = readImage(path.join(A, 'contact.png'));
  const cs = r.contact_sheet!;
  const L = layout(r, cs.thumb);
  assert.equal([sheet.width, sheet.height], [cs.width, cs.height]);
  assert.equal([L.width, L.height], [cs.width, cs.height]);
  assert.is(L.rows.length, 2, 'rows = prompt pairs');
  assert.is(cs.width, L.labelW + 3 * (L.cellW + 4) + 4, 'columns = 3 settings');
  assert.is(cs.cells.length, r.images.length);
  const seen = new Set<string>();
  for (const cell of cs.cells) {
    const im = r.images[cell.image];
    const key = `${L.place[cell.image].row},${L.place[cell.image].col}`;
    assert.not.ok(seen.has(key), `two images in cell ${key}`);
    seen.add(key);
    assert.equal(L.place[cell.image], { row: r.pairs.findIndex((p) => p.index === im.pair), col: r.settings.findIndex((s) => s.tag === im.setting) });
    const t = thumbnail(readImage(path.join(A, im.file)), cs.thumb);
    assert.equal([cell.width, cell.height], [t.width, t.height]);
    for (let y = 0; y < t.height; y += 7) for (let x = 0; x < t.width; x += 5) {
      const a = ((cell.y + y) * sheet.width + cell.x + x) * 3, b = (y * t.width + x) * 3;
      assert.equal([...sheet.rgb.subarray(a, a + 3)], [...t.rgb.subarray(b, b + 3)], `${im.file} pixel ${x},${y}`);
    }
    let ink = 0; // the score lines under the image
    for (let y = cell.y + cell.height + 4; y < cell.y + cell.height + 30; y++) for (let x = cell.x; x < cell.x + L.cellW && x < sheet.width; x++) if (sheet.rgb[(y * sheet.width + x) * 3] < 128) ink++;
    assert.ok(ink > 40, `${im.file}: no scores drawn under its cell (${ink} dark pixels)`);
    for (const k of ['clip_pos', 'clip_neg', 'p_negative'] as const) assert.ok(Number.isFinite(im[k]), `${im.file}: ${k} = ${im[k]}`);
    assert.is(im.removed, im.p_negative! < r.removal.threshold);
  }
  const csv = fs.readFileSync(path.join(A, 'report.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 1 + r.images.length);
});

test.run();
