// Typed API of the CLIP text encoders: load a transformers `text_encoder/` folder, run
// forward() on token ids.
import { EngineError } from '../../errors.ts';
import type { Graph } from '../../graph/graph.ts';
import { CLIPTextModel, pooledIndex } from '../clip.ts';
import { clipTextConfig, type ClipTextConfig } from '../configs.ts';
import { buildModel, openForLoad, checkInputs, GraphCache, type HostTensor, type InputSpec, type LoadOptions, type RunOptions, type Component } from './common.ts';

export class ClipTextEncoder {
  private cache: GraphCache;
  private constructor(readonly model: CLIPTextModel, readonly config: ClipTextConfig, opts: LoadOptions) {
    this.cache = GraphCache.forOptions(opts);
  }

  /** Opens a component folder (config.json + weights under any diffusers file name). */
  static load(dir: string, opts: LoadOptions = {}): ClipTextEncoder {
    return ClipTextEncoder.fromComponent(dir, openForLoad(dir, opts), opts);
  }

  /** Builds from an opened component (a folder, or a single-file checkpoint's part); `where` names it in errors. */
  static fromComponent(where: string, comp: Component, opts: LoadOptions = {}): ClipTextEncoder {
    const { model, config } = buildModel(where, comp, clipTextConfig, CLIPTextModel, [/embeddings\.position_ids$/]);
    return new ClipTextEncoder(model, config, opts);
  }


  get className() { return this.config.architecture; }
  get dtype() { return this.cache.dtype; }

  signature(): InputSpec[] {
    return [{ name: 'input_ids', shapes: [['B', 'S']], kind: 'int', doc: `token ids, S <= ${this.config.max_position_embeddings}` }];
  }

  /**
   * input_ids [B, S] -> last_hidden_state [B, S, D], pooler_output [B, D] (CLIPTextModel)
   * or text_embeds [B, projection_dim] (WithProjection), hidden_states.0..N [B, S, D],
   * pooled_index [B] (the EOS position used for pooling).
   */
  async forward(inputs: { input_ids: HostTensor }, opts: RunOptions = {}): Promise<Record<string, HostTensor>> {
    const c = this.config;
    const what = `${this.className} forward`;
    const { B, S } = checkInputs(what, this.signature(), inputs);
    const ids = inputs.input_ids.data;
    if (S > c.max_position_embeddings) throw new EngineError(`${what}: input_ids has ${S} tokens, more than max_position_embeddings ${c.max_position_embeddings}`);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < c.vocab_size)) throw new EngineError(`${what}: input_ids[${Math.floor(i / S)}, ${i % S}] = ${ids[i]} is outside the vocabulary [0, ${c.vocab_size})`);
    }
    const pooled = pooledIndex(ids, B, S, c.eos_token_id);
    const build = (g: Graph) => {
      const o = this.model.forward(g.input('input_ids', [B, S], 'i32'), g.input('pooled_index', [B], 'i32'));
      const outs: Record<string, any> = { last_hidden_state: o.last_hidden_state };
      if (o.text_embeds) outs.text_embeds = o.text_embeds;
      else outs.pooler_output = o.pooler_output;
      o.hidden_states.forEach((h, i) => (outs[`hidden_states.${i}`] = h));
      return outs;
    };
    const out = await this.cache.run(`${B}x${S}`, build, { input_ids: ids, pooled_index: pooled }, opts);
    out.pooled_index = { shape: [B], data: pooled };
    return out;
  }

  destroy(): void {
    this.cache.destroy();
  }
}
