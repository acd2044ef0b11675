// timestepEmbedding(t [N], dim, opts) -> [N, dim]: diffusers' get_timestep_embedding
// (models/embeddings.py; defaults flip_sin_to_cos=False, downscale_freq_shift=1, scale=1,
// max_period=10000). The frequency table depends only on the options, so it is computed here in
// float64 and travels as a small constant (kernels/timestep_embedding.wgsl explains the split).
import { EngineError } from '../errors.ts';
import { badShapes, type Node } from '../graph/graph.ts';
import { grid1d } from '../gpu/facts.ts';
import { defineOp, u32 } from './registry.ts';

const WG = 256;

export interface TimestepEmbeddingOptions {
  flipSinToCos?: boolean;
  downscaleFreqShift?: number;
  maxPeriod?: number;
  scale?: number;
}

export function timestepEmbedding(t: Node, dim: number, opts: TimestepEmbeddingOptions = {}): Node {
  const { flipSinToCos = false, downscaleFreqShift = 1, maxPeriod = 10000, scale = 1 } = opts;
  const op = 'timestep_embedding', g = t.graph;
  if (t.rank !== 1) badShapes(op, 'timesteps must be 1-D [N]', t);
  if (t.dtype !== 'f32' && t.dtype !== 'f16') badShapes(op, 'timesteps must be a float tensor', t);
  if (!Number.isInteger(dim) || dim < 2) throw new EngineError(`${g.label(op)}: dim must be an integer >= 2 (got ${dim})`);
  const half = Math.floor(dim / 2);
  if (half - downscaleFreqShift === 0 || !Number.isFinite(downscaleFreqShift)) {
    throw new EngineError(`${g.label(op)}: downscaleFreqShift ${downscaleFreqShift} must differ from dim/2 = ${half} (the frequency exponent divides by their difference)`);
  }
  if (!(maxPeriod > 0) || !Number.isFinite(scale)) throw new EngineError(`${g.label(op)}: maxPeriod must be > 0 and scale finite (got ${maxPeriod}, ${scale})`);
  const table = g.constant(freqTable(half, downscaleFreqShift, maxPeriod, scale), [half, 2], 'u32', 'timestep freqs');
  return g.add(op, [t, table], [t.dim(0), dim], g.dtype, { dim, flipSinToCos, downscaleFreqShift, maxPeriod, scale });
}

/** f32 bit patterns of (hi, lo) per frequency: c_k = scale*freq_k/(2 pi), hi keeping 12 significant bits. */
function freqTable(half: number, shift: number, maxPeriod: number, scale: number): Uint32Array {
  const f = new Float32Array(1), bits = new Uint32Array(f.buffer);
  const out = new Uint32Array(2 * half);
  for (let k = 0; k < half; k++) {
    const c = (scale * Math.exp((-Math.log(maxPeriod) * k) / (half - shift))) / (2 * Math.PI);
    f[0] = c;
    bits[0] &= 0xfffff000;
    out[2 * k] = bits[0];
    f[0] = c - f[0];
    out[2 * k + 1] = bits[0];
  }
  return out;
}

defineOp({
  name: 'timestep_embedding',
  encode(n) {
    const [t, table] = n.inputs;
    const total = n.numel;
    return [{
      kernel: { name: 'timestep_embedding', defines: { TF32: t.dtype === 'f32' && n.dtype !== 'f32' }, constants: { WG } },
      buffers: [t, table, n],
      params: [u32(total), u32(n.attrs.dim), u32(table.dim(0)), u32(n.attrs.flipSinToCos ? 1 : 0)],
      grid: grid1d(Math.ceil(total / WG)),
    }];
  },
  async ref(n, [t]) {
    const { timestepEmbedding } = await import('../ref/timestep_embedding.ts');
    const a = n.attrs;
    return timestepEmbedding(t, a.dim, a.flipSinToCos, a.downscaleFreqShift, a.maxPeriod, a.scale);
  },
});
