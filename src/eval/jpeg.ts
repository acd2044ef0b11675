// JPEG to RGB as libjpeg(-turbo) renders it by default, which is what PIL (and so the CLIP
// scorers' Python pipelines) see. jpeg-js decodes the entropy coding and the IDCT; we take its
// raw Y/Cb/Cr planes (its chroma is replicated to full size, so the subsampled plane is
// recovered exactly) and redo the two steps where it differs from libjpeg: "fancy" chroma
// upsampling (libjpeg jdsample.c h2v1/h2v2: a triangle filter, 3/4 nearer + 1/4 further
// sample) and the fixed-point YCbCr -> RGB tables of jdcolor.c. Measured against Pillow
// 12.3 on 4:2:0 and 4:4:4 files: within a few levels (the IDCTs differ slightly).
// Adobe-marked files (CMYK, RGB) and unusual sampling keep jpeg-js's own conversion.
import jpeg from 'jpeg-js';
import { EngineError } from '../errors.ts';
import type { RgbImage } from './image_io.ts';

interface Sof { width: number; height: number; comps: Array<{ h: number; v: number }>; adobe: boolean }

// Frame header (SOF0..SOF15 but DHT/JPG/DAC) and whether an Adobe APP14 segment exists.
function readHeader(b: Uint8Array): Sof | null {
  let p = 2, adobe = false;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1];
    if (m === 0xff) { p++; continue; }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { p += 2; continue; }
    const len = (b[p + 2] << 8) | b[p + 3];
    if (m === 0xee && String.fromCharCode(...b.subarray(p + 4, p + 9)) === 'Adobe') adobe = true;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      const n = b[p + 9], comps = [];
      for (let i = 0; i < n; i++) { const hv = b[p + 11 + 3 * i]; comps.push({ h: hv >> 4, v: hv & 15 }); }
      return { height: (b[p + 5] << 8) | b[p + 6], width: (b[p + 7] << 8) | b[p + 8], comps, adobe };
    }
    p += 2 + len;
  }
  return null;
}

// h2v1_fancy_upsample: one row of `sw` samples -> 2*sw.
function fancyRow(src: Uint8Array, o: number, sw: number, out: Uint8Array, oo: number): void {
  if (sw === 1) { out[oo] = out[oo + 1] = src[o]; return; }
  out[oo] = src[o];
  out[oo + 1] = (src[o] * 3 + src[o + 1] + 2) >> 2;
  for (let i = 1; i < sw - 1; i++) {
    const v = src[o + i] * 3;
    out[oo + 2 * i] = (v + src[o + i - 1] + 1) >> 2;
    out[oo + 2 * i + 1] = (v + src[o + i + 1] + 2) >> 2;
  }
  const last = src[o + sw - 1];
  out[oo + 2 * sw - 2] = (last * 3 + src[o + sw - 2] + 1) >> 2;
  out[oo + 2 * sw - 1] = last;
}

// h2v2_fancy_upsample: each output row mixes its input row (3/4) with the nearer neighbour
// row (1/4, edges replicated), then the same along the row, in one rounding.
function fancy2x2(src: Uint8Array, sw: number, sh: number, out: Uint8Array, ow: number): void {
  for (let i = 0; i < sh; i++) {
    for (let v = 0; v < 2; v++) {
      const r0 = i * sw, r1 = Math.min(sh - 1, Math.max(0, v ? i + 1 : i - 1)) * sw, oo = (2 * i + v) * ow;
      const col = (k: number) => src[r0 + k] * 3 + src[r1 + k];
      if (sw === 1) { out[oo] = out[oo + 1] = (col(0) * 4 + 8) >> 4; continue; }
      let last = col(0), cur = col(0), next = col(1);
      out[oo] = (cur * 4 + 8) >> 4;
      out[oo + 1] = (cur * 3 + next + 7) >> 4;
      for (let k = 1; k < sw - 1; k++) {
        last = cur; cur = next; next = col(k + 1);
        out[oo + 2 * k] = (cur * 3 + last + 8) >> 4;
        out[oo + 2 * k + 1] = (cur * 3 + next + 7) >> 4;
      }
      last = cur; cur = next;
      out[oo + 2 * sw - 2] = (cur * 3 + last + 8) >> 4;
      out[oo + 2 * sw - 1] = (cur * 4 + 7) >> 4;
    }
  }
}

// jdcolor.c build_ycc_rgb_table (SCALEBITS 16).
const FIX = (x: number) => Math.floor(x * 65536 + 0.5), HALF = 1 << 15;
const CR_R = new Int32Array(256), CB_B = new Int32Array(256), CR_G = new Int32Array(256), CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + HALF) >> 16;
  CB_B[i] = (FIX(1.772) * x + HALF) >> 16;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + HALF;
}
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

export function decodeJpeg(b: Uint8Array, file: string): RgbImage {
  const sof = readHeader(b);
  const three = sof && !sof.adobe && sof.comps.length === 3;
  let d: { width: number; height: number; data: Uint8Array };
  try {
    d = jpeg.decode(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 200, ...(three ? { colorTransform: false } : {}) });
  } catch (e) {
    throw new EngineError(`${file}: cannot decode JPEG (${(e as Error).message ?? e})`);
  }
  const { width: W, height: H, data } = d;
  if (data.length !== W * H * 3) throw new EngineError(`${file}: JPEG decoded to ${data.length} bytes for ${W}x${H} RGB`);
  if (!three) return { width: W, height: H, rgb: data };
  const maxH = Math.max(...sof!.comps.map((c) => c.h)), maxV = Math.max(...sof!.comps.map((c) => c.v));
  const y = sof!.comps[0];
  if (y.h !== maxH || y.v !== maxV) throw new EngineError(`${file}: JPEG with a subsampled luma plane is not supported`);
  const planes = [1, 2].map((c) => {
    const full = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) full[i] = data[i * 3 + c];
    const fx = maxH / sof!.comps[c].h, fy = maxV / sof!.comps[c].v;
    if ((fx !== 1 && fx !== 2) || (fy !== 1 && fy !== 2) || (fx === 1 && fy === 2)) return full; // 1:1, or kept replicated
    if (fx === 1) return full;
    const sw = Math.ceil(W / 2), sh = fy === 2 ? Math.ceil(H / 2) : H;
    const small = new Uint8Array(sw * sh);
    for (let r = 0; r < sh; r++) for (let k = 0; k < sw; k++) small[r * sw + k] = full[r * fy * W + 2 * k];
    const ow = 2 * sw, oh = fy === 2 ? 2 * sh : sh, up = new Uint8Array(ow * oh);
    if (fy === 2) fancy2x2(small, sw, sh, up, ow);
    else for (let r = 0; r < sh; r++) fancyRow(small, r * sw, sw, up, r * ow);
    for (let r = 0; r < H; r++) full.set(up.subarray(r * ow, r * ow + W), r * W);
    return full;
  });
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const Y = data[i * 3], cb = planes[0][i], cr = planes[1][i];
    rgb[i * 3] = clamp8(Y + CR_R[cr]);
    rgb[i * 3 + 1] = clamp8(Y + ((CB_G[cb] + CR_G[cr]) >> 16));
    rgb[i * 3 + 2] = clamp8(Y + CB_B[cb]);
  }
  return { width: W, height: H, rgb };
}
