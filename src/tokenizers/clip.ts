// CLIP BPE tokenizer from a diffusers `tokenizer/` folder (vocab.json + merges.txt, and
// optionally tokenizer_config.json / special_tokens_map.json), matching transformers'
// slow CLIPTokenizer without ftfy, which is what diffusers runs for SD1.x/SD2.x/SDXL.
// The pad token is read from the config: SD1.x pads with <|endoftext|>, SD2.x/SDXL
// tokenizer_2 with '!' (id 0) -- and, as in transformers, every added/special token
// (including that '!') is split out of the prompt before BPE (diffusers issue #4153).
import { join } from 'node:path';
import { EngineError } from '../errors.ts';
import { BpeMerges } from './bpe.ts';
import { byteEncode, clipBasicClean, clipPieces } from './clip_text.ts';
import {
  frame, readJson, readOptionalJson, readText, stderrWarning, tokenContent, TruncationWarner,
  type EncodeOptions, type Encoding, type Tokenizer,
} from './common.ts';

// transformers reads merges.txt lines [1 : 49152 - 256 - 2 + 1]: 48894 merges.
const CLIP_MERGE_LIMIT = 49152 - 256 - 2;
// Pieces CLIPTokenizer.bpe() returns unchanged (its cache is seeded with them).
const BPE_CACHE_SEED = new Set(['<|startoftext|>', '<|endoftext|>']);

export interface ClipOverrides {
  padToken?: string; // as CLIPTokenizer(..., pad_token='!')
  maxLength?: number;
}

export class ClipTokenizer implements Tokenizer {
  readonly kind = 'clip-bpe' as const;
  readonly maxLength: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  private unkId: number;
  private vocab: Map<string, number>;
  private idToToken: string[] = [];
  private merges: BpeMerges;
  private specialIds = new Map<string, number>();
  private specialSplit: RegExp;
  private warner = new TruncationWarner();
  onWarning = stderrWarning;

  constructor(folder: string, overrides: ClipOverrides = {}) {
    this.vocab = loadVocab(folder);
    for (const [tok, id] of this.vocab) this.idToToken[id] = tok;
    this.merges = new BpeMerges(readText(folder, 'merges.txt'), join(folder, 'merges.txt'), CLIP_MERGE_LIMIT);

    const cfg = readOptionalJson(folder, 'tokenizer_config.json') ?? {};
    const map = readOptionalJson(folder, 'special_tokens_map.json') ?? {};
    const pick = (key: string, dflt: string) => tokenContent(cfg[key]) ?? tokenContent(map[key]) ?? dflt;
    const bos = pick('bos_token', '<|startoftext|>');
    const eos = pick('eos_token', '<|endoftext|>');
    const unk = pick('unk_token', '<|endoftext|>');
    const pad = overrides.padToken ?? pick('pad_token', '<|endoftext|>');

    // Added tokens declared with explicit ids, then the four special tokens by vocab lookup.
    const decl = cfg.added_tokens_decoder;
    if (decl !== undefined && (typeof decl !== 'object' || decl === null)) {
      throw new EngineError(`tokenizer: ${join(folder, 'tokenizer_config.json')}: added_tokens_decoder should be an object`);
    }
    for (const [idStr, tok] of Object.entries((decl ?? {}) as Record<string, unknown>)) {
      const content = tokenContent(tok), id = Number(idStr);
      if (!content || !Number.isInteger(id)) {
        throw new EngineError(`tokenizer: ${join(folder, 'tokenizer_config.json')}: bad added_tokens_decoder entry '${idStr}'`);
      }
      this.specialIds.set(content, id);
      this.idToToken[id] ??= content;
    }
    for (const t of [bos, eos, unk, pad]) {
      if (this.specialIds.has(t)) continue;
      const id = this.vocab.get(t);
      if (id === undefined) throw new EngineError(`tokenizer: special token '${t}' of ${folder} is not in vocab.json`);
      this.specialIds.set(t, id);
    }
    this.bosId = this.specialIds.get(bos)!;
    this.eosId = this.specialIds.get(eos)!;
    this.unkId = this.specialIds.get(unk)!;
    this.padId = this.specialIds.get(pad)!;
    // Longest first, so the regex alternation takes the longest token at a position.
    const alts = [...this.specialIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegex);
    this.specialSplit = new RegExp(`(${alts.join('|')})`, 'u');

    const mml = overrides.maxLength ?? cfg.model_max_length;
    // Configs sometimes carry transformers' VERY_LARGE_INTEGER placeholder; CLIP's context is 77.
    this.maxLength = typeof mml === 'number' && mml > 0 && mml < 1e6 ? mml : 77;
  }

  // Content ids (no BOS/EOS) of a prompt.
  contentIds(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of text.split(this.specialSplit)) {
      if (chunk === '') continue;
      const special = this.specialIds.get(chunk);
      if (special !== undefined) { ids.push(special); continue; }
      for (const piece of clipPieces(clipBasicClean(chunk))) {
        // The pattern lets literal special-token text through as one piece; transformers'
        // bpe cache maps it to itself, i.e. the special id.
        const sp = BPE_CACHE_SEED.has(piece) ? this.vocab.get(piece) : undefined;
        if (sp !== undefined) { ids.push(sp); continue; }
        for (const sym of this.merges.merge(byteEncode(piece))) ids.push(this.vocab.get(sym) ?? this.unkId);
      }
    }
    return ids;
  }

  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const maxLength = opts.maxLength ?? this.maxLength;
    const { enc, dropped } = frame(this.contentIds(text), { bos: this.bosId, eos: this.eosId, pad: this.padId }, maxLength, opts);
    this.warner.warn(this.onWarning, 'CLIP', text, dropped, maxLength);
    return enc;
  }

  decodeTokens(ids: number[]): string[] {
    return ids.map((id) => {
      const t = this.idToToken[id];
      if (t === undefined) throw new EngineError(`tokenizer: id ${id} is outside the CLIP vocabulary (${this.idToToken.length})`);
      return t;
    });
  }
}

function loadVocab(folder: string): Map<string, number> {
  const raw = readJson(folder, 'vocab.json');
  const path = join(folder, 'vocab.json');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EngineError(`tokenizer: ${path} should map token -> id (a JSON object)`);
  }
  const vocab = new Map<string, number>();
  const obj = raw as Record<string, unknown>;
  for (const tok in obj) { // not Object.entries: no 49k temporary pairs at startup
    const id = obj[tok];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new EngineError(`tokenizer: ${path}: id of '${tok}' should be a non-negative integer, got ${JSON.stringify(id)}`);
    }
    vocab.set(tok, id);
  }
  if (vocab.size === 0) throw new EngineError(`tokenizer: ${path} is empty`);
  return vocab;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
