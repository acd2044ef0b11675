// A CLIP model as a scorer: decoded images and prompts in, L2-normalised embeddings and
// their cosine similarities out. Loads a transformers CLIPModel folder (HPSv2 / PickScore
// are ViT-H/14 CLIPModels in the same layout), its preprocessor_config.json and its CLIP
// BPE tokenizer (vocab.json + merges.txt in the folder, or another folder).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import type { Float } from '../graph/graph.ts';
import { ClipModel } from '../models/api/clip_model.ts';
import { ClipTokenizer } from '../tokenizers/clip.ts';
import type { RgbImage } from './image_io.ts';
import { preprocess, readProcessor, type ClipImageProcessor } from './preprocess.ts';

export interface ScorerOptions {
  dtype?: Float;
  /** Folder with the CLIP tokenizer files; default: the model folder. */
  tokenizer?: string;
  warn?: (msg: string) => void;
}

export class ClipScorer {
  private constructor(readonly dir: string, readonly model: ClipModel, readonly processor: ClipImageProcessor, readonly tokenizer: ClipTokenizer, readonly tokenizerDir: string) {}

  static load(dir: string, opts: ScorerOptions = {}): ClipScorer {
    const model = ClipModel.load(dir, { dtype: opts.dtype });
    const processor = readProcessor(dir, model.config.vision, opts.warn);
    const tokDir = opts.tokenizer ?? dir;
    if (!fs.existsSync(path.join(tokDir, 'vocab.json')) || !fs.existsSync(path.join(tokDir, 'merges.txt'))) {
      throw new EngineError(`${tokDir}: no CLIP tokenizer (vocab.json + merges.txt)${opts.tokenizer ? '' : '; give the tokenizer folder with --tokenizer DIR'}`);
    }
    const tokenizer = new ClipTokenizer(tokDir, { maxLength: model.config.text.max_position_embeddings });
    tokenizer.onWarning = opts.warn ?? tokenizer.onWarning;
    return new ClipScorer(dir, model, processor, tokenizer, tokDir);
  }

  get logitScale(): number { return this.model.logitScale; }

  /** Image embeddings [N][P]; `names` label errors (file names). */
  async embedImages(images: RgbImage[], names: string[]): Promise<Float32Array[]> {
    const S = this.model.config.vision.image_size, C = this.model.config.vision.num_channels;
    if (C !== 3) throw new EngineError(`${this.dir}: vision_config.num_channels = ${C}; only RGB (3) scorers are supported`);
    const px = new Float32Array(images.length * 3 * S * S);
    images.forEach((im, i) => preprocess(im, this.processor, px, i * 3 * S * S, names[i]));
    const out = await this.model.forward({ pixel_values: { shape: [images.length, 3, S, S], data: px } });
    return rows(out.image_embeds.data as Float32Array, images.length);
  }

  /** Text embeddings [M][P]. */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const L = this.tokenizer.maxLength, V = this.model.config.text.vocab_size;
    const ids = new Int32Array(texts.length * L), mask = new Int32Array(texts.length * L);
    texts.forEach((t, i) => {
      const e = this.tokenizer.encode(t, { maxLength: L });
      for (const id of e.ids) if (id >= V) throw new EngineError(`${this.tokenizerDir}: token id ${id} of '${t}' is outside the model's vocabulary (${V}); the tokenizer does not belong to ${this.dir}`);
      ids.set(e.ids, i * L);
      mask.set(e.attentionMask, i * L);
    });
    const out = await this.model.forward({ input_ids: { shape: [texts.length, L], data: ids }, attention_mask: { shape: [texts.length, L], data: mask } });
    return rows(out.text_embeds.data as Float32Array, texts.length);
  }

  destroy(): void {
    this.model.destroy();
  }
}

function rows(data: Float32Array, n: number): Float32Array[] {
  const P = data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * P, (i + 1) * P));
}

/** Cosine similarity of two L2-normalised embeddings. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
