// Shared by the T5 tests: the t5-tokenizer fixture and the exact-golden check, run for
// every way a T5 tokenizer can be loaded (tokenizer.json, spiece.model).
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { pixartCaption, PIXART_MAX_LENGTH, type Tokenizer } from '../../src/tokenizers/index.ts';
import { FIXTURES, readCase, readFixtureTensors, row } from '../util/fixture.ts';

export const T5_DIR = join(FIXTURES, 't5-tokenizer');
export const T5_CASE = readCase(T5_DIR);
export const T5_IO = readFixtureTensors(join(T5_DIR, 'io.safetensors'));

// All 47 prompts, plain and through PixArt's lower().strip(), padded to 120: exact ids,
// masks and untruncated counts.
export function checkT5Goldens(t: Tokenizer, label: string): void {
  const counts = T5_IO.get('num_tokens')!;
  T5_CASE.prompts.forEach((p: string, i: number) => {
    for (const [suffix, text] of [['', p], ['_pixart_lower_strip', pixartCaption(p)]]) {
      const e = t.encode(text, { maxLength: PIXART_MAX_LENGTH });
      const g = row(T5_IO.get(`input_ids${suffix}`)!, i), m = row(T5_IO.get(`attention_mask${suffix}`)!, i);
      const k = e.ids.findIndex((v, j) => v !== g[j]);
      assert.equal(e.ids, g, `${label} prompt ${i}${suffix} ${JSON.stringify(text)}: first difference at [${k}]: got ${e.ids[k]}, expected ${g[k]}`);
      assert.equal(e.attentionMask, m, `${label} prompt ${i}${suffix} mask`);
      if (suffix === '') assert.is(e.numTokensUntruncated, counts.data[i], `${label} prompt ${i} count`);
    }
  });
}
