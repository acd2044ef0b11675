// CLIP BPE tokenizer against transformers' CLIPTokenizer goldens (exact ids), both the
// SD1.x tokenizer (pad <|endoftext|>) and the SD2.x one (pad '!', split out as id 0).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClipTokenizer, loadTokenizer } from '../../src/tokenizers/index.ts';
import { FIXTURES, readCase, readFixtureTensors, row } from '../util/fixture.ts';

const DIR = join(FIXTURES, 'clip-bpe');
const cs = readCase(DIR);
const io = readFixtureTensors(join(DIR, 'io.safetensors'));
const sd15 = new ClipTokenizer(DIR);
const sd2 = new ClipTokenizer(DIR, { padToken: '!' });
const silent = () => {};
sd15.onWarning = silent;
sd2.onWarning = silent;

function firstDiff(a: number[], b: number[]): string {
  const i = a.findIndex((v, k) => v !== b[k]);
  return i < 0 ? `lengths ${a.length} vs ${b.length}` : `first difference at [${i}]: got ${a[i]}, expected ${b[i]}`;
}

test('SD1.x ids, counts and tokens match the golden for every prompt', () => {
  const gold = io.get('input_ids_sd15')!, counts = io.get('num_tokens_untruncated')!;
  assert.is(gold.shape[0], cs.prompts.length);
  cs.prompts.forEach((p: string, i: number) => {
    const e = sd15.encode(p);
    const g = row(gold, i);
    assert.equal(e.ids, g, `prompt ${i} ${JSON.stringify(p)}: ${firstDiff(e.ids, g)}`);
    assert.is(e.numTokensUntruncated, counts.data[i], `prompt ${i} untruncated count`);
    const real = e.attentionMask.reduce((s, m) => s + m, 0);
    assert.equal(sd15.decodeTokens(e.ids.slice(1, real - 1)), cs.per_prompt[i].bpe_tokens.slice(0, 75), `prompt ${i} tokens`);
  });
});

test('SD2.x (pad "!") ids and counts match the golden for every prompt', () => {
  const gold = io.get('input_ids_sd2')!, counts = io.get('num_tokens_untruncated_sd2')!;
  cs.prompts.forEach((p: string, i: number) => {
    const e = sd2.encode(p);
    const g = row(gold, i);
    assert.equal(e.ids, g, `prompt ${i} ${JSON.stringify(p)}: ${firstDiff(e.ids, g)}`);
    assert.is(e.numTokensUntruncated, counts.data[i], `prompt ${i} untruncated count`);
  });
});

test('the real SD2.1 tokenizer folder reads pad "!" from its config and agrees with the golden', () => {
  const tok = loadTokenizer(join(FIXTURES, 'sd21-turbo-tiny', 'tokenizer'));
  tok.onWarning = silent;
  assert.is(tok.kind, 'clip-bpe');
  assert.is(tok.padId, 0);
  assert.is(tok.maxLength, 77);
  const gold = io.get('input_ids_sd2')!;
  cs.prompts.forEach((p: string, i: number) => assert.equal(tok.encode(p).ids, row(gold, i), `prompt ${i}`));
});

test('attention mask, padding and truncation options', () => {
  const e = sd15.encode('a photograph of an astronaut riding a horse');
  assert.is(e.ids.length, 77);
  assert.equal(e.attentionMask.slice(0, 11), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  assert.is(e.attentionMask.reduce((s, m) => s + m, 0), 10);
  const unpadded = sd15.encode('a photograph', { pad: false });
  assert.equal(unpadded.ids, [sd15.bosId, 320, 8853, sd15.eosId]);
  const long = 'a '.repeat(100);
  const full = sd15.encode(long, { truncate: false });
  assert.is(full.ids.length, 102);
  assert.is(full.numTokensUntruncated, 102);
  const cut = sd15.encode(long, { maxLength: 10 });
  assert.equal(cut.ids, [sd15.bosId, ...Array(8).fill(320), sd15.eosId]);
});

test('truncation warns once per prompt and says how many tokens were dropped', () => {
  const tok = new ClipTokenizer(DIR);
  const seen: string[] = [];
  tok.onWarning = (m) => seen.push(m);
  tok.encode('a '.repeat(80));
  tok.encode('a '.repeat(80));
  tok.encode('a short prompt');
  assert.is(seen.length, 1, seen.join('\n'));
  assert.match(seen[0], /5 token\(s\) dropped/);
  tok.encode('b '.repeat(77));
  assert.is(seen.length, 2);
  assert.match(seen[1], /2 token\(s\) dropped/);
});

test('special token text in a prompt maps to the special ids', () => {
  const e = sd15.encode('a<|endoftext|>b', { pad: false });
  assert.equal(e.ids, [sd15.bosId, 320, sd15.eosId, 321, sd15.eosId]);
  // Upper-case survives the trie split but is lower-cased into the same special piece.
  assert.equal(sd15.encode('<|ENDOFTEXT|>', { pad: false }).ids, [sd15.bosId, sd15.eosId, sd15.eosId]);
});

test('tokenizing the 40 prompts takes milliseconds (BPE cache warm)', () => {
  const t0 = performance.now();
  for (let k = 0; k < 5; k++) for (const p of cs.prompts) sd15.encode(p);
  const ms = (performance.now() - t0) / 5;
  console.log(`  clip: ${cs.prompts.length} prompts in ${ms.toFixed(2)} ms`);
  assert.ok(ms < 200, `${ms} ms`);
});

test.run();
