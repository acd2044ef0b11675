// Typed API of a transformers CLIPModel folder (config.json with text_config/vision_config +
// model.safetensors): image and/or text embeddings and their logits, from already
// preprocessed pixel_values and token ids. Image decoding, resizing and tokenizing for
// scoring live in src/eval/ (clip_scorer.ts).
import { EngineError } from '../../errors.ts';
import type { Graph, Node } from '../../graph/graph.ts';
import { openComponent } from '../../io/folder.ts';
import { WeightScope, type WeightStore } from '../../io/store.ts';
import { pooledIndex } from '../clip.ts';
import { clipModelConfig, type ClipModelConfig } from '../clip_configs.ts';
import { CLIPModel } from '../clip_vision.ts';
import { maskBias } from '../t5.ts';
import { checkInputs, GraphCache, shapeKey, warnUnused, type HostTensor, type InputSpec, type LoadOptions, type RunOptions } from './common.ts';

export interface ClipModelInputs {
  pixel_values?: HostTensor;
  input_ids?: HostTensor;
  attention_mask?: HostTensor;
}

export class ClipModel {
  private cache: GraphCache;
  private constructor(readonly dir: string, readonly model: CLIPModel, readonly config: ClipModelConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
  }

  static load(dir: string, opts: LoadOptions = {}): ClipModel {
    return ClipModel.fromComponent(dir, openComponent(dir, { variant: opts.variant ?? null }), opts);
  }

  static fromComponent(where: string, comp: { config: Record<string, any>; store: WeightStore }, opts: LoadOptions = {}): ClipModel {
    const config = clipModelConfig(comp.config, `${where}/config.json`);
    const ws = new WeightScope(comp.store);
    const model = new CLIPModel(ws, config);
    warnUnused(ws, where, [/position_ids$/]);
    return new ClipModel(where, model, config, opts);
  }

  get className() { return 'CLIPModel'; }
  get dtype() { return this.cache.dtype; }
  /** exp(logit_scale). */
  get logitScale() { return this.model.logitScale; }

  signature(): InputSpec[] {
    const v = this.config.vision, t = this.config.text;
    return [
      { name: 'pixel_values', shapes: [['N', v.num_channels, v.image_size, v.image_size]], kind: 'float', optional: true, doc: 'preprocessed images (CLIPImageProcessor output)' },
      { name: 'input_ids', shapes: [['M', 'L']], kind: 'int', optional: true, doc: `token ids, L <= ${t.max_position_embeddings}` },
      { name: 'attention_mask', shapes: [['M', 'L']], kind: 'int', optional: true, doc: '1 = token, 0 = padding (default: all 1)' },
    ];
  }

  /**
   * pixel_values [N, C, S, S] -> image_embeds [N, P]; input_ids [M, L] (+ attention_mask)
   * -> text_embeds [M, P]; both -> logits_per_image [N, M], logits_per_text [M, N].
   * Embeddings are L2-normalised, as CLIPModel.forward returns them.
   */
  async forward(inputs: ClipModelInputs, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const what = 'CLIPModel forward';
    const dims = checkInputs(what, this.signature(), inputs as Record<string, HostTensor | undefined>);
    const { pixel_values: px, input_ids: ids, attention_mask: am } = inputs;
    if (!px && !ids) throw new EngineError(`${what}: give pixel_values and/or input_ids`);
    if (am && !ids) throw new EngineError(`${what}: attention_mask without input_ids`);
    const t = this.config.text;
    const feed: Record<string, ArrayLike<number>> = {};
    const { N, M, L } = dims;
    if (px) {
      for (let i = 0; i < px.data.length; i++) if (!Number.isFinite(px.data[i])) throw new EngineError(`${what}: pixel_values has a non-finite value at flat index ${i}`);
      feed.pixel_values = px.data;
    }
    if (ids) {
      if (L > t.max_position_embeddings) throw new EngineError(`${what}: input_ids has ${L} tokens, more than max_position_embeddings ${t.max_position_embeddings}`);
      for (let i = 0; i < ids.data.length; i++) {
        const v = ids.data[i];
        if (!(v >= 0 && v < t.vocab_size)) throw new EngineError(`${what}: input_ids[${Math.floor(i / L)}, ${i % L}] = ${v} is outside the vocabulary [0, ${t.vocab_size})`);
      }
      if (am) {
        for (let i = 0; i < am.data.length; i++) if (am.data[i] !== 0 && am.data[i] !== 1) throw new EngineError(`${what}: attention_mask[${Math.floor(i / L)}, ${i % L}] = ${am.data[i]}, expected 0 or 1`);
        feed.mask = maskBias(am.data, this.dtype);
      }
      feed.input_ids = ids.data;
      feed.pooled_index = pooledIndex(ids.data, M, L, t.eos_token_id);
    }
    const v = this.config.vision;
    const build = (g: Graph) => {
      const pixels = px ? g.input('pixel_values', [N, v.num_channels, v.image_size, v.image_size]) : null;
      const text = ids ? { ids: g.input('input_ids', [M, L], 'i32'), pooledIndex: g.input('pooled_index', [M], 'i32'), mask: am ? g.input('mask', [M, L]) : null } : null;
      const o = this.model.forward(pixels, text);
      return Object.fromEntries(Object.entries(o).filter(([, n]) => n)) as Record<string, Node>;
    };
    return this.cache.run(`${shapeKey(px, ids)}|${am ? 'mask' : ''}`, build, feed, opts);
  }

  destroy(): void {
    this.cache.destroy();
  }
}
