// FLUX transformer names: the BFL layout of single-file checkpoints and city96's GGUF
// files (double_blocks.*, single_blocks.*, img_in, ..., optionally under
// `model.diffusion_model.`) <-> diffusers' FluxTransformer2DModel, as diffusers'
// scripts/convert_flux_to_diffusers.py maps them. A BFL tensor is one or more diffusers
// row ranges one after the other: fused qkv = to_q | to_k | to_v, single-block linear1 =
// to_q | to_k | to_v | proj_mlp, and final_layer.adaLN_modulation.1 = (shift, scale),
// which diffusers' norm_out.linear stores as (scale, shift). Rows split cleanly in every
// dtype, q8_0 included (its blocks run along the row).
import { EngineError } from '../../errors.ts';
import type { WeightSource } from '../safetensors.ts';
import { fmtShape, type WeightStore } from '../store.ts';
import { joinRows, rowRange } from '../views.ts';

export const BFL_PREFIX = 'model.diffusion_model.';

// {i}: block index, {p}: weight | bias. `d` lists the diffusers tensors a BFL tensor holds
// in row order; `split` says how its rows divide: equal parts, or 3 x inner + the MLP.
interface Rule { b: string; d: string[]; split?: 'equal' | 'qkv_mlp' | 'swap' }
const RULES: Rule[] = [
  { b: 'img_in.{p}', d: ['x_embedder.{p}'] },
  { b: 'txt_in.{p}', d: ['context_embedder.{p}'] },
  { b: 'time_in.in_layer.{p}', d: ['time_text_embed.timestep_embedder.linear_1.{p}'] },
  { b: 'time_in.out_layer.{p}', d: ['time_text_embed.timestep_embedder.linear_2.{p}'] },
  { b: 'vector_in.in_layer.{p}', d: ['time_text_embed.text_embedder.linear_1.{p}'] },
  { b: 'vector_in.out_layer.{p}', d: ['time_text_embed.text_embedder.linear_2.{p}'] },
  { b: 'guidance_in.in_layer.{p}', d: ['time_text_embed.guidance_embedder.linear_1.{p}'] },
  { b: 'guidance_in.out_layer.{p}', d: ['time_text_embed.guidance_embedder.linear_2.{p}'] },
  { b: 'double_blocks.{i}.img_mod.lin.{p}', d: ['transformer_blocks.{i}.norm1.linear.{p}'] },
  { b: 'double_blocks.{i}.txt_mod.lin.{p}', d: ['transformer_blocks.{i}.norm1_context.linear.{p}'] },
  { b: 'double_blocks.{i}.img_attn.qkv.{p}', d: ['transformer_blocks.{i}.attn.to_q.{p}', 'transformer_blocks.{i}.attn.to_k.{p}', 'transformer_blocks.{i}.attn.to_v.{p}'], split: 'equal' },
  { b: 'double_blocks.{i}.txt_attn.qkv.{p}', d: ['transformer_blocks.{i}.attn.add_q_proj.{p}', 'transformer_blocks.{i}.attn.add_k_proj.{p}', 'transformer_blocks.{i}.attn.add_v_proj.{p}'], split: 'equal' },
  { b: 'double_blocks.{i}.img_attn.norm.query_norm.scale', d: ['transformer_blocks.{i}.attn.norm_q.weight'] },
  { b: 'double_blocks.{i}.img_attn.norm.key_norm.scale', d: ['transformer_blocks.{i}.attn.norm_k.weight'] },
  { b: 'double_blocks.{i}.txt_attn.norm.query_norm.scale', d: ['transformer_blocks.{i}.attn.norm_added_q.weight'] },
  { b: 'double_blocks.{i}.txt_attn.norm.key_norm.scale', d: ['transformer_blocks.{i}.attn.norm_added_k.weight'] },
  { b: 'double_blocks.{i}.img_mlp.0.{p}', d: ['transformer_blocks.{i}.ff.net.0.proj.{p}'] },
  { b: 'double_blocks.{i}.img_mlp.2.{p}', d: ['transformer_blocks.{i}.ff.net.2.{p}'] },
  { b: 'double_blocks.{i}.txt_mlp.0.{p}', d: ['transformer_blocks.{i}.ff_context.net.0.proj.{p}'] },
  { b: 'double_blocks.{i}.txt_mlp.2.{p}', d: ['transformer_blocks.{i}.ff_context.net.2.{p}'] },
  { b: 'double_blocks.{i}.img_attn.proj.{p}', d: ['transformer_blocks.{i}.attn.to_out.0.{p}'] },
  { b: 'double_blocks.{i}.txt_attn.proj.{p}', d: ['transformer_blocks.{i}.attn.to_add_out.{p}'] },
  { b: 'single_blocks.{i}.modulation.lin.{p}', d: ['single_transformer_blocks.{i}.norm.linear.{p}'] },
  { b: 'single_blocks.{i}.linear1.{p}', d: ['single_transformer_blocks.{i}.attn.to_q.{p}', 'single_transformer_blocks.{i}.attn.to_k.{p}', 'single_transformer_blocks.{i}.attn.to_v.{p}', 'single_transformer_blocks.{i}.proj_mlp.{p}'], split: 'qkv_mlp' },
  { b: 'single_blocks.{i}.norm.query_norm.scale', d: ['single_transformer_blocks.{i}.attn.norm_q.weight'] },
  { b: 'single_blocks.{i}.norm.key_norm.scale', d: ['single_transformer_blocks.{i}.attn.norm_k.weight'] },
  { b: 'single_blocks.{i}.linear2.{p}', d: ['single_transformer_blocks.{i}.proj_out.{p}'] },
  { b: 'final_layer.linear.{p}', d: ['proj_out.{p}'] },
  { b: 'final_layer.adaLN_modulation.1.{p}', d: ['norm_out.linear.{p}'], split: 'swap' },
];

function pattern(t: string): RegExp {
  return new RegExp(`^${t.replace(/\./g, '\\.').replace('{i}', '(?<i>\\d+)').replace('{p}', '(?<p>weight|bias)')}$`);
}
const fill = (t: string, g: Record<string, string>) => t.replace('{i}', g.i ?? '').replace('{p}', g.p ?? '');
const COMPILED = RULES.map((r) => ({ ...r, bRe: pattern(r.b), dRe: r.d.map(pattern) }));

/** Whether tensor names are a BFL FLUX transformer (with or without the prefix). */
export function isBflFlux(names: string[]): boolean {
  const strip = (n: string) => (n.startsWith(BFL_PREFIX) ? n.slice(BFL_PREFIX.length) : n);
  return names.some((n) => strip(n).startsWith('double_blocks.')) && names.some((n) => strip(n) === 'img_in.weight');
}

/** Whether tensor names are a diffusers FluxTransformer2DModel. */
export function isDiffusersFlux(names: string[]): boolean {
  return names.includes('x_embedder.weight') && names.some((n) => n.startsWith('single_transformer_blocks.'));
}

/** Row counts of each diffusers part of BFL tensor `b` with `rows` rows (inner = model width). */
function splitRows(rule: Rule, rows: number, inner: number, what: string): number[] {
  const n = rule.d.length;
  if (rule.split === 'qkv_mlp') {
    if (rows <= 3 * inner) throw new EngineError(`${what} has ${rows} rows; expected 3 x ${inner} (q, k, v) plus the MLP rows`);
    return [inner, inner, inner, rows - 3 * inner];
  }
  if (rule.split === 'swap' || rule.split === 'equal') {
    const parts = rule.split === 'swap' ? 2 : n;
    if (rows % parts) throw new EngineError(`${what} has ${rows} rows, which do not split into ${parts} equal parts`);
    return new Array(rule.split === 'swap' ? 1 : n).fill(rows / parts);
  }
  return [rows];
}

/**
 * A BFL FLUX transformer (file or GGUF store) seen under diffusers names. Every stored
 * tensor must map (an unknown one is an error naming it: a LoRA or another model).
 */
export class FluxBflStore implements WeightStore {
  private readonly map = new Map<string, () => WeightSource>();
  readonly prefix: string;

  constructor(readonly inner: WeightStore) {
    const names = inner.names();
    this.prefix = names.some((n) => n.startsWith(BFL_PREFIX)) ? BFL_PREFIX : '';
    const x = `${this.prefix}img_in.weight`;
    if (!inner.has(x)) throw new EngineError(`${inner.describe()}: no '${x}'; not a BFL-layout FLUX transformer`);
    const width = inner.source(x).shape[0];
    for (const stored of names) {
      if (!stored.startsWith(this.prefix)) throw new EngineError(`${inner.describe()}: tensor '${stored}' is outside '${this.prefix}' like the others; not a FLUX transformer alone`);
      const b = stored.slice(this.prefix.length);
      const rule = COMPILED.find((r) => r.bRe.test(b));
      if (!rule) throw new EngineError(`${inner.describe()}: tensor '${stored}' is not part of a FLUX transformer in the BFL layout`);
      const g = b.match(rule.bRe)!.groups ?? {};
      const src = () => ({ ...inner.source(stored), stored });
      const rows = inner.source(stored).shape[0];
      const sizes = splitRows(rule, rows, width, `${inner.describe()}: tensor '${stored}' ${fmtShape(inner.source(stored).shape)}`);
      if (rule.split === 'swap') {
        // diffusers (scale, shift) = BFL rows [half, 2 half) then [0, half)
        const half = sizes[0];
        this.add(fill(rule.d[0], g), () => joinRows(fill(rule.d[0], g), [rowRange(src(), half, half), rowRange(src(), 0, half)]));
      } else if (rule.d.length === 1) {
        this.add(fill(rule.d[0], g), src);
      } else {
        let start = 0;
        rule.d.forEach((d, k) => {
          const at = start;
          this.add(fill(d, g), () => ({ ...rowRange(src(), at, sizes[k]), name: fill(d, g) }));
          start += sizes[k];
        });
      }
    }
  }

  private add(name: string, get: () => WeightSource): void {
    if (this.map.has(name)) throw new EngineError(`${this.inner.describe()}: two stored tensors map to '${name}'`);
    this.map.set(name, get);
  }

  has(name: string): boolean { return this.map.has(name); }
  source(name: string): WeightSource {
    const get = this.map.get(name);
    if (!get) throw new EngineError(`missing tensor '${name}' in ${this.describe()}`);
    return { ...get(), name };
  }
  names(): string[] { return [...this.map.keys()]; }
  describe(): string { return `${this.inner.describe()} (BFL FLUX layout)`; }
}

/** The BFL tensors of a diffusers FLUX transformer store: each the concatenation of its parts' rows. */
export function bflTensors(store: WeightStore, prefix = ''): { name: string; parts: WeightSource[] }[] {
  const out: { name: string; parts: WeightSource[] }[] = [];
  const done = new Set<string>();
  for (const d of store.names()) {
    if (done.has(d)) continue;
    const rule = COMPILED.find((r) => r.dRe.some((re) => re.test(d)));
    if (!rule) throw new EngineError(`${store.describe()}: no BFL name for FluxTransformer2DModel tensor '${d}'`);
    const g = d.match(rule.dRe.find((re) => re.test(d))!)!.groups ?? {};
    const names = rule.d.map((t) => fill(t, g));
    for (const n of names) {
      if (!store.has(n)) throw new EngineError(`${store.describe()}: '${fill(rule.b, g)}' needs '${n}', which is missing`);
      done.add(n);
    }
    let parts = names.map((n) => store.source(n));
    if (rule.split === 'swap') {
      const half = parts[0].shape[0] / 2;
      if (!Number.isInteger(half)) throw new EngineError(`${store.describe()}: '${names[0]}' has an odd number of rows; expected (scale, shift) halves`);
      parts = [rowRange(parts[0], half, half), rowRange(parts[0], 0, half)];
    }
    out.push({ name: prefix + fill(rule.b, g), parts });
  }
  return out;
}

/** FluxTransformer2DModel config.json from a BFL store's shapes (FLUX.1 values for what shapes cannot tell). */
export function fluxConfigFromShapes(store: FluxBflStore): Record<string, unknown> {
  const shape = (n: string) => store.source(n).shape;
  const count = (re: RegExp) => new Set(store.names().map((n) => n.match(re)?.[1]).filter((x) => x !== undefined)).size;
  const inner = shape('x_embedder.weight')[0];
  const headDim = shape('transformer_blocks.0.attn.norm_q.weight')[0];
  if (inner % headDim) throw new EngineError(`${store.describe()}: width ${inner} is not a multiple of the head width ${headDim}`);
  // FLUX.1's rope axes; other head widths cannot be guessed
  if (headDim !== 128) throw new EngineError(`${store.describe()}: head width ${headDim} is not FLUX.1's 128, so axes_dims_rope is unknown; pass --config <FluxTransformer2DModel folder>`);
  return {
    _class_name: 'FluxTransformer2DModel', attention_head_dim: headDim, axes_dims_rope: [16, 56, 56],
    guidance_embeds: store.has('time_text_embed.guidance_embedder.linear_1.weight'), in_channels: shape('x_embedder.weight')[1],
    joint_attention_dim: shape('context_embedder.weight')[1], num_attention_heads: inner / headDim,
    num_layers: count(/^transformer_blocks\.(\d+)\./), num_single_layers: count(/^single_transformer_blocks\.(\d+)\./),
    out_channels: shape('proj_out.weight')[0], patch_size: 1, pooled_projection_dim: shape('time_text_embed.text_embedder.linear_1.weight')[1],
  };
}
