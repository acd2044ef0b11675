// Unigram language-model segmentation (sentencepiece unigram_model.cc, EncodeOptimized):
// Viterbi over the normalized text maximising the sum of piece scores. A character that
// no single-character piece covers becomes <unk> with score min_score - 10; consecutive
// <unk> are fused into one, as sentencepiece's processor does. Path scores are summed in
// float32 like sentencepiece, so ties and near-ties resolve the same way.
import { EngineError } from '../errors.ts';

// sentencepiece ModelProto.SentencePiece.Type values.
export const PieceType = { Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

export interface Piece { piece: string; score: number; type: PieceType; }

const UNK_PENALTY = 10;
const utf8 = new TextEncoder();

export class UnigramModel {
  readonly pieces: Piece[];
  readonly unkId: number;
  private minScore = Infinity;
  private maxScore = -Infinity;
  // Character trie over UTF-16 code units: edge key node * 65536 + unit -> child node.
  private edges = new Map<number, number>();
  private nodePiece: number[] = [-1];

  constructor(pieces: Piece[], unkId: number, where: string) {
    if (!Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length) {
      throw new EngineError(`tokenizer: ${where}: unk id ${unkId} is outside the vocabulary (${pieces.length})`);
    }
    this.pieces = pieces;
    this.unkId = unkId;
    pieces.forEach((p, id) => {
      if (p.type === PieceType.Normal) {
        this.minScore = Math.min(this.minScore, p.score);
        this.maxScore = Math.max(this.maxScore, p.score);
      }
      // Only normal and user-defined pieces can be matched in text.
      if ((p.type === PieceType.Normal || p.type === PieceType.UserDefined) && p.piece.length > 0) this.insert(p.piece, id);
    });
    if (this.minScore === Infinity) throw new EngineError(`tokenizer: ${where}: the vocabulary has no normal pieces`);
  }

  private insert(s: string, id: number): void {
    let node = 0;
    for (let i = 0; i < s.length; i++) {
      const key = node * 65536 + s.charCodeAt(i);
      let child = this.edges.get(key);
      if (child === undefined) {
        child = this.nodePiece.length;
        this.nodePiece.push(-1);
        this.edges.set(key, child);
      }
      node = child;
    }
    if (this.nodePiece[node] < 0) this.nodePiece[node] = id; // first id wins on duplicates
  }

  // Piece ids of a normalized string (with '▁' for spaces).
  encode(s: string): number[] {
    const n = s.length;
    const score = new Float64Array(n + 1);
    const start = new Int32Array(n + 1).fill(-1);
    const id = new Int32Array(n + 1);
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    for (let at = 0; at < n; at = nextChar(s, at)) {
      const here = score[at];
      const charLen = nextChar(s, at) - at;
      let single = false;
      let node = 0;
      for (let end = at; end < n; end++) {
        const child = this.edges.get(node * 65536 + s.charCodeAt(end));
        if (child === undefined) break;
        node = child;
        const pid = this.nodePiece[node];
        if (pid < 0) continue;
        const len = end + 1 - at;
        const p = this.pieces[pid];
        const ps = p.type === PieceType.UserDefined
          ? utf8.encode(p.piece).length * this.maxScore - 0.1 // always preferred, as in sentencepiece
          : p.score;
        const cand = Math.fround(ps + here);
        if (start[end + 1] < 0 || cand > score[end + 1]) {
          score[end + 1] = cand; start[end + 1] = at; id[end + 1] = pid;
        }
        if (len === charLen) single = true;
      }
      if (!single) {
        const cand = Math.fround(unkScore + here);
        const e = at + charLen;
        if (start[e] < 0 || cand > score[e]) { score[e] = cand; start[e] = at; id[e] = this.unkId; }
      }
    }
    const out: number[] = [];
    for (let e = n; e > 0; e = start[e]) out.push(id[e]);
    out.reverse();
    return out.filter((v, i) => !(v === this.unkId && i > 0 && out[i - 1] === this.unkId));
  }
}

function nextChar(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c < 0xdc00 && i + 1 < s.length ? i + 2 : i + 1;
}
