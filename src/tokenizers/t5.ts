// T5 tokenizer (SentencePiece Unigram) from an HF `tokenizer.json` or a `spiece.model`.
// Pipeline: split out special tokens ('</s>', '<pad>', '<extra_id_N>', ...) -> sentencepiece
// normalization (precompiled charsmap, whitespace rules, '▁') -> Unigram Viterbi -> '</s>'.
// Goldens: ../shared/fixtures/t5-tokenizer (sentencepiece on the same vocabulary).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.ts';
import { Charsmap, spmNormalize, type SpmWhitespace } from './charsmap.ts';
import {
  frame, readJson, readOptionalJson, stderrWarning, tokenContent, TruncationWarner,
  type EncodeOptions, type Encoding, type Tokenizer,
} from './common.ts';
import { parseSentencePieceModel } from './spiece.ts';
import { PieceType, UnigramModel, type Piece } from './unigram.ts';

export interface UnigramSetup {
  pieces: Piece[];
  unkId: number;
  eos: string;
  pad: string;
  specials: Map<string, number>; // text split out of the prompt before normalization
  charsmap?: Charsmap;
  ws: SpmWhitespace;
  maxLength: number;
  where: string;
}

export class T5Tokenizer implements Tokenizer {
  readonly kind = 't5-unigram' as const;
  readonly maxLength: number;
  readonly eosId: number;
  readonly padId: number;
  private model: UnigramModel;
  private specials: Map<string, number>;
  private specialSplit?: RegExp;
  private idToToken: string[];
  private charsmap?: Charsmap;
  private ws: SpmWhitespace;
  private warner = new TruncationWarner();
  onWarning = stderrWarning;

  constructor(s: UnigramSetup) {
    this.model = new UnigramModel(s.pieces, s.unkId, s.where);
    this.idToToken = s.pieces.map((p) => p.piece);
    this.specials = s.specials;
    for (const [t, id] of s.specials) this.idToToken[id] ??= t;
    const idOf = (t: string) => {
      const id = s.specials.get(t) ?? s.pieces.findIndex((p) => p.piece === t);
      if (id < 0) throw new EngineError(`tokenizer: ${s.where}: special token '${t}' is not in the vocabulary`);
      return id;
    };
    this.eosId = idOf(s.eos);
    this.padId = idOf(s.pad);
    if (s.specials.size > 0) {
      const alts = [...s.specials.keys()].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
      this.specialSplit = new RegExp(`(${alts.join('|')})`, 'u');
    }
    this.charsmap = s.charsmap;
    this.ws = s.ws;
    this.maxLength = s.maxLength;
  }

  contentIds(text: string): number[] {
    const ids: number[] = [];
    const chunks = this.specialSplit ? text.split(this.specialSplit) : [text];
    chunks.forEach((chunk, i) => {
      const special = this.specials.get(chunk);
      // Odd indices are the captured special tokens.
      if (i % 2 === 1 && special !== undefined) { ids.push(special); return; }
      if (chunk === '') return;
      // Only text at the very start gets the dummy '▁' prefix (Metaspace prepend_scheme
      // 'first'); text after a special token keeps a leading space as one '▁'.
      const first = i === 0;
      const norm = spmNormalize(chunk, this.charsmap, {
        ...this.ws, addDummyPrefix: this.ws.addDummyPrefix && first, keepLeadingSpace: !first,
      });
      for (const id of this.model.encode(norm)) ids.push(id);
    });
    return ids;
  }

  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const maxLength = opts.maxLength ?? this.maxLength;
    const { enc, dropped } = frame(this.contentIds(text), { eos: this.eosId, pad: this.padId }, maxLength, opts);
    this.warner.warn(this.onWarning, 'T5', text, dropped, maxLength);
    return enc;
  }

  decodeTokens(ids: number[]): string[] {
    return ids.map((id) => {
      const t = this.idToToken[id];
      if (t === undefined) throw new EngineError(`tokenizer: id ${id} is outside the T5 vocabulary (${this.idToToken.length})`);
      return t;
    });
  }
}

type Json = Record<string, any>;

// tokenizer.json (HF tokenizers) with a Unigram model, as shipped with T5 / PixArt / SD3 / FLUX.
export function loadT5FromTokenizerJson(folder: string): T5Tokenizer {
  const where = join(folder, 'tokenizer.json');
  const tj = readJson(folder, 'tokenizer.json') as Json;
  const model = tj?.model as Json | undefined;
  if (!model || model.type !== 'Unigram') {
    const hint = model?.type === 'BPE' ? '; a CLIP BPE folder needs vocab.json + merges.txt' : '';
    throw new EngineError(`tokenizer: ${where}: model type is '${model?.type}', expected 'Unigram' (T5 SentencePiece)${hint}`);
  }
  if (!Array.isArray(model.vocab) || model.vocab.length === 0) throw new EngineError(`tokenizer: ${where}: model.vocab should be a non-empty array of [piece, score]`);
  if (model.byte_fallback) throw new EngineError(`tokenizer: ${where}: byte_fallback Unigram models are not supported`);
  const pieces: Piece[] = model.vocab.map((e: unknown, i: number) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') {
      throw new EngineError(`tokenizer: ${where}: model.vocab[${i}] should be [piece, score]`);
    }
    // Scores are float32 in sentencepiece; JSON carries them widened to float64.
    return { piece: e[0], score: Math.fround(e[1]), type: PieceType.Normal };
  });
  const specials = new Map<string, number>();
  for (const t of (tj.added_tokens ?? []) as Json[]) {
    if (typeof t?.content !== 'string' || t.content === '' || !Number.isInteger(t?.id)) throw new EngineError(`tokenizer: ${where}: bad added_tokens entry`);
    specials.set(t.content, t.id);
    // Added tokens are matched only as whole special tokens, never inside words.
    if (t.id < pieces.length && pieces[t.id].piece === t.content) pieces[t.id] = { ...pieces[t.id], type: PieceType.Control };
  }
  const cfg = readOptionalJson(folder, 'tokenizer_config.json') ?? {};
  return new T5Tokenizer({
    pieces, unkId: model.unk_id, specials, where,
    eos: tokenContent(cfg.eos_token) ?? '</s>', pad: tokenContent(cfg.pad_token) ?? '<pad>',
    charsmap: findCharsmap(tj.normalizer, where),
    ws: whitespaceRules(tj.pre_tokenizer, where),
    maxLength: modelMaxLength(cfg),
  });
}

// Normalizers of the T5 conversions: Precompiled, optionally with Strip / Replace of
// space runs, which sentencepiece's remove_extra_whitespaces already does.
function findCharsmap(n: Json | null | undefined, where: string): Charsmap | undefined {
  if (n == null) return undefined;
  const list: Json[] = n.type === 'Sequence' ? n.normalizers : [n];
  let map: Charsmap | undefined;
  for (const x of list) {
    if (x.type === 'Precompiled') {
      if (x.precompiled_charsmap) map = new Charsmap(Buffer.from(x.precompiled_charsmap, 'base64'), where);
    } else if (x.type === 'Replace') {
      const pat = x.pattern?.Regex ?? x.pattern?.String;
      if (!/^ +(\{2,\})?$/.test(pat ?? '') || !/^[ \u2581]$/.test(x.content ?? '')) {
        throw new EngineError(`tokenizer: ${where}: Replace normalizer ${JSON.stringify(x.pattern)} -> ${JSON.stringify(x.content)} is not supported (only space runs)`);
      }
    } else if (x.type !== 'Strip') {
      throw new EngineError(`tokenizer: ${where}: normalizer '${x.type}' is not supported (expected Precompiled, Strip, Replace)`);
    }
  }
  return map;
}

function whitespaceRules(p: Json | null | undefined, where: string): SpmWhitespace {
  const list: Json[] = p == null ? [] : p.type === 'Sequence' ? p.pretokenizers : [p];
  const meta = list.find((x) => x.type === 'Metaspace');
  const other = list.find((x) => x.type !== 'Metaspace' && x.type !== 'WhitespaceSplit');
  if (!meta || other) {
    throw new EngineError(`tokenizer: ${where}: pre_tokenizer should be Metaspace (optionally after WhitespaceSplit), got ${JSON.stringify(p?.type)}`);
  }
  if (meta.replacement !== '\u2581') throw new EngineError(`tokenizer: ${where}: Metaspace replacement must be '\u2581'`);
  const prefix = meta.prepend_scheme !== undefined ? meta.prepend_scheme !== 'never' : meta.add_prefix_space !== false;
  return { addDummyPrefix: prefix, removeExtraWhitespaces: true, escapeWhitespaces: true };
}

function modelMaxLength(cfg: Json): number {
  const m = cfg.model_max_length;
  return typeof m === 'number' && m > 0 && m < 1e6 ? m : 512;
}

// A folder with only spiece.model (+ optional tokenizer_config.json), as transformers'
// slow T5Tokenizer reads it: <extra_id_N> tokens are appended after the pieces.
export function loadT5FromSpiece(folder: string): T5Tokenizer {
  const where = join(folder, 'spiece.model');
  let buf: Uint8Array;
  try { buf = readFileSync(where); } catch { throw new EngineError(`tokenizer: missing file ${where}`); }
  const m = parseSentencePieceModel(buf, where);
  if (m.modelType !== 1) throw new EngineError(`tokenizer: ${where}: model type ${m.modelType} is not Unigram (1)`);
  if (m.byteFallback) throw new EngineError(`tokenizer: ${where}: byte_fallback models are not supported`);
  const cfg = readOptionalJson(folder, 'tokenizer_config.json') ?? {};
  const specials = new Map<string, number>();
  m.pieces.forEach((p, id) => {
    if (p.type === PieceType.Control || p.type === PieceType.Unknown) specials.set(p.piece, id);
  });
  const extra = typeof cfg.extra_ids === 'number' ? cfg.extra_ids : 100;
  for (let i = 0; i < extra; i++) specials.set(`<extra_id_${i}>`, m.pieces.length + extra - 1 - i);
  const byId = (id: number, dflt: string) => (id >= 0 && id < m.pieces.length ? m.pieces[id].piece : dflt);
  return new T5Tokenizer({
    pieces: m.pieces, unkId: m.unkId, specials, where,
    eos: tokenContent(cfg.eos_token) ?? byId(m.eosId, '</s>'),
    pad: tokenContent(cfg.pad_token) ?? byId(m.padId, '<pad>'),
    charsmap: m.charsmap && m.charsmap.length > 0 ? new Charsmap(m.charsmap, where) : undefined,
    ws: { addDummyPrefix: m.addDummyPrefix, removeExtraWhitespaces: m.removeExtraWhitespaces, escapeWhitespaces: m.escapeWhitespaces },
    maxLength: modelMaxLength(cfg),
  });
}
