// Byte-level BPE merging of one pre-tokenized piece, with '</w>' on its last symbol.
// Same result as the reference loop (repeatedly merge every occurrence of the lowest-rank
// adjacent pair, left to right), but driven by a heap over a linked list of symbols so a
// pathological long piece costs O(n log n) instead of O(n^2).
import { EngineError } from '../errors.ts';

export class BpeMerges {
  private ranks = new Map<string, number>();
  private cache = new Map<string, string[]>();

  // merges.txt: optional '#version' header, then one 'left right' pair per line in rank order.
  // `limit` mirrors transformers' CLIPTokenizer, which reads only the first 48894 merges.
  constructor(text: string, fileName: string, limit = Infinity) {
    const lines = text.replace(/\r\n/g, '\n').trim().split('\n');
    const start = lines.length > 0 && lines[0].startsWith('#version') ? 1 : 0;
    // The line itself is the key (no split/join: this loop is a visible part of CLI startup).
    for (let i = start; i < lines.length && this.ranks.size < limit; i++) {
      const line = lines[i], sp = line.indexOf(' ');
      if (sp <= 0 || sp === line.length - 1 || line.indexOf(' ', sp + 1) >= 0) {
        throw new EngineError(`tokenizer: ${fileName} line ${i + 1}: expected 'left right' (two symbols, one space), got '${line}'`);
      }
      if (!this.ranks.has(line)) this.ranks.set(line, this.ranks.size);
    }
    if (this.ranks.size === 0) throw new EngineError(`tokenizer: ${fileName} holds no merges`);
  }

  get size(): number { return this.ranks.size; }

  // symbols: the byte-encoded characters of one piece. Returns the merged symbols.
  merge(symbols: string[]): string[] {
    if (symbols.length === 0) return [];
    const key = symbols.join('');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const sym = symbols.slice();
    sym[sym.length - 1] += '</w>';
    const out = this.run(sym);
    if (this.cache.size > 50000) this.cache.clear();
    this.cache.set(key, out);
    return out;
  }

  private run(sym: string[]): string[] {
    const n = sym.length;
    const next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    const heap = new PairHeap();
    const push = (i: number) => {
      const j = next[i];
      if (j < 0 || sym[i] === '') return;
      const r = this.ranks.get(`${sym[i]} ${sym[j]}`);
      if (r !== undefined) heap.push(r, i, sym[i], sym[j]);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    // One rank per pass, as the reference does: pairs created by this pass wait until it
    // ends, even when their rank is lower (merging them early changes the result).
    const touched: number[] = [];
    while (heap.size > 0) {
      const rank = heap.peekRank();
      touched.length = 0;
      while (heap.size > 0 && heap.peekRank() === rank) {
        const e = heap.pop()!;
        const i = e.pos, j = next[i];
        // Stale entry: a side was merged since it was pushed (symbols only grow).
        if (sym[i] !== e.left || j < 0 || sym[j] !== e.right) continue;
        sym[i] = e.left + e.right;
        sym[j] = '';
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        if (prev[i] >= 0) touched.push(prev[i]);
        touched.push(i);
      }
      for (const t of touched) push(t);
    }
    const out: string[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return out;
  }
}

interface PairEntry { rank: number; pos: number; left: string; right: string; }

// Min-heap on (rank, position): equal ranks merge left to right, like the reference pass.
class PairHeap {
  private a: PairEntry[] = [];
  get size(): number { return this.a.length; }
  peekRank(): number { return this.a[0].rank; }
  private less(x: PairEntry, y: PairEntry): boolean {
    return x.rank < y.rank || (x.rank === y.rank && x.pos < y.pos);
  }
  push(rank: number, pos: number, left: string, right: string): void {
    const a = this.a;
    a.push({ rank, pos, left, right });
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): PairEntry | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0], last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
