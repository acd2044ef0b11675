// spiece.model path: a ModelProto is built here from the fixture's tokenizer.json (same
// pieces, float32 scores, types and nmt_nfkc charsmap, as the fixture's oracle did for
// sentencepiece) and must reproduce all T5 goldens; plus small hand-made models.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.ts';
import { loadTokenizer } from '../../src/tokenizers/index.ts';
import { parseSentencePieceModel } from '../../src/tokenizers/spiece.ts';
import { buildSpModel, type SpPieceSpec } from './proto_writer.ts';
import { checkT5Goldens, T5_DIR } from './t5_goldens.ts';

function folderWith(model: Uint8Array, config?: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'spiece-'));
  writeFileSync(join(dir, 'spiece.model'), model);
  if (config) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

test('a spiece.model built from the T5 vocabulary reproduces all 47 goldens', () => {
  const tj = JSON.parse(readFileSync(join(T5_DIR, 'tokenizer.json'), 'utf8'));
  const vocab: [string, number][] = tj.model.vocab.slice(0, 32000); // <extra_id_N> are transformers' additions
  const types = (i: number) => (i === 2 ? 2 : i < 2 ? 3 : 1); // <pad>, </s> control; <unk> unknown
  const pieces: SpPieceSpec[] = vocab.map(([piece, score], i) => ({ piece, score, type: types(i) }));
  const charsmap = Buffer.from(tj.normalizer.normalizers[0].precompiled_charsmap, 'base64');
  const dir = folderWith(buildSpModel(pieces, { unkId: 2, eosId: 1, padId: 0, charsmap }));
  const tok = loadTokenizer(dir);
  tok.onWarning = () => {};
  assert.is(tok.kind, 't5-unigram');
  assert.is(tok.padId, 0);
  checkT5Goldens(tok, 'spiece.model');
  // transformers' T5Tokenizer appends 100 <extra_id_N> after the pieces.
  assert.equal(tok.decodeTokens([32099, 32000]), ['<extra_id_0>', '<extra_id_99>']);
});

test('hand-made model: scores pick the segmentation, unknown chars fuse into one <unk>', () => {
  const pieces: SpPieceSpec[] = [
    { piece: '<pad>', score: 0, type: 3 }, { piece: '</s>', score: 0, type: 3 }, { piece: '<unk>', score: 0, type: 2 },
    { piece: '\u2581', score: -1 }, { piece: 'a', score: -2 }, { piece: 'b', score: -2 },
    { piece: '\u2581ab', score: -1.5 }, { piece: 'ab', score: -3 }, { piece: '\u2581a', score: -2.5 },
  ];
  const tok = loadTokenizer(folderWith(buildSpModel(pieces, { unkId: 2, eosId: 1, padId: 0 }), { extra_ids: 0 }));
  const enc = (s: string) => tok.encode(s, { pad: false }).ids;
  assert.equal(enc('ab'), [6, 1]); // '▁ab' (-1.5) beats '▁a'+'b' (-4.5) and '▁'+'ab' (-4)
  assert.equal(enc('  ab   ab '), [6, 6, 1]); // extra whitespace removed
  assert.equal(enc('axyzb'), [8, 2, 5, 1]); // x, y, z unknown: one fused <unk>
  assert.equal(enc('a</s>b'), [8, 1, 5, 1]); // control piece text split out as the token
  assert.equal(tok.decodeTokens([6, 2]), ['\u2581ab', '<unk>']);
  const noPrefix = loadTokenizer(folderWith(buildSpModel(pieces, { unkId: 2, eosId: 1, padId: 0, addDummyPrefix: false }), { extra_ids: 0 }));
  assert.equal(noPrefix.encode('ab', { pad: false }).ids, [7, 1]);
});

test('malformed or unsupported spiece.model files fail naming the file', () => {
  const good = buildSpModel([{ piece: '<unk>', score: 0, type: 2 }, { piece: 'a', score: -1 }, { piece: '</s>', score: 0, type: 3 }], { unkId: 0, eosId: 2, padId: -1 });
  assert.throws(() => parseSentencePieceModel(good.subarray(0, good.length - 3), 'x/spiece.model'),
    (e: Error) => e instanceof EngineError && /x\/spiece\.model: malformed protobuf/.test(e.message));
  const bpe = buildSpModel([{ piece: '<unk>', score: 0, type: 2 }, { piece: 'a', score: -1 }], { modelType: 2, unkId: 0, eosId: 1, padId: -1 });
  assert.throws(() => loadTokenizer(folderWith(bpe)), (e: Error) => e instanceof EngineError && /not Unigram/.test(e.message));
  assert.throws(() => parseSentencePieceModel(new TextEncoder().encode('not a model at all'), 'y/spiece.model'),
    (e: Error) => e instanceof EngineError && /y\/spiece\.model/.test(e.message));
});

test.run();
