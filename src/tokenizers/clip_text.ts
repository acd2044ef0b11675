// CLIP text preparation before BPE, as transformers' slow CLIPTokenizer does it when ftfy
// is not installed (the golden path: ../shared/fixtures/clip-bpe/case.json notes):
// BasicTokenizer(strip_accents=False, do_split_on_punc=False) cleans the text, then the
// CLIP regex splits it into pieces whose UTF-8 bytes are mapped to printable characters.
// https://github.com/huggingface/transformers/blob/v4.43.4/src/transformers/models/clip/tokenization_clip.py

// transformers' _is_chinese_char ranges: CJK ideographs get spaces around them.
const CJK: [number, number][] = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b820, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];

function isCjk(cp: number): boolean {
  for (const [a, b] of CJK) if (cp >= a && cp <= b) return true;
  return false;
}

const CONTROL = /^\p{C}$/u; // Python: unicodedata.category(c).startswith('C')
const SPACE_SEP = /^\p{Zs}$/u;

// BasicTokenizer.tokenize + ' '.join: drop NUL/U+FFFD/control chars (tab, LF, CR become
// spaces), any Zs space becomes ' ', spaces around CJK, NFC, split on whitespace,
// lowercase each word (accents kept). Returns the words joined by single spaces.
export function clipBasicClean(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEP.test(ch)) { out += ' '; continue; }
    if (cp === 0 || cp === 0xfffd || CONTROL.test(ch)) continue;
    out += isCjk(cp) ? ` ${ch} ` : ch;
  }
  const words = out.normalize('NFC').split(/\s+/).filter((w) => w.length > 0);
  return words.map((w) => w.toLowerCase()).join(' ');
}

// The CLIP pre-tokenization pattern (IGNORECASE in the original; the text is already
// lower-case here, so the flag changes nothing). Digits are single pieces.
const PIECE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;

export function clipPieces(cleaned: string): string[] {
  return cleaned.match(PIECE) ?? [];
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
// bytes are shifted to U+0100.. so every byte string is a printable string.
export const BYTE_TO_CHAR: string[] = (() => {
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
})();

const utf8 = new TextEncoder();

export function byteEncode(piece: string): string[] {
  return Array.from(utf8.encode(piece), (b) => BYTE_TO_CHAR[b]);
}
