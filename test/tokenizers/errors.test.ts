// Bad tokenizer folders fail with one EngineError naming the file and what was expected.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.ts';
import { loadTokenizer } from '../../src/tokenizers/index.ts';
import { FIXTURES } from '../util/fixture.ts';

const CLIP = join(FIXTURES, 'clip-bpe');

function folder(files: Record<string, string>, copies: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  for (const [name, from] of Object.entries(copies)) copyFileSync(from, join(dir, name));
  return dir;
}

function throwsEngine(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EngineError, `expected EngineError, got ${(e as Error).stack}`);
    assert.match((e as Error).message, pattern);
    assert.not.match((e as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`expected an EngineError matching ${pattern}`);
}

test('CLIP: missing vocab.json or merges.txt is named', () => {
  throwsEngine(() => loadTokenizer(folder({}, { 'merges.txt': join(CLIP, 'merges.txt') })), /missing file .*vocab\.json/);
  throwsEngine(() => loadTokenizer(folder({}, { 'vocab.json': join(CLIP, 'vocab.json') })), /missing file .*merges\.txt/);
});

test('CLIP: malformed merges.txt names the line', () => {
  const v = { 'vocab.json': join(CLIP, 'vocab.json') };
  throwsEngine(() => loadTokenizer(folder({ 'merges.txt': '#version: 0.2\ni n\nthree part line\n' }, v)), /merges\.txt line 3: expected 'left right'/);
  throwsEngine(() => loadTokenizer(folder({ 'merges.txt': '#version: 0.2\nlonely\n' }, v)), /merges\.txt line 2/);
  throwsEngine(() => loadTokenizer(folder({ 'merges.txt': '#version: 0.2\n' }, v)), /merges\.txt holds no merges/);
});

test('CLIP: bad vocab.json and configs', () => {
  const m = { 'merges.txt': join(CLIP, 'merges.txt') };
  throwsEngine(() => loadTokenizer(folder({ 'vocab.json': '{"a": 1,' }, m)), /vocab\.json is not valid JSON/);
  throwsEngine(() => loadTokenizer(folder({ 'vocab.json': '["a"]' }, m)), /vocab\.json should map token -> id/);
  throwsEngine(() => loadTokenizer(folder({ 'vocab.json': '{"a": "x"}' }, m)), /vocab\.json: id of 'a' should be a non-negative integer/);
  throwsEngine(() => loadTokenizer(folder({ 'vocab.json': '{"a": 0}' }, m)), /special token '<\|startoftext\|>' .* is not in vocab\.json/);
  const vm = { ...m, 'vocab.json': join(CLIP, 'vocab.json') };
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer_config.json': '[1]' }, vm)), /tokenizer_config\.json should hold a JSON object/);
});

test('tokenizer.json of the wrong model type or shape', () => {
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }) })),
    /tokenizer\.json: model type is 'BPE', expected 'Unigram'/);
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': '{"model": ' })), /tokenizer\.json is not valid JSON/);
  const unigram = (extra: object) => JSON.stringify({
    model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0], ['\u2581a', -1]] },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always' }, ...extra,
  });
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': unigram({ normalizer: { type: 'Lowercase' } }) })), /normalizer 'Lowercase' is not supported/);
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': unigram({ normalizer: { type: 'Replace', pattern: { String: 'a' }, content: 'b' } }) })),
    /Replace normalizer .* is not supported/);
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': unigram({ pre_tokenizer: { type: 'ByteLevel' } }) })), /pre_tokenizer should be Metaspace/);
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': unigram({}) })), /special token '<\/s>' is not in the vocabulary/);
  throwsEngine(() => loadTokenizer(folder({ 'tokenizer.json': unigram({ normalizer: { type: 'Precompiled', precompiled_charsmap: 'AAE=' } }) })),
    /precompiled charsmap is 2 bytes/);
});

test('folders without tokenizer files, and non-folders', () => {
  throwsEngine(() => loadTokenizer(folder({ 'readme.txt': 'x' })), /has no tokenizer files \(expected vocab\.json \+ merges\.txt, tokenizer\.json or spiece\.model\)/);
  throwsEngine(() => loadTokenizer(join(CLIP, 'nope')), /nope is not a folder/);
  throwsEngine(() => loadTokenizer(join(CLIP, 'vocab.json')), /vocab\.json is not a folder/);
});

test.run();
