// Reading images to score: PNG (our own decoder on node:zlib: every colour type, bit
// depths 1-16, Adam7 refused) and baseline/progressive JPEG (jpeg.ts), both to
// 8-bit RGB with alpha dropped, as PIL's Image.convert('RGB') does. Also reads the text
// chunks (tEXt/iTXt/zTXt) the engine's PNG writer stores generation metadata in.
// Spec: PNG (Third Edition) sections 5, 7.2 (sample depths), 9 (filters), 11.3.3.
import * as fs from 'node:fs';
import { inflateSync } from 'node:zlib';
import { EngineError } from '../errors.ts';
import { decodeJpeg } from './jpeg.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major. */
  rgb: Uint8Array;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export const isPng = (b: Uint8Array) => b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v);
export const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError(code === 'ENOENT' ? `${file}: no such image file` : `${file}: cannot read (${(e as Error).message})`);
  }
}

const notAnImage = (file: string, b: Uint8Array) =>
  new EngineError(`${file}: not a PNG or JPEG image (starts with bytes ${[...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ') || 'nothing: empty file'})`);

/** Decodes a PNG or JPEG file to RGB; anything else is refused naming the file. */
export function readImage(file: string): RgbImage {
  const b = readFile(file);
  if (isPng(b)) return decodePng(b, file).image;
  if (isJpeg(b)) return decodeJpeg(b, file);
  throw notAnImage(file, b);
}

/** Checks the file's signature only (cheap: 8 bytes), to refuse a non-image before any work. */
export function checkImageFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    readFile(file); // throws the right error
    return;
  }
  const head = new Uint8Array(8);
  const n = fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  if (!isPng(head.subarray(0, n)) && !isJpeg(head.subarray(0, n))) throw notAnImage(file, head.subarray(0, n));
}

/** Text chunks of a PNG file, by keyword (first wins); null when the file is not a readable PNG. */
export function readPngText(file: string): Map<string, string> | null {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch {
    return null;
  }
  if (!isPng(b)) return null;
  try {
    return chunks(b, file).text;
  } catch {
    return null;
  }
}

interface Parsed { ihdr: Uint8Array; idat: Buffer[]; plte: Uint8Array | null; text: Map<string, string> }

function chunks(b: Uint8Array, file: string): Parsed {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Parsed = { ihdr: new Uint8Array(0), idat: [], plte: null, text: new Map() };
  let pos = 8, sawEnd = false;
  while (pos + 8 <= b.length) {
    const len = view.getUint32(pos), type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > b.length) throw new EngineError(`${file}: truncated PNG (chunk ${type} at byte ${pos} runs past the end)`);
    const data = b.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') out.ihdr = data;
    else if (type === 'PLTE') out.plte = data;
    else if (type === 'IDAT') out.idat.push(Buffer.from(data));
    else if (type === 'tEXt' || type === 'iTXt' || type === 'zTXt') {
      const z = data.indexOf(0);
      const key = Buffer.from(data.subarray(0, z)).toString('latin1');
      let value: string;
      if (type === 'tEXt') value = Buffer.from(data.subarray(z + 1)).toString('latin1');
      else if (type === 'zTXt') value = inflateSync(data.subarray(z + 2)).toString('latin1');
      else {
        const compressed = data[z + 1] === 1;
        let p = z + 3;
        p = data.indexOf(0, p) + 1; // language tag
        p = data.indexOf(0, p) + 1; // translated keyword
        const body = data.subarray(p);
        value = (compressed ? inflateSync(body) : Buffer.from(body)).toString('utf8');
      }
      if (!out.text.has(key)) out.text.set(key, value);
    } else if (type === 'IEND') { sawEnd = true; break; }
    pos += 12 + len;
  }
  if (!sawEnd) throw new EngineError(`${file}: truncated PNG (no IEND chunk)`);
  if (out.ihdr.length !== 13) throw new EngineError(`${file}: PNG without a valid IHDR chunk`);
  return out;
}

export function decodePng(b: Uint8Array, file: string): { image: RgbImage; text: Map<string, string> } {
  const p = chunks(b, file);
  const v = new DataView(p.ihdr.buffer, p.ihdr.byteOffset, 13);
  const width = v.getUint32(0), height = v.getUint32(4), depth = p.ihdr[8], ctype = p.ihdr[9], interlace = p.ihdr[12];
  if (!(ctype in CHANNELS) || !DEPTHS[ctype].includes(depth)) throw new EngineError(`${file}: PNG colour type ${ctype} with bit depth ${depth} is not valid`);
  if (interlace !== 0) throw new EngineError(`${file}: interlaced (Adam7) PNG is not supported; re-save it without interlacing`);
  if (!width || !height || width * height > 200e6) throw new EngineError(`${file}: PNG size ${width}x${height} is out of range`);
  if (ctype === 3 && !p.plte) throw new EngineError(`${file}: palette PNG without a PLTE chunk`);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(p.idat));
  } catch (e) {
    throw new EngineError(`${file}: corrupt PNG image data (${(e as Error).message})`);
  }
  const ch = CHANNELS[ctype], bitsPerPixel = ch * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8), bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < height * (stride + 1)) throw new EngineError(`${file}: PNG image data holds ${raw.length} bytes, ${height * (stride + 1)} needed for ${width}x${height}`);
  const rows = unfilter(raw, height, stride, bpp, file);
  const rgb = new Uint8Array(width * height * 3);
  const maxv = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    const r = y * stride;
    const sample = (i: number): number => { // i-th sample of the row, scaled to 8 bits
      if (depth === 8) return rows[r + i];
      if (depth === 16) return rows[r + 2 * i]; // PIL keeps the high byte
      const bit = i * depth, byte = rows[r + (bit >> 3)];
      const s = (byte >> (8 - depth - (bit & 7))) & maxv;
      return ctype === 3 ? s : Math.round((s * 255) / maxv);
    };
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (ctype === 2 || ctype === 6) for (let c = 0; c < 3; c++) rgb[o + c] = sample(x * ch + c);
      else if (ctype === 3) {
        const idx = sample(x);
        if (idx * 3 + 2 >= p.plte!.length) throw new EngineError(`${file}: palette index ${idx} outside the ${p.plte!.length / 3}-entry PLTE`);
        rgb.set(p.plte!.subarray(idx * 3, idx * 3 + 3), o);
      } else rgb.fill(sample(x * ch), o, o + 3); // grey, grey + alpha
    }
  }
  return { image: { width, height, rgb }, text: p.text };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Undo the per-row filters (section 9.2); returns the rows without their filter bytes.
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number, file: string): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1, o = y * stride, up = o - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[o + i - bpp] : 0, b = y ? out[up + i] : 0, c = y && i >= bpp ? out[up + i - bpp] : 0;
      const x = raw[src + i];
      let pred: number;
      switch (f) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: pred = paeth(a, b, c); break;
        default: throw new EngineError(`${file}: PNG row ${y} has unknown filter type ${f}`);
      }
      out[o + i] = (x + pred) & 0xff;
    }
  }
  return out;
}
