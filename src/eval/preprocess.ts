// CLIP image preprocessing, as transformers' CLIPImageProcessor does it (v4.43.4
// models/clip/image_processing_clip.py, image_transforms.py): RGB -> resize the SHORTEST
// edge to size.shortest_edge with PIL's bicubic filter -> center crop -> rescale (x * 1/255
// in float64, then float32) -> normalise ((x - mean) / std in float32) -> CHW.
// The resize reproduces Pillow's ImagingResample (src/libImaging/Resample.c) for 8-bit
// images: separable passes (horizontal, then vertical), an antialiasing support that widens
// with the downscale factor, coefficients normalised per output pixel and rounded to 22-bit
// fixed point, and rounding + clipping to uint8 after each pass. This is what the
// released CLIP scorers were trained and evaluated with.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';
import { readJsonObject } from '../io/folder.ts';
import type { ClipVisionConfig } from '../models/clip_configs.ts';
import type { RgbImage } from './image_io.ts';

/** The CLIPImageProcessor settings the engine implements. */
export interface ClipImageProcessor {
  /** Target of the shortest edge (do_resize false: null). */
  shortestEdge: number | null;
  /** Center crop [height, width] (do_center_crop false: null). */
  crop: [number, number] | null;
  /** do_rescale: multiply by this (1/255); null: no rescale. */
  rescaleFactor: number | null;
  /** do_normalize: per-channel mean/std; null: no normalisation. */
  mean: number[] | null;
  std: number[] | null;
  /** Where the settings came from (the file, or the defaults used). */
  source: string;
}

export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const PIL_BICUBIC = 3;

/** CLIPImageProcessor's defaults, at the vision tower's image size. */
export function defaultProcessor(imageSize: number, source: string): ClipImageProcessor {
  return { shortestEdge: imageSize, crop: [imageSize, imageSize], rescaleFactor: 1 / 255, mean: OPENAI_CLIP_MEAN, std: OPENAI_CLIP_STD, source };
}

/**
 * Reads `<dir>/preprocessor_config.json`. Without one, CLIPImageProcessor's defaults (the
 * OpenAI CLIP mean/std, bicubic resize + crop to vision_config.image_size) are used and
 * `warn` is told which.
 */
export function readProcessor(dir: string, vision: ClipVisionConfig, warn: (msg: string) => void = (m) => console.error(`warning: ${m}`)): ClipImageProcessor {
  const file = path.join(dir, 'preprocessor_config.json');
  const S = vision.image_size;
  if (!fs.existsSync(file)) {
    const p = defaultProcessor(S, `CLIPImageProcessor defaults (no ${file})`);
    warn(`${file} not found: using CLIPImageProcessor defaults: bicubic resize of the shortest edge to ${S}, center crop ${S}x${S}, rescale 1/255, OpenAI CLIP mean [${OPENAI_CLIP_MEAN}] / std [${OPENAI_CLIP_STD}]`);
    return p;
  }
  const c = readJsonObject(file);
  const bad = (key: string, want: string): never => { throw new EngineError(`${file}: "${key}" must be ${want}, got ${JSON.stringify(c[key])}`); };
  const flag = (key: string) => {
    const v = c[key] ?? true;
    if (typeof v !== 'boolean') bad(key, 'true or false');
    return v as boolean;
  };
  const posInt = (v: unknown, key: string): number => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : bad(key, 'a positive integer'));
  const triple = (key: string, dflt: number[]): number[] => {
    const v = c[key] ?? dflt;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(key, 'a list of 3 numbers');
    if (key === 'image_std' && v.some((x: number) => x === 0)) bad(key, 'non-zero');
    return v;
  };
  let shortestEdge: number | null = null;
  if (flag('do_resize')) {
    const s = c.size ?? { shortest_edge: S };
    if (typeof s === 'number') shortestEdge = posInt(s, 'size');
    else if (s && typeof s === 'object' && 'shortest_edge' in s) shortestEdge = posInt(s.shortest_edge, 'size.shortest_edge');
    else bad('size', '{"shortest_edge": N} (height/width resizes are not what CLIPImageProcessor does)');
    const resample = c.resample ?? PIL_BICUBIC;
    if (resample !== PIL_BICUBIC) bad('resample', `${PIL_BICUBIC} (PIL bicubic; other filters are not implemented)`);
  }
  let crop: [number, number] | null = null;
  if (flag('do_center_crop')) {
    const s = c.crop_size ?? { height: S, width: S };
    if (typeof s === 'number') crop = [posInt(s, 'crop_size'), s];
    else if (s && typeof s === 'object') crop = [posInt(s.height, 'crop_size.height'), posInt(s.width, 'crop_size.width')];
    else bad('crop_size', 'a number or {"height", "width"}');
  }
  const rescaleFactor = flag('do_rescale') ? (typeof (c.rescale_factor ?? 1 / 255) === 'number' ? c.rescale_factor ?? 1 / 255 : bad('rescale_factor', 'a number')) : null;
  const norm = flag('do_normalize');
  const p: ClipImageProcessor = {
    shortestEdge, crop, rescaleFactor,
    mean: norm ? triple('image_mean', OPENAI_CLIP_MEAN) : null, std: norm ? triple('image_std', OPENAI_CLIP_STD) : null, source: file,
  };
  if (!crop) throw new EngineError(`${file}: do_center_crop is false; the vision tower needs ${S}x${S} inputs, so a crop is required`);
  if (crop[0] !== S || crop[1] !== S) throw new EngineError(`${file}: crop_size ${crop[1]}x${crop[0]} does not match the vision tower's image_size ${S}`);
  return p;
}

// ---- Pillow's resampling (8-bit, bicubic) ------------------------------------------------

const PRECISION_BITS = 32 - 8 - 2;

function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs { ksize: number; bounds: Int32Array; kk: Int32Array }

// precompute_coeffs + normalize_coeffs_8bpc of Resample.c (box = the whole input).
function coeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale; // bicubic support 2
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale, ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) ww += (k[x] = bicubicFilter((x + xmin - center + 0.5) * ss));
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      kk[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (ss: number) => (ss >= 1 << PRECISION_BITS << 8 ? 255 : ss <= 0 ? 0 : Math.floor(ss / (1 << PRECISION_BITS)));

// One separable pass: along x (horizontal) or y; `img` is interleaved RGB.
function pass(img: RgbImage, outW: number, outH: number, horizontal: boolean): RgbImage {
  const { width: W, rgb } = img;
  const c = horizontal ? coeffs(W, outW) : coeffs(img.height, outH);
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const min = c.bounds[o * 2], n = c.bounds[o * 2 + 1], k = o * c.ksize;
      for (let ch = 0; ch < 3; ch++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < n; i++) {
          const src = horizontal ? (y * W + min + i) * 3 + ch : ((min + i) * W + x) * 3 + ch;
          ss += rgb[src] * c.kk[k + i];
        }
        out[(y * outW + x) * 3 + ch] = clip8(ss);
      }
    }
  }
  return { width: outW, height: outH, rgb: out };
}

/** PIL `Image.resize((w, h), Image.BICUBIC)` of an 8-bit RGB image. */
export function resizeBicubic(img: RgbImage, w: number, h: number): RgbImage {
  let out = img;
  if (w !== img.width) out = pass(out, w, img.height, true);
  if (h !== img.height) out = pass(out, w, h, false);
  return out === img ? { width: w, height: h, rgb: img.rgb.slice() } : out;
}

/** The (height, width) CLIPImageProcessor resizes to: shortest edge -> `size`, the other scaled and floored. */
export function shortestEdgeSize(height: number, width: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

/** (3, H, W) float32 pixel_values of one image, written into `out` at `offset`. */
export function preprocess(img: RgbImage, p: ClipImageProcessor, out: Float32Array, offset: number, what: string): void {
  let im = img;
  if (p.shortestEdge !== null) {
    const [h, w] = shortestEdgeSize(im.height, im.width, p.shortestEdge);
    if (h < 1 || w < 1) throw new EngineError(`${what}: ${img.width}x${img.height} is too thin to resize to a shortest edge of ${p.shortestEdge}`);
    im = resizeBicubic(im, w, h);
  }
  const [ch, cw] = p.crop!;
  if (im.height < ch || im.width < cw) throw new EngineError(`${what}: ${im.width}x${im.height} after resizing is smaller than the ${cw}x${ch} crop`);
  const top = Math.floor((im.height - ch) / 2), left = Math.floor((im.width - cw) / 2);
  const plane = ch * cw;
  for (let c = 0; c < 3; c++) {
    const mean = p.mean ? Math.fround(p.mean[c]) : 0, std = p.std ? Math.fround(p.std[c]) : 1;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        let v = im.rgb[((top + y) * im.width + left + x) * 3 + c];
        if (p.rescaleFactor !== null) v = Math.fround(v * p.rescaleFactor);
        if (p.mean) v = Math.fround(Math.fround(v - mean) / std);
        out[offset + c * plane + y * cw + x] = v;
      }
    }
  }
}
