// PNG writer for generated images: 8-bit RGB, text metadata, byte-identical output for
// identical input (fixed filter heuristic, fixed zlib level, chunks in a fixed order,
// no timestamps). Spec: PNG (Third Edition) sections 5 (chunks), 7.3 / 9 (filtering),
// 11.3.3.2 tEXt and 11.3.3.4 iTXt.
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { EngineError } from '../errors.ts';

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / zlib polynomial) of the concatenated byte arrays. */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typeBytes = Buffer.from(type, 'latin1');
  out.set(typeBytes, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(typeBytes, data));
  return out;
}

/** Text metadata, written in the given order. */
export type PngText = ReadonlyArray<readonly [keyword: string, text: string]>;

function isLatin1Printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || c === 0) return false;
  }
  return true;
}

// tEXt when the value is Latin-1, otherwise iTXt (UTF-8, uncompressed, no language tag).
function textChunk(keyword: string, text: string): Uint8Array {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword) || keyword !== keyword.trim() || keyword.includes('  ')) {
    throw new EngineError(`png: invalid text keyword '${keyword}' (1-79 Latin-1 characters, no leading/trailing/double spaces)`);
  }
  const key = Buffer.from(keyword, 'latin1');
  if (isLatin1Printable(text)) return chunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(text, 'latin1')]));
  const body = Buffer.from(text, 'utf8');
  return chunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), body]));
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Filter each row with the type (0-4) whose output has the smallest sum of |signed byte|
// (the heuristic libpng uses); ties go to the lower type, so the choice is deterministic.
function filterRows(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const bpp = 3, stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  const cand = Array.from({ length: 5 }, () => new Uint8Array(stride));
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? rgb.subarray((y - 1) * stride, y * stride) : zero;
    let best = 0, bestCost = Infinity;
    for (let t = 0; t < 5; t++) {
      const c = cand[t];
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? row[i - bpp] : 0, b = up[i], cc = i >= bpp ? up[i - bpp] : 0;
        const pred = t === 0 ? 0 : t === 1 ? a : t === 2 ? b : t === 3 ? (a + b) >> 1 : paeth(a, b, cc);
        const v = (row[i] - pred) & 0xff;
        c[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) { bestCost = cost; best = t; }
    }
    out[y * (stride + 1)] = best;
    out.set(cand[best], y * (stride + 1) + 1);
  }
  return out;
}

export interface PngImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major, width*height*3 bytes. */
  rgb: Uint8Array;
}

/** Encode an 8-bit RGB PNG; text chunks go before the image data, in the order given. */
export function encodePng(img: PngImage, text: PngText = []): Uint8Array {
  const { width, height, rgb } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new EngineError(`png: invalid size ${width}x${height}`);
  }
  if (rgb.length !== width * height * 3) throw new EngineError(`png: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${rgb.length}`);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  const idat = deflateSync(filterRows(rgb, width, height), { level: 9, memLevel: 9, strategy: 0 });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), ...text.map(([k, t]) => textChunk(k, t)), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  return Buffer.concat(parts);
}

export function writePng(path: string, img: PngImage, text: PngText = []): void {
  const bytes = encodePng(img, text);
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new EngineError(`${path}: cannot write PNG (${(e as Error).message})`);
  }
}

/** numpy's rint: round half to even (what np.round does). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Image `index` of a (B,3,H,W) float tensor in [0,1] as interleaved RGB bytes, exactly as
 * diffusers' VaeImageProcessor.numpy_to_pil does it: clamp to [0,1] (postprocess), then
 * (x * 255) in float32 and np.round (half to even). NaN becomes 0.
 */
export function floatImageToRgb(image: Float32Array, shape: readonly number[], index = 0): PngImage {
  if (shape.length !== 4 || shape[1] !== 3) throw new EngineError(`image tensor: expected shape (B,3,H,W), got [${shape.join(', ')}]`);
  const [b, , h, w] = shape;
  if (image.length !== b * 3 * h * w) throw new EngineError(`image tensor: shape [${shape.join(', ')}] needs ${b * 3 * h * w} values, got ${image.length}`);
  if (!Number.isInteger(index) || index < 0 || index >= b) throw new EngineError(`image tensor: index ${index} out of range for batch ${b}`);
  const rgb = new Uint8Array(h * w * 3);
  const plane = h * w, base = index * 3 * plane;
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const x = image[base + c * plane + p];
      const clamped = x > 1 ? 1 : x >= 0 ? x : 0; // NaN fails x >= 0
      rgb[p * 3 + c] = roundHalfEven(Math.fround(clamped * 255));
    }
  }
  return { width: w, height: h, rgb };
}

/** What a generated image records about how it was made. */
export interface GenerationInfo {
  prompt: string;
  /** undefined: no negative prompt was given ('' is an explicitly empty one). */
  negative?: string;
  guidance: string;
  alpha?: number;
  scale?: number;
  seed?: number | bigint | string;
  steps: number;
  model: string;
  width?: number;
  height?: number;
  scheduler?: string;
  noise?: string;
}

/** The text chunks for a generated image, in a fixed order (absent fields are left out). */
export function generationText(info: GenerationInfo): PngText {
  const out: Array<[string, string]> = [['prompt', info.prompt]];
  if (info.negative !== undefined) out.push(['negative_prompt', info.negative]);
  out.push(['guidance', info.guidance]);
  if (info.alpha !== undefined) out.push(['alpha', String(info.alpha)]);
  if (info.scale !== undefined) out.push(['scale', String(info.scale)]);
  if (info.seed !== undefined) out.push(['seed', String(info.seed)]);
  out.push(['steps', String(info.steps)]);
  if (info.scheduler !== undefined) out.push(['scheduler', info.scheduler]);
  if (info.noise !== undefined) out.push(['noise', info.noise]);
  if (info.width !== undefined && info.height !== undefined) out.push(['size', `${info.width}x${info.height}`]);
  out.push(['model', info.model], ['Software', 'nasa-engine']);
  return out;
}
