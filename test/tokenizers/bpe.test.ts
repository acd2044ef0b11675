// The heap-driven BPE merge against the textbook loop (transformers' CLIPTokenizer.bpe,
// written out here from its description), on the real CLIP merges and on small tables
// built to catch ordering mistakes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BpeMerges } from '../../src/tokenizers/bpe.ts';
import { byteEncode } from '../../src/tokenizers/clip_text.ts';
import { FIXTURES } from '../util/fixture.ts';

// Repeatedly: take the lowest-rank adjacent pair, merge all its occurrences left to right.
function naiveBpe(symbols: string[], ranks: Map<string, number>): string[] {
  let word = symbols.slice();
  word[word.length - 1] += '</w>';
  while (word.length > 1) {
    let best: [string, string] | undefined, bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (r !== undefined && r < bestRank) { bestRank = r; best = [word[i], word[i + 1]]; }
    }
    if (!best) break;
    const out: string[] = [];
    for (let i = 0; i < word.length;) {
      if (i + 1 < word.length && word[i] === best[0] && word[i + 1] === best[1]) { out.push(best[0] + best[1]); i += 2; }
      else out.push(word[i++]);
    }
    word = out;
  }
  return word;
}

function rankTable(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.trim().split('\n').slice(1)) if (!m.has(line)) m.set(line, m.size);
  return m;
}

test('pairs created by a pass wait for the next pass, even with a lower rank', () => {
  // (x,y) merges everywhere first; (xy,x) must not grab the second x early.
  const text = '#version: 0.2\nxy x\nx y\nxy xy';
  const bpe = new BpeMerges(text, 'test merges');
  const word = ['x', 'y', 'x', 'y', 'z'];
  const got = bpe.merge(word);
  assert.equal(got, naiveBpe(word, rankTable(text)));
  assert.equal(got, ['xyxy', 'z</w>']);
  assert.equal(bpe.merge(['a', 'a', 'a']), ['a', 'a', 'a</w>'], 'no merges apply');
  const t2 = '#version: 0.2\na a\naa a</w>';
  assert.equal(new BpeMerges(t2, 't2').merge(['a', 'a', 'a']), naiveBpe(['a', 'a', 'a'], rankTable(t2)));
});

test('random pieces agree with the reference loop on the real CLIP merges', () => {
  const text = readFileSync(join(FIXTURES, 'clip-bpe', 'merges.txt'), 'utf8');
  const bpe = new BpeMerges(text, 'merges.txt');
  const ranks = rankTable(text);
  assert.is(bpe.size, 48894);
  const alphabet = 'aeiouy lnrstbcdkmpgh!?.,-123éü日😀';
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 2000; k++) {
    const n = 1 + Math.floor(rand() * 14);
    let s = '';
    for (let i = 0; i < n; i++) s += [...alphabet][Math.floor(rand() * [...alphabet].length)];
    s = s.replace(/ /g, '');
    if (!s) continue;
    const sym = byteEncode(s);
    assert.equal(bpe.merge(sym), naiveBpe(sym, ranks), `piece ${JSON.stringify(s)}`);
  }
});

test('a 100k-symbol piece merges in well under a second', () => {
  const bpe = new BpeMerges(readFileSync(join(FIXTURES, 'clip-bpe', 'merges.txt'), 'utf8'), 'merges.txt');
  const t0 = performance.now();
  const out = bpe.merge(byteEncode('!?'.repeat(50000)));
  const ms = performance.now() - t0;
  console.log(`  bpe: 100000 symbols -> ${out.length} in ${ms.toFixed(0)} ms`);
  assert.ok(out.length > 0 && out.length < 100000);
  assert.ok(ms < 3000, `${ms} ms`);
});

test.run();
