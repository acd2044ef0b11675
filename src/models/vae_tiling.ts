// Tiled VAE decode and encode, as diffusers' AutoencoderKL.enable_tiling() does them
// (v0.31.0 autoencoder_kl.py: tiled_decode, _tiled_encode, blend_v, blend_h): the input is
// cut into overlapping tiles, each tile runs through the whole decoder (or encoder +
// quant_conv) on its own, and neighbouring outputs are cross-faded over `blend_extent`
// pixels before each tile is cropped to `row_limit` and the crops are concatenated.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/autoencoders/autoencoder_kl.py
//
// This file is the host-side geometry and blending only; src/models/api/vae_tiler.ts
// decides when to tile and runs the tiles. Tiles are not the same as one whole pass:
// every tile has its own GroupNorm statistics and zero padding at its borders.
import { EngineError } from '../errors.ts';
import type { HostTensor } from '../io/host.ts';

/** diffusers' tile_sample_min_size, tile_latent_min_size, tile_overlap_factor. */
export interface TileSpec {
  sampleSize: number;
  latentSize: number;
  overlap: number;
}

/** enable_tiling()'s defaults from the VAE config: sample_size, sample_size / 2^(blocks-1), 0.25. */
export function defaultTileSpec(sampleSize: number, factor: number): TileSpec {
  return { sampleSize, latentSize: Math.trunc(sampleSize / factor), overlap: 0.25 };
}

/** One direction's tiling: input tile size, stride, output blend extent and crop. */
export interface Geometry {
  inTile: number;
  stride: number;
  blend: number;
  rowLimit: number;
}

/**
 * decode: latent tiles -> image (overlap_size = int(latent*(1-o)), blend = int(sample*o));
 * encode: image tiles -> latents (overlap_size = int(sample*(1-o)), blend = int(latent*o)).
 * Rejects sizes where the crops would not add up to the output size (diffusers would
 * silently return a wrong-sized image there), naming the arguments.
 */
export function geometry(spec: TileSpec, factor: number, dir: 'decode' | 'encode', what = 'tiling'): Geometry {
  const { sampleSize: S, latentSize: L, overlap: o } = spec;
  if (!(o >= 0 && o < 1)) throw new EngineError(`${what}: --tile-overlap must be in [0, 1), got ${o}`);
  if (!Number.isInteger(S) || S < factor) throw new EngineError(`${what}: --tile-sample-size ${S} is smaller than the VAE's latent downsampling ${factor} (a tile must hold at least one latent pixel)`);
  if (!Number.isInteger(L) || L < 1) throw new EngineError(`${what}: --tile-latent-size must be a positive integer, got ${L}`);
  if (S !== L * factor) throw new EngineError(`${what}: --tile-sample-size ${S} must be --tile-latent-size ${L} x the VAE's downsampling ${factor} (= ${L * factor})`);
  const g: Geometry = dir === 'decode'
    ? { inTile: L, stride: Math.trunc(L * (1 - o)), blend: Math.trunc(S * o), rowLimit: S - Math.trunc(S * o) }
    : { inTile: S, stride: Math.trunc(S * (1 - o)), blend: Math.trunc(L * o), rowLimit: L - Math.trunc(L * o) };
  const outStride = dir === 'decode' ? g.stride * factor : g.stride / factor;
  if (g.stride < 1 || outStride !== g.rowLimit) {
    throw new EngineError(`${what}: tile ${S} px / ${L} latent with overlap ${o} gives a ${dir} stride of ${g.stride} and a crop of ${g.rowLimit}, which do not line up; use sizes where ${dir === 'decode' ? 'latent' : 'sample'} size x (1 - overlap) is an integer${dir === 'encode' ? ` divisible by ${factor}` : ''} (e.g. 512 / 64 with 0.25)`);
  }
  return g;
}

/** range(0, n, stride): the start of every tile along one axis. */
export function tileStarts(n: number, stride: number): number[] {
  const s: number[] = [];
  for (let i = 0; i < n; i += stride) s.push(i);
  return s;
}

/** x[:, :, r0:r0+h, c0:c0+w] of a [B, C, H, W] tensor (clipped at the edges). */
export function cropTile(x: HostTensor, r0: number, c0: number, size: number): HostTensor {
  const [B, C, H, W] = x.shape;
  const h = Math.min(size, H - r0), w = Math.min(size, W - c0);
  const out = new Float32Array(B * C * h * w);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < h; y++) {
      const src = (bc * H + r0 + y) * W + c0;
      out.set(x.data.subarray(src, src + w), (bc * h + y) * w);
    }
  }
  return { shape: [B, C, h, w], data: out };
}

/** blend_v, in place on b: b's first e rows fade from a's last e rows (row 0 is all a). */
export function blendV(a: HostTensor, b: HostTensor, extent: number): void {
  const [B, C, ha, w] = a.shape, hb = b.shape[2];
  const e = Math.min(ha, hb, extent);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < e; y++) {
      const wa = Math.fround(1 - y / e), wb = Math.fround(y / e);
      const ra = (bc * ha + ha - e + y) * w, rb = (bc * hb + y) * w;
      for (let x = 0; x < w; x++) b.data[rb + x] = Math.fround(a.data[ra + x] * wa) + Math.fround(b.data[rb + x] * wb);
    }
  }
}

/** blend_h, in place on b: the same along the width. */
export function blendH(a: HostTensor, b: HostTensor, extent: number): void {
  const [B, C, h, wa] = a.shape, wb = b.shape[3];
  const e = Math.min(wa, wb, extent);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < h; y++) {
      const ra = (bc * h + y) * wa, rb = (bc * h + y) * wb;
      for (let x = 0; x < e; x++) {
        b.data[rb + x] = Math.fround(a.data[ra + wa - e + x] * Math.fround(1 - x / e)) + Math.fround(b.data[rb + x] * Math.fround(x / e));
      }
    }
  }
}

/**
 * The whole tiled pass over x [B, C, H, W]: `run` maps each input tile to its output
 * (decoder or encoder + quant_conv); tiles of one shape run together (one compiled graph
 * per shape). Returns the blended, cropped, concatenated result.
 */
export async function runTiled(x: HostTensor, g: Geometry, run: (tile: HostTensor) => Promise<HostTensor>): Promise<HostTensor> {
  const [, , H, W] = x.shape;
  const rs = tileStarts(H, g.stride), cs = tileStarts(W, g.stride);
  const tiles: HostTensor[][] = rs.map(() => []);
  const order = rs.flatMap((r, i) => cs.map((c, j) => ({ i, j, key: `${Math.min(g.inTile, H - r)}x${Math.min(g.inTile, W - c)}` })));
  order.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const t of order) tiles[t.i][t.j] = await run(cropTile(x, rs[t.i], cs[t.j], g.inTile));
  // Row by row, left to right, blending in place (the neighbours are already blended).
  for (let i = 0; i < rs.length; i++) {
    for (let j = 0; j < cs.length; j++) {
      if (i > 0) blendV(tiles[i - 1][j], tiles[i][j], g.blend);
      if (j > 0) blendH(tiles[i][j - 1], tiles[i][j], g.blend);
    }
  }
  return concatCrops(tiles, g.rowLimit);
}

/** torch.cat of tile[:, :, :limit, :limit] along width per row, then the rows along height. */
function concatCrops(tiles: HostTensor[][], limit: number): HostTensor {
  const [B, C] = tiles[0][0].shape;
  const hs = tiles.map((row) => Math.min(limit, row[0].shape[2]));
  const ws = tiles[0].map((t) => Math.min(limit, t.shape[3]));
  const H = hs.reduce((a, b) => a + b, 0), W = ws.reduce((a, b) => a + b, 0);
  const out = new Float32Array(B * C * H * W);
  let r0 = 0;
  tiles.forEach((row, i) => {
    let c0 = 0;
    row.forEach((t, j) => {
      const [, , th, tw] = t.shape;
      for (let bc = 0; bc < B * C; bc++) {
        for (let y = 0; y < hs[i]; y++) {
          const src = (bc * th + y) * tw;
          out.set(t.data.subarray(src, src + ws[j]), (bc * H + r0 + y) * W + c0);
        }
      }
      c0 += ws[j];
    });
    r0 += hs[i];
  });
  return { shape: [B, C, H, W], data: out };
}
