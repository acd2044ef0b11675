// Diffusers components -> the tensors of a single-file checkpoint, as a write plan: each
// output tensor is the concatenation (along dim 0) of one or more sources, so OpenCLIP's
// fused in_proj is streamed from the three q/k/v files without being assembled in memory.
import { EngineError } from '../errors.ts';
import { configClass } from './configcheck.ts';
import { META_TEXT_LAYERS } from './derive.ts';
import { isClipBuffer } from './names/clip.ts';
import { componentSpecs, type Family } from './names/checkpoint.ts';
import type { Mapped } from './names/prefix.ts';
import { DTYPE_BYTES, type SourceDType, type WeightSource } from './safetensors.ts';
import { fmtShape, type WeightStore } from './store.ts';
import { memorySource, transposed, unsqueezeConv1x1 } from './views.ts';

export interface OutTensor { name: string; dtype: SourceDType; shape: number[]; parts: WeightSource[] }

export interface DiffusersModel {
  family: Family;
  components: Record<string, { config: Record<string, any>; store: WeightStore }>;
}

/** Family of a diffusers pipeline: SDXL by its second text encoder, SD2 by OpenCLIP's gelu text encoder. */
export function diffusersFamily(className: string, components: Record<string, { config: Record<string, any> }>): Family {
  if (components.text_encoder_2 || className.startsWith('StableDiffusionXL')) return 'sdxl';
  const te = components.text_encoder?.config;
  if (!te) throw new EngineError(`pipeline ${className} has no text_encoder; cannot tell SD1 from SD2`);
  if (configClass(te) !== 'CLIPTextModel') throw new EngineError(`text_encoder is ${configClass(te) || 'unknown'}, expected CLIPTextModel for a Stable Diffusion pipeline`);
  return te.hidden_act === 'quick_gelu' ? 'sd1' : 'sd2';
}

function identity(d: number, dtype: SourceDType, name: string): WeightSource {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') dtype = 'F32';
  const e = DTYPE_BYTES[dtype];
  const data = new Uint8Array(d * d * e);
  const one = dtype === 'F32' ? [0x00, 0x00, 0x80, 0x3f] : dtype === 'F16' ? [0x00, 0x3c] : [0x80, 0x3f];
  for (let i = 0; i < d; i++) data.set(one, (i * d + i) * e);
  return memorySource(name, dtype, [d, d], data);
}

export function singleFilePlan(model: DiffusersModel): { tensors: OutTensor[]; metadata: Record<string, string> } {
  const tensors: OutTensor[] = [];
  const metadata: Record<string, string> = { format: 'pt' };
  const configs = Object.fromEntries(Object.entries(model.components).map(([k, v]) => [k, v.config]));
  for (const spec of componentSpecs(model.family, configs)) {
    const comp = model.components[spec.component];
    if (!comp) throw new EngineError(`a ${model.family} single-file checkpoint needs a '${spec.component}' component`);
    const groups = new Map<string, { m: Mapped; src: WeightSource }[]>();
    for (const d of comp.store.names()) {
      if (spec.component.startsWith('text_encoder') && isClipBuffer(d)) continue;
      const m = spec.map.toLdm(d);
      if (!m) throw new EngineError(`${comp.store.describe()}: no single-file name for ${spec.component} tensor '${d}' (unexpected for a ${model.family} ${configClass(comp.config)})`);
      const key = spec.prefix + m.name;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push({ m, src: comp.store.source(d) });
    }
    for (const [name, g] of groups) tensors.push(assemble(name, g));
    if (spec.openClip && spec.component === 'text_encoder') {
      // diffusers' convert_open_clip_checkpoint splits q/k/v at text_projection.shape[0] and
      // falls back to projection_dim (wrong for SD2) without it; SD2's CLIPTextModel has no
      // projection of its own, so write an identity placeholder of the right width.
      const tok = comp.store.source('text_model.embeddings.token_embedding.weight');
      const h = tok.shape[1];
      tensors.push({ name: spec.prefix + 'text_projection', dtype: tok.dtype, shape: [h, h], parts: [identity(h, tok.dtype, 'text_projection')] });
      metadata[META_TEXT_LAYERS] = String(comp.config.num_hidden_layers);
    }
  }
  return { tensors, metadata };
}

function assemble(name: string, g: { m: Mapped; src: WeightSource }[]): OutTensor {
  const { m, src } = g[0];
  if (m.part === undefined) {
    if (g.length > 1) throw new EngineError(`several tensors map to '${name}': ${g.map((x) => x.src.name).join(', ')}`);
    let s = src;
    if (m.conv1x1) s = unsqueezeConv1x1(s);
    if (m.transpose) s = transposed(s);
    return { name, dtype: s.dtype, shape: s.shape, parts: [s] };
  }
  const parts = [...g].sort((a, b) => a.m.part! - b.m.part!);
  if (parts.length !== 3 || parts.some((p, i) => p.m.part !== i)) {
    throw new EngineError(`'${name}' needs q, k and v parts, got ${parts.map((p) => p.src.name).join(', ')}`);
  }
  const rest = src.shape.slice(1);
  for (const p of parts) {
    if (p.src.dtype !== src.dtype || p.src.shape.slice(1).join() !== rest.join()) {
      throw new EngineError(`${p.src.file}: '${p.src.name}' ${p.src.dtype} ${fmtShape(p.src.shape)} does not match '${src.name}' ${src.dtype} ${fmtShape(src.shape)}; cannot fuse into '${name}'`);
    }
  }
  const rows = parts.reduce((a, p) => a + p.src.shape[0], 0);
  return { name, dtype: src.dtype, shape: [rows, ...rest], parts: parts.map((p) => p.src) };
}
