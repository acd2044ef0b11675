// SentencePiece text normalization: the precompiled charsmap (e.g. nmt_nfkc) and the
// whitespace rules of NormalizerSpec, following sentencepiece's normalizer.cc.
//
// Charsmap blob layout (little-endian): u32 trie size in bytes, then a darts-clone double
// array of u32 units (keys: UTF-8 byte strings, values: byte offsets), then the
// replacement strings, NUL-terminated, that the values point into. At each position the
// longest key that prefixes the remaining UTF-8 input is replaced; with no match one
// UTF-8 character is copied.
import { EngineError } from '../errors.ts';

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

export class Charsmap {
  private units: Uint32Array;
  private strings: Uint8Array;
  private decoded = new Map<number, string>();

  constructor(blob: Uint8Array, where: string) {
    if (blob.length < 4) throw new EngineError(`tokenizer: ${where}: precompiled charsmap is ${blob.length} bytes, too short`);
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length || trieBytes === 0) {
      throw new EngineError(`tokenizer: ${where}: precompiled charsmap declares a ${trieBytes}-byte trie in a ${blob.length}-byte blob`);
    }
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.strings = blob.subarray(4 + trieBytes);
  }

  // Longest rule matching bytes[pos..]: [replacement, bytes consumed], or undefined.
  match(bytes: Uint8Array, pos: number): [string, number] | undefined {
    const u = this.units;
    let node = offset(u[0]);
    let bestLen = 0, bestValue = -1;
    for (let i = pos; i < bytes.length; i++) {
      const c = bytes[i];
      node ^= c;
      if (node >= u.length) break;
      const unit = u[node];
      if (((unit & 0x800000ff) >>> 0) !== c) break; // label mismatch: no longer key
      node ^= offset(unit);
      if ((unit >>> 8) & 1) { // has a leaf: a key ends here
        if (node >= u.length) break;
        bestLen = i + 1 - pos;
        bestValue = u[node] & 0x7fffffff;
      }
    }
    return bestLen === 0 ? undefined : [this.replacement(bestValue), bestLen];
  }

  private replacement(at: number): string {
    let s = this.decoded.get(at);
    if (s !== undefined) return s;
    let end = at;
    while (end < this.strings.length && this.strings[end] !== 0) end++;
    s = decoder.decode(this.strings.subarray(at, end));
    this.decoded.set(at, s);
    return s;
  }
}

function offset(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

// Length of the UTF-8 character starting at bytes[pos]. The bytes come from TextEncoder,
// so they are well-formed (lone surrogates were already replaced by U+FFFD).
function charLen(bytes: Uint8Array, pos: number): number {
  const b = bytes[pos];
  return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

export interface SpmWhitespace {
  addDummyPrefix: boolean; // prepend one space (as '▁') to the text
  removeExtraWhitespaces: boolean; // drop leading/trailing spaces, collapse runs
  escapeWhitespaces: boolean; // ' ' -> '▁'
  // Keep a leading run of spaces as one space instead of dropping it. sentencepiece never
  // does; HF's Metaspace pipeline does for text that follows a special token.
  keepLeadingSpace?: boolean;
}

// normalizer.cc Normalize(): charsmap replacement piece by piece, whitespace rules applied
// to the replaced text (so a rule producing a space counts as a space).
export function spmNormalize(text: string, map: Charsmap | undefined, ws: SpmWhitespace): string {
  const bytes = utf8.encode(text);
  const next = (pos: number): [string, number] => {
    const hit = map?.match(bytes, pos);
    if (hit) return hit;
    const n = Math.min(charLen(bytes, pos), bytes.length - pos);
    return [decoder.decode(bytes.subarray(pos, pos + n)), n];
  };
  let pos = 0;
  let out = '';
  if (ws.removeExtraWhitespaces && !ws.keepLeadingSpace) {
    while (pos < bytes.length) {
      const [s, n] = next(pos);
      if (s !== ' ') break;
      pos += n;
    }
  }
  if (ws.addDummyPrefix) out += ' ';
  let prevSpace = ws.removeExtraWhitespaces && !ws.keepLeadingSpace;
  while (pos < bytes.length) {
    let [s, n] = next(pos);
    if (prevSpace && ws.removeExtraWhitespaces) s = s.replace(/^ +/, '');
    if (s !== '') {
      out += s;
      prevSpace = s.endsWith(' ');
    }
    if (!ws.removeExtraWhitespaces) prevSpace = false;
    pos += n;
  }
  // Trailing spaces go after escaping, as in sentencepiece (so a literal trailing '▁' goes too).
  if (ws.escapeWhitespaces) out = out.replaceAll(' ', '\u2581');
  if (ws.removeExtraWhitespaces) {
    const sp = ws.escapeWhitespaces ? '\u2581' : ' ';
    let end = out.length;
    while (end > 0 && out[end - 1] === sp) end--;
    out = out.slice(0, end);
  }
  return out;
}
