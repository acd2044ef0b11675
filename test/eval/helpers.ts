// Shared by the eval tests: a CLIP BPE tokenizer small enough for the clip-score fixture's
// 1000-token vocabulary (every ASCII byte as a symbol and as a word end, one merge, BOS/EOS
// at the top ids as in real CLIP, so the legacy argmax pooling finds the EOS).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { byteEncode } from '../../src/tokenizers/clip_text.ts';

export function writeTinyTokenizer(dir: string, vocabSize = 1000): string {
  fs.mkdirSync(dir, { recursive: true });
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 128; b++) {
    const [ch] = byteEncode(String.fromCharCode(b));
    vocab[ch] = b;
    vocab[`${ch}</w>`] = 128 + b;
  }
  vocab.qu = 256; // one merge: the BPE reader wants at least one
  vocab['<|startoftext|>'] = vocabSize - 2;
  vocab['<|endoftext|>'] = vocabSize - 1;
  fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab));
  fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\nq u\n');
  return dir;
}
