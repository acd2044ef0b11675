// Check a component's config.json against its weights before any model is built, so a
// config that disagrees with the checkpoint fails with the config field, the tensor, the
// file and both shapes, instead of as a wrong result or a confusing kernel error later.
// Only what the sizes determine is checked; head counts are checked for divisibility.
import { EngineError } from '../errors.ts';
import { fmtShape, type WeightStore } from './store.ts';

class Checker {
  constructor(readonly file: string, readonly cfg: Record<string, any>, readonly store: WeightStore) {}

  int(key: string, dflt?: number): number {
    const v = this.cfg[key] ?? dflt;
    if (!Number.isSafeInteger(v) || v <= 0) throw new EngineError(`${this.file}: "${key}" must be a positive integer, got ${JSON.stringify(this.cfg[key])}`);
    return v;
  }

  ints(key: string): number[] {
    const v = this.cfg[key];
    if (!Array.isArray(v) || !v.length || !v.every((x) => Number.isSafeInteger(x) && x > 0)) {
      throw new EngineError(`${this.file}: "${key}" must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** An int, or a list with one entry per block. */
  perBlock(key: string, n: number, dflt?: number): number[] {
    const v = this.cfg[key] ?? dflt;
    if (Array.isArray(v)) {
      if (v.length !== n) throw new EngineError(`${this.file}: "${key}" has ${v.length} entries but there are ${n} blocks`);
      return v.map((_, i) => this.intAt(key, v, i));
    }
    const x = this.int(key, dflt);
    return new Array(n).fill(x);
  }

  private intAt(key: string, v: unknown[], i: number): number {
    const x = v[i];
    if (!Number.isSafeInteger(x) || (x as number) <= 0) throw new EngineError(`${this.file}: "${key}"[${i}] must be a positive integer, got ${JSON.stringify(x)}`);
    return x as number;
  }

  strings(key: string, n: number): string[] {
    const v = this.cfg[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new EngineError(`${this.file}: "${key}" must be a list of block type names, got ${JSON.stringify(v)}`);
    if (v.length !== n) throw new EngineError(`${this.file}: "${key}" has ${v.length} entries but "block_out_channels" has ${n}`);
    return v;
  }

  shape(why: string, name: string, want: number[]): void {
    if (!this.store.has(name)) throw new EngineError(`${this.file}: ${why}, but ${this.store.describe()} has no tensor '${name}' (expected ${fmtShape(want)})`);
    const s = this.store.source(name);
    const ok = s.shape.length === want.length && want.every((d, i) => d < 0 || d === s.shape[i]);
    const stored = s.stored && s.stored !== name ? ` (stored as '${s.stored}')` : '';
    if (!ok) throw new EngineError(`${this.file}: ${why}, but tensor '${name}'${stored} in ${s.file} has shape ${fmtShape(s.shape)}, expected ${fmtShape(want)}`);
  }

  present(why: string, name: string): void {
    if (!this.store.has(name)) throw new EngineError(`${this.file}: ${why}, but ${this.store.describe()} has no tensor '${name}'`);
  }

  absent(why: string, name: string): void {
    if (this.store.has(name)) throw new EngineError(`${this.file}: ${why}, but ${this.store.describe()} has tensor '${name}'`);
  }

  divides(what: string, channels: number, heads: number): void {
    if (channels % heads) throw new EngineError(`${this.file}: ${what}: ${channels} channels do not split into ${heads} heads`);
  }
}

function checkUnet(c: Checker): void {
  const boc = c.ints('block_out_channels');
  const n = boc.length;
  const down = c.strings('down_block_types', n);
  const up = c.strings('up_block_types', n);
  const lpb = c.perBlock('layers_per_block', n);
  const inC = c.int('in_channels', 4), outC = c.int('out_channels', 4);
  const kIn = c.int('conv_in_kernel', 3), kOut = c.int('conv_out_kernel', 3);
  c.shape(`in_channels=${inC}, block_out_channels[0]=${boc[0]}`, 'conv_in.weight', [boc[0], inC, kIn, kIn]);
  c.shape(`out_channels=${outC}, block_out_channels[0]=${boc[0]}`, 'conv_out.weight', [outC, boc[0], kOut, kOut]);
  const ted = c.cfg.time_embedding_dim ?? boc[0] * 4;
  if ((c.cfg.time_embedding_type ?? 'positional') === 'positional') c.shape(`block_out_channels[0]=${boc[0]}`, 'time_embedding.linear_1.weight', [ted, boc[0]]);
  if (c.cfg.addition_embed_type === 'text_time') {
    const pdim = c.int('projection_class_embeddings_input_dim');
    c.shape(`projection_class_embeddings_input_dim=${pdim}`, 'add_embedding.linear_1.weight', [ted, pdim]);
  }
  const heads = c.perBlock(c.cfg.num_attention_heads != null ? 'num_attention_heads' : 'attention_head_dim', n, 8);
  const cad = Array.isArray(c.cfg.cross_attention_dim) ? c.perBlock('cross_attention_dim', n) : new Array(n).fill(c.int('cross_attention_dim', 1280));
  for (let i = 0; i < n; i++) {
    const p = `down_blocks.${i}`;
    c.shape(`block_out_channels[${i}]=${boc[i]}`, `${p}.resnets.${lpb[i] - 1}.conv1.weight`, [boc[i], -1, -1, -1]);
    c.absent(`layers_per_block=${lpb[i]}`, `${p}.resnets.${lpb[i]}.conv1.weight`);
    if (down[i].startsWith('CrossAttn')) {
      c.divides(`block_out_channels[${i}] with ${heads[i]} heads`, boc[i], heads[i]);
      c.shape(`cross_attention_dim=${cad[i]}`, `${p}.attentions.0.transformer_blocks.0.attn2.to_k.weight`, [-1, cad[i]]);
    } else c.absent(`down_block_types[${i}]=${down[i]} has no attention`, `${p}.attentions.0.norm.weight`);
    if (i < n - 1) c.present(`${n} down blocks`, `${p}.downsamplers.0.conv.weight`);
    else c.absent(`the last down block has no downsampler`, `${p}.downsamplers.0.conv.weight`);
    const rev = n - 1 - i;
    c.shape(`block_out_channels[${rev}]=${boc[rev]}, layers_per_block=${lpb[rev]}`, `up_blocks.${i}.resnets.${lpb[rev]}.conv1.weight`, [boc[rev], -1, -1, -1]);
    if (up[i].startsWith('CrossAttn')) c.present(`up_block_types[${i}]=${up[i]}`, `up_blocks.${i}.attentions.0.norm.weight`);
  }
  c.absent(`block_out_channels has ${n} entries`, `down_blocks.${n}.resnets.0.conv1.weight`);
}

function checkVae(c: Checker): void {
  const boc = c.ints('block_out_channels');
  const n = boc.length;
  c.strings('down_block_types', n);
  c.strings('up_block_types', n);
  const lpb = c.int('layers_per_block', 1);
  const inC = c.int('in_channels', 3), outC = c.int('out_channels', 3), lat = c.int('latent_channels', 4);
  const last = boc[n - 1];
  c.shape(`in_channels=${inC}, block_out_channels[0]=${boc[0]}`, 'encoder.conv_in.weight', [boc[0], inC, 3, 3]);
  c.shape(`latent_channels=${lat}, block_out_channels[-1]=${last}`, 'encoder.conv_out.weight', [2 * lat, last, 3, 3]);
  c.shape(`latent_channels=${lat}, block_out_channels[-1]=${last}`, 'decoder.conv_in.weight', [last, lat, 3, 3]);
  c.shape(`out_channels=${outC}, block_out_channels[0]=${boc[0]}`, 'decoder.conv_out.weight', [outC, boc[0], 3, 3]);
  if (c.cfg.use_quant_conv !== false) c.shape(`latent_channels=${lat}`, 'quant_conv.weight', [2 * lat, 2 * lat, 1, 1]);
  const groups = c.int('norm_num_groups', 32);
  for (let i = 0; i < n; i++) {
    if (boc[i] % groups) throw new EngineError(`${c.file}: block_out_channels[${i}]=${boc[i]} is not divisible by norm_num_groups=${groups}`);
    c.shape(`block_out_channels[${i}]=${boc[i]}`, `encoder.down_blocks.${i}.resnets.${lpb - 1}.conv1.weight`, [boc[i], -1, 3, 3]);
    c.absent(`layers_per_block=${lpb}`, `encoder.down_blocks.${i}.resnets.${lpb}.conv1.weight`);
    const rev = n - 1 - i;
    c.shape(`block_out_channels[${rev}]=${boc[rev]}, layers_per_block=${lpb}`, `decoder.up_blocks.${i}.resnets.${lpb}.conv1.weight`, [boc[rev], -1, 3, 3]);
  }
  c.absent(`block_out_channels has ${n} entries`, `encoder.down_blocks.${n}.resnets.0.conv1.weight`);
}

function checkClip(c: Checker, withProjection: boolean): void {
  const h = c.int('hidden_size'), inter = c.int('intermediate_size'), layers = c.int('num_hidden_layers');
  const heads = c.int('num_attention_heads'), vocab = c.int('vocab_size'), pos = c.int('max_position_embeddings');
  c.divides(`hidden_size with num_attention_heads=${heads}`, h, heads);
  c.shape(`vocab_size=${vocab}, hidden_size=${h}`, 'text_model.embeddings.token_embedding.weight', [vocab, h]);
  c.shape(`max_position_embeddings=${pos}, hidden_size=${h}`, 'text_model.embeddings.position_embedding.weight', [pos, h]);
  const last = `text_model.encoder.layers.${layers - 1}`;
  c.shape(`intermediate_size=${inter}, num_hidden_layers=${layers}`, `${last}.mlp.fc1.weight`, [inter, h]);
  c.shape(`hidden_size=${h}`, `${last}.self_attn.q_proj.weight`, [h, h]);
  c.absent(`num_hidden_layers=${layers}`, `text_model.encoder.layers.${layers}.mlp.fc1.weight`);
  if (withProjection) {
    const p = c.int('projection_dim');
    c.shape(`projection_dim=${p}, hidden_size=${h}`, 'text_projection.weight', [p, h]);
  }
}

/** Architecture of a config.json: diffusers `_class_name` or transformers `architectures[0]`. */
export function configClass(cfg: Record<string, any>): string {
  if (typeof cfg._class_name === 'string') return cfg._class_name;
  if (Array.isArray(cfg.architectures) && typeof cfg.architectures[0] === 'string') return cfg.architectures[0];
  return '';
}

export function checkConfig(cfg: Record<string, any>, store: WeightStore, configFile: string): void {
  const c = new Checker(configFile, cfg, store);
  const cls = configClass(cfg);
  if (cls === 'UNet2DConditionModel') checkUnet(c);
  else if (cls === 'AutoencoderKL') checkVae(c);
  else if (cls === 'CLIPTextModel' || cls === 'CLIPTextModelWithProjection') checkClip(c, cls === 'CLIPTextModelWithProjection');
}
