// When and how an AutoencoderKL call is tiled (see src/models/vae_tiling.ts for the tiles).
//
//   'off'     never tile
//   'auto'    (default) tile only when the whole pass would not fit the adapter: its
//             largest activation over maxStorageBufferBindingSize / maxBufferSize
//             (lavapipe: 128 MiB: SD's decoder holds 256 channels at full size, so above
//             512x512 in f16 and 362x362 in f32); the largest tile from enable_tiling()'s
//             size down that fits
//   'on'      always tile like enable_tiling() (--vae-tiling), shrinking only to fit
//   TileSpec  exactly these sizes (--tile-sample-size/--tile-latent-size/--tile-overlap);
//             an error where a tile does not fit
// As in diffusers, an input no larger than one tile is not tiled.
import { EngineError } from '../../errors.ts';
import { getDevice, type Device } from '../../gpu/device.ts';
import { Graph, type Float } from '../../graph/graph.ts';
import { byteSize, shapeStr } from '../../tensor/dtype.ts';
import type { VaeConfig } from '../configs.ts';
import type { AutoencoderKL } from '../vae.ts';
import { defaultTileSpec, geometry, runTiled, type TileSpec } from '../vae_tiling.ts';
import type { HostTensor, RunOptions } from './common.ts';

export interface VaeRunOptions extends RunOptions {
  /** One untiled pass whatever the tiling mode (how each tile runs). */
  whole?: boolean;
  /** encode: logvar as the model outputs it (tiles are blended before the clamp). */
  unclamped?: boolean;
}

export type VaeTiling = 'auto' | 'off' | 'on' | TileSpec;
export type { TileSpec } from '../vae_tiling.ts';
type Dir = 'decode' | 'encode';

/** Tiles smaller than this many latent pixels are not tried (GroupNorm over tiny tiles). */
const MIN_AUTO_LATENT = 8;
/** What the executor and the device say when a buffer is over the adapter's limits. */
const BUFFER_LIMIT = /over the adapter's maxStorageBufferBindingSize|exceeds the adapter's maxBufferSize/;
const MiB = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export class VaeTiler {
  mode: VaeTiling = 'auto';
  /** Where tiling notes go (stderr by default). */
  warn: (msg: string) => void = (m) => console.error(m);
  /** A smaller buffer limit than the adapter's (tests; planning for a smaller GPU). */
  limitBytes: number | null = null;
  private said = new Set<string>();

  constructor(private readonly model: AutoencoderKL, private readonly config: VaeConfig, private readonly device?: Device) {}

  get factor(): number { return 2 ** (this.config.block_out_channels.length - 1); }

  /** Largest single tensor (bytes, which) of one untiled pass over `shape` in `dtype`. */
  largest(dir: Dir, shape: number[], dtype: Float): { bytes: number; what: string } {
    const g = new Graph(dtype);
    if (dir === 'decode') this.model.decode(g.input('z', shape));
    else this.model.encode(g.input('sample', shape));
    let best = { bytes: 0, what: '' };
    for (const n of g.nodes) {
      const b = byteSize(n.shape, n.dtype);
      if (n.op !== 'view' && b > best.bytes) best = { bytes: b, what: `${n.label} ${shapeStr(n.shape)} ${n.dtype}` };
    }
    return best;
  }

  /** The tile spec for this call, or null for one untiled pass. */
  async plan(dir: Dir, shape: number[], dtype: Float): Promise<TileSpec | null> {
    if (this.mode === 'off') return null;
    const dev = this.device ?? (await getDevice());
    const limit = Math.min(dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize, this.limitBytes ?? Infinity);
    const [B, C, h, w] = shape, f = this.factor;
    const unit = dir === 'decode' ? 1 : f; // input pixels per latent pixel
    const larger = (s: TileSpec) => (dir === 'decode' ? Math.max(h, w) > s.latentSize : Math.max(h, w) > s.sampleSize);
    const tileShape = (s: TileSpec) => [B, C, Math.min(h, s.latentSize * unit), Math.min(w, s.latentSize * unit)];
    const fits = (s: TileSpec) => this.largest(dir, tileShape(s), dtype);
    const what = `vae ${dir} ${shapeStr(shape)} ${dtype}`;

    if (typeof this.mode === 'object') {
      const s = this.mode;
      geometry(s, f, dir, what);
      if (!larger(s)) return null;
      const big = fits(s);
      if (big.bytes > limit) throw new EngineError(`${what}: a ${s.sampleSize} px tile needs ${big.what} (${MiB(big.bytes)}), over the adapter's ${MiB(limit)} buffer limit; use a smaller --tile-sample-size`);
      return s;
    }
    if (this.mode === 'auto') {
      const whole = this.largest(dir, shape, dtype);
      if (whole.bytes <= limit) return null;
      this.note(`${what}: ${whole.what} (${MiB(whole.bytes)}) exceeds the adapter's ${MiB(limit)} buffer limit; decoding in tiles`);
    }
    const dflt = defaultTileSpec(this.config.sample_size ?? 512, f);
    const extent = Math.max(h, w) / unit; // the input's larger side in latent pixels
    // The largest tile from enable_tiling()'s size down whose crops line up and that fits
    // (auto mode only tiles inputs that do not fit whole, so it starts below their size).
    const top = this.mode === 'auto' ? Math.min(dflt.latentSize, Math.ceil(extent) - 1) : dflt.latentSize;
    let last: { bytes: number; what: string } | null = null;
    for (let latent = top; latent >= Math.min(MIN_AUTO_LATENT, dflt.latentSize); latent--) {
      const s: TileSpec = { sampleSize: latent * f, latentSize: latent, overlap: dflt.overlap };
      try {
        geometry(s, f, dir, what);
      } catch {
        continue;
      }
      if (!larger(s)) return null;
      last = fits(s);
      if (last.bytes <= limit) {
        if (latent !== dflt.latentSize) this.note(`${what}: tiles of ${s.sampleSize} px (latent ${latent}, overlap ${s.overlap}) to fit the adapter's ${MiB(limit)} buffer limit`);
        return s;
      }
    }
    throw new EngineError(`${what} cannot fit even tiled: the smallest tile tried still needs ${last ? `${last.what} (${MiB(last.bytes)})` : 'more'} over the adapter's ${MiB(limit)} buffer limit${dtype === 'f32' ? '; try --dtype f16' : ''}`);
  }

  /**
   * Runs `dir` over x: in tiles when plan() says so, else `whole(x)`. An f16 pass whose
   * overflow fallback re-ran a stage in f32 may no longer fit the buffer limit (f32
   * activations are twice as large): then it is redone in tiles sized for f32, said once.
   */
  async run(dir: Dir, x: HostTensor, dtype: Float, whole: (tile: HostTensor) => Promise<HostTensor>): Promise<HostTensor> {
    const s = await this.plan(dir, x.shape, dtype);
    try {
      return s ? await runTiled(x, geometry(s, this.factor, dir), whole) : await whole(x);
    } catch (e) {
      if (dtype !== 'f16' || !(e instanceof EngineError) || !BUFFER_LIMIT.test(e.message)) throw e;
      const s32 = await this.plan(dir, x.shape, 'f32');
      if (!s32 || (s && s32.latentSize >= s.latentSize)) throw e;
      this.note(`vae ${dir} ${shapeStr(x.shape)}: a stage fell back to f32 (f16 overflow) and did not fit the adapter's buffer limit; redoing it in ${s32.sampleSize} px tiles sized for f32`);
      return runTiled(x, geometry(s32, this.factor, dir), whole);
    }
  }

  private note(m: string): void {
    if (this.said.has(m)) return;
    this.said.add(m);
    this.warn(m);
  }
}

/** [a; b] along channels of two [B, Ca, h, w] / [B, Cb, h, w] tensors (mean, logvar -> moments). */
export function joinChannels(a: HostTensor, b: HostTensor): HostTensor {
  const [B, Ca, h, w] = a.shape, Cb = b.shape[1], hw = h * w;
  const out = new Float32Array(B * (Ca + Cb) * hw);
  for (let n = 0; n < B; n++) {
    out.set(a.data.subarray(n * Ca * hw, (n + 1) * Ca * hw), n * (Ca + Cb) * hw);
    out.set(b.data.subarray(n * Cb * hw, (n + 1) * Cb * hw), (n * (Ca + Cb) + Ca) * hw);
  }
  return { shape: [B, Ca + Cb, h, w], data: out };
}

/** moments [B, 2L, h, w] -> mean, logvar (chunk(2, dim=1)). */
export function splitChannels(t: HostTensor, L: number): [HostTensor, HostTensor] {
  const [B, , h, w] = t.shape, hw = h * w;
  const part = (k: number) => {
    const out = new Float32Array(B * L * hw);
    for (let n = 0; n < B; n++) out.set(t.data.subarray((n * 2 * L + k * L) * hw, (n * 2 * L + (k + 1) * L) * hw), n * L * hw);
    return { shape: [B, L, h, w], data: out };
  };
  return [part(0), part(1)];
}
