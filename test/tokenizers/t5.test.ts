// T5 Unigram tokenizer (tokenizer.json) against sentencepiece goldens: exact ids, masks and
// counts for all 47 prompts, plain and through PixArt-alpha's lower().strip() caption path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Charsmap, spmNormalize } from '../../src/tokenizers/charsmap.ts';
import { loadTokenizer } from '../../src/tokenizers/index.ts';
import { row } from '../util/fixture.ts';
import { checkT5Goldens, T5_CASE as cs, T5_DIR, T5_IO as io } from './t5_goldens.ts';

const tok = loadTokenizer(T5_DIR);
tok.onWarning = () => {};
const DIR = T5_DIR;

test('tokenizer.json: ids, masks and counts match the golden for all 47 prompts (plain and PixArt)', () => {
  assert.is(tok.kind, 't5-unigram');
  assert.is(cs.prompts.length, 47);
  checkT5Goldens(tok, 'tokenizer.json');
});

test('pieces match the golden pieces and the published T5 examples', () => {
  const gold = io.get('input_ids')!;
  cs.per_prompt.forEach((pp: { prompt: string; pieces: string[] }, i: number) => {
    const e = tok.encode(pp.prompt, { pad: false, truncate: false });
    // The golden lists the surface text of <unk> pieces (id 2); decodeTokens gives '<unk>'.
    const g = row(gold, i);
    const expected = pp.pieces.map((p, j) => (j < g.length && g[j] === 2 ? '<unk>' : p));
    assert.equal(tok.decodeTokens(e.ids), expected, `prompt ${i}`);
  });
  for (const ex of cs.verification.published_examples) {
    assert.equal(tok.encode(ex.text, { pad: false }).ids, ex.published_ids, ex.text);
  }
});

test('padding, truncation, default max length and the truncation warning', () => {
  assert.is(tok.maxLength, 512); // tokenizer_config model_max_length; PixArt passes 120
  assert.is(tok.padId, 0);
  const e = tok.encode('a cat', { maxLength: 8 });
  assert.equal(e.ids, [3, 9, 1712, 1, 0, 0, 0, 0]);
  assert.equal(e.attentionMask, [1, 1, 1, 1, 0, 0, 0, 0]);
  const t = loadTokenizer(DIR);
  const warnings: string[] = [];
  t.onWarning = (m) => warnings.push(m);
  const cut = t.encode('a '.repeat(10), { maxLength: 6 });
  assert.equal(cut.ids, [3, 9, 3, 9, 3, 1]);
  assert.is(cut.numTokensUntruncated, 21);
  t.encode('a '.repeat(10), { maxLength: 6 });
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /15 token\(s\) dropped/);
});

test('special token text is split out; text after it gets no dummy prefix', () => {
  assert.equal(tok.encode('hello</s>', { pad: false }).ids, [21820, 1, 1]);
  assert.equal(tok.encode('<extra_id_0> world', { pad: false }).ids, [32099, 296, 1]);
  assert.equal(tok.decodeTokens([32099, 32000, 2]), ['<extra_id_0>', '<extra_id_99>', '<unk>']);
});

test('charsmap normalization: NFKC-like rules, whitespace rules', () => {
  const tj = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8'));
  const map = new Charsmap(Buffer.from(tj.normalizer.normalizers[0].precompiled_charsmap, 'base64'), 'tokenizer.json');
  const ws = { addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
  assert.is(spmNormalize('ﬁne ＡＢＣ１２３', map, ws), '▁fine▁ABC123');
  assert.is(spmNormalize('  a \t b\u00a0c  ', map, ws), '▁a▁b▁c');
  assert.is(spmNormalize('', map, ws), '');
  assert.is(spmNormalize(' x', map, { ...ws, addDummyPrefix: false, keepLeadingSpace: true }), '▁x');
  assert.is(spmNormalize('a  b', undefined, { ...ws, removeExtraWhitespaces: false }), '▁a▁▁b');
});

test('47 prompts tokenize in milliseconds', () => {
  const t0 = performance.now();
  for (let k = 0; k < 5; k++) for (const p of cs.prompts) tok.encode(p, { maxLength: 120 });
  const ms = (performance.now() - t0) / 5;
  console.log(`  t5: ${cs.prompts.length} prompts in ${ms.toFixed(2)} ms`);
  const long = 'an astronaut riding a horse, '.repeat(400);
  const t1 = performance.now();
  const e = tok.encode(long, { truncate: false, pad: false });
  console.log(`  t5: ${long.length}-char prompt -> ${e.ids.length} ids in ${(performance.now() - t1).toFixed(1)} ms`);
  assert.ok(ms < 200, `${ms} ms`);
});


test.run();
