// Tokenizer loading by folder contents: vocab.json + merges.txt -> CLIP BPE;
// tokenizer.json (Unigram model) or spiece.model -> T5 SentencePiece.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.ts';
import { ClipTokenizer } from './clip.ts';
import { loadT5FromSpiece, loadT5FromTokenizerJson } from './t5.ts';
import type { Tokenizer } from './common.ts';

export type { EncodeOptions, Encoding, Tokenizer } from './common.ts';
export { ClipTokenizer } from './clip.ts';
export { T5Tokenizer } from './t5.ts';
export { pixartCaption, PIXART_MAX_LENGTH } from './pixart.ts';

export function loadTokenizer(folder: string): Tokenizer {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new EngineError(`tokenizer: ${folder} is not a folder`);
  }
  const has = (f: string) => existsSync(join(folder, f));
  if (has('vocab.json') || has('merges.txt')) {
    return new ClipTokenizer(folder); // names whichever of the two is missing
  }
  if (has('tokenizer.json')) return loadT5FromTokenizerJson(folder);
  if (has('spiece.model')) return loadT5FromSpiece(folder);
  throw new EngineError(`tokenizer: ${folder} has no tokenizer files (expected vocab.json + merges.txt, tokenizer.json or spiece.model)`);
}
