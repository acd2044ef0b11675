// What both tokenizers share: the public interface, file reading that fails with the
// file's name, and the pipeline's truncate/pad step (transformers' padding='max_length',
// truncation=True: cut the content, then add the special tokens, then pad).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.ts';

export interface EncodeOptions {
  maxLength?: number; // defaults to the tokenizer's model_max_length (77 CLIP, 120 PixArt T5)
  pad?: boolean; // pad to maxLength with the pad token (default true)
  truncate?: boolean; // cut to maxLength keeping the final EOS (default true)
}

export interface Encoding {
  ids: number[];
  attentionMask: number[]; // 1 on real tokens (BOS/EOS included), 0 on padding
  numTokensUntruncated: number; // including BOS/EOS, before truncation and padding
}

export interface Tokenizer {
  readonly kind: 'clip-bpe' | 't5-unigram';
  readonly maxLength: number;
  readonly padId: number;
  readonly eosId: number; // CLIP pools the hidden state at the first EOS
  encode(text: string, opts?: EncodeOptions): Encoding;
  decodeTokens(ids: number[]): string[];
  // Where truncation warnings go (default: one line on stderr). Tests swap it.
  onWarning: (message: string) => void;
}

export function stderrWarning(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

export function readText(folder: string, name: string): string {
  const path = join(folder, name);
  if (!existsSync(path)) throw new EngineError(`tokenizer: missing file ${path}`);
  return readFileSync(path, 'utf8');
}

export function readJson(folder: string, name: string): unknown {
  const text = readText(folder, name);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EngineError(`tokenizer: ${join(folder, name)} is not valid JSON (${(e as Error).message})`);
  }
}

export function readOptionalJson(folder: string, name: string): Record<string, unknown> | undefined {
  if (!existsSync(join(folder, name))) return undefined;
  const v = readJson(folder, name);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new EngineError(`tokenizer: ${join(folder, name)} should hold a JSON object`);
  }
  return v as Record<string, unknown>;
}

// Special tokens appear in tokenizer configs as a string or as {content: string}.
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

export interface Framing {
  bos?: number; // prepended (CLIP) or absent (T5)
  eos: number;
  pad: number;
}

// Frames content ids as the pipelines do and reports how many content tokens were cut.
export function frame(content: number[], f: Framing, maxLength: number, opts: EncodeOptions):
  { enc: Encoding; dropped: number } {
  const pad = opts.pad ?? true, truncate = opts.truncate ?? true;
  const nSpecial = (f.bos === undefined ? 0 : 1) + 1;
  if (!Number.isInteger(maxLength) || maxLength < nSpecial) {
    throw new EngineError(`tokenizer: max length must be an integer >= ${nSpecial}, got ${maxLength}`);
  }
  const numTokensUntruncated = content.length + nSpecial;
  const keep = truncate ? Math.min(content.length, maxLength - nSpecial) : content.length;
  const ids = f.bos === undefined ? [] : [f.bos];
  for (let i = 0; i < keep; i++) ids.push(content[i]);
  ids.push(f.eos);
  const attentionMask = ids.map(() => 1);
  if (pad) while (ids.length < maxLength) { ids.push(f.pad); attentionMask.push(0); }
  return { enc: { ids, attentionMask, numTokensUntruncated }, dropped: content.length - keep };
}

// Warns once per distinct prompt per tokenizer: a pipeline may encode the same prompt
// several times (batches, repeated calls) and one line is enough.
export class TruncationWarner {
  private seen = new Set<string>();
  warn(sink: (m: string) => void, what: string, text: string, dropped: number, maxLength: number): void {
    if (dropped <= 0 || this.seen.has(text)) return;
    if (this.seen.size > 1024) this.seen.clear();
    this.seen.add(text);
    const head = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    sink(`${what} prompt "${head}" is longer than ${maxLength} tokens: ${dropped} token(s) dropped`);
  }
}
