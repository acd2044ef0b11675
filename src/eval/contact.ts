// The contact sheet: one row per prompt pair (repeated when a pair has several images of
// one setting), one column per setting (mode/alpha), each image shrunk to fit a square
// thumbnail with its scores drawn under it (CLIP+, CLIP-, removal decision and p_negative),
// pair ids on the left and setting tags on top, so a person can look rather than read.
import { encodePng } from '../pipeline/png.ts';
import { drawText, GLYPH_H, textWidth } from './font.ts';
import type { RgbImage } from './image_io.ts';
import type { CellBox, Report } from './report.ts';

export const PAD = 4;
const LINE = GLYPH_H + 3, TEXT_LINES = 3, MIN_CELL_W = textWidth('REMOVED 100%') + 1, MAX_LABEL_CHARS = 12;
const INK: [number, number, number] = [20, 20, 20], GREEN: [number, number, number] = [0, 120, 0], RED: [number, number, number] = [190, 0, 0];

/** Nearest-neighbour shrink (or enlarge) to fit a T x T square, aspect ratio kept. */
export function thumbnail(img: RgbImage, T: number): RgbImage {
  const s = T / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * s)), h = Math.max(1, Math.round(img.height * s));
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      rgb.set(img.rgb.subarray((sy * img.width + sx) * 3, (sy * img.width + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return { width: w, height: h, rgb };
}

export interface SheetLayout {
  width: number;
  height: number;
  thumb: number;
  cellW: number;
  cellH: number;
  labelW: number;
  headerH: number;
  /** Rows as (pair index, repeat), in report order. */
  rows: Array<{ pair: number; rep: number }>;
  /** Per report image: its row and column. */
  place: Array<{ row: number; col: number }>;
}

export function layout(r: Report, thumb: number): SheetLayout {
  const col = new Map(r.settings.map((s, i) => [s.tag, i]));
  const rows: SheetLayout['rows'] = [];
  const place: SheetLayout['place'] = [];
  const firstRow = new Map<number, number>(), reps = new Map<string, number>();
  for (const im of r.images) { // images are sorted by pair
    const key = `${im.pair}\u0000${im.setting}`;
    const rep = reps.get(key) ?? 0;
    reps.set(key, rep + 1);
    if (!firstRow.has(im.pair)) firstRow.set(im.pair, rows.length);
    const row = firstRow.get(im.pair)! + rep;
    while (rows.length <= row) rows.push({ pair: im.pair, rep: rows.length - firstRow.get(im.pair)! });
    place.push({ row, col: col.get(im.setting)! });
  }
  const ids = r.pairs.map((p) => p.id.slice(0, MAX_LABEL_CHARS));
  const labelW = textWidth(ids.reduce((a, b) => (b.length > a.length ? b : a), '')) + 2 * PAD;
  const cellW = Math.max(thumb, MIN_CELL_W), cellH = thumb + PAD + TEXT_LINES * LINE;
  const headerH = PAD + LINE;
  return {
    width: labelW + r.settings.length * (cellW + PAD) + PAD,
    height: headerH + rows.length * (cellH + PAD) + PAD,
    thumb, cellW, cellH, labelW, headerH, rows, place,
  };
}

const cellX = (L: SheetLayout, col: number) => L.labelW + PAD + col * (L.cellW + PAD);
const cellY = (L: SheetLayout, row: number) => L.headerH + PAD + row * (L.cellH + PAD);

/** Draws the sheet; `read` loads an image by its report path. Returns the PNG and the image boxes. */
export function contactSheet(r: Report, read: (file: string) => RgbImage, thumb: number): { png: Uint8Array; cells: CellBox[]; width: number; height: number } {
  const L = layout(r, thumb);
  const img: RgbImage = { width: L.width, height: L.height, rgb: new Uint8Array(L.width * L.height * 3).fill(255) };
  r.settings.forEach((s, c) => drawText(img, s.tag, cellX(L, c), PAD, INK, { maxWidth: L.cellW }));
  const pairs = new Map(r.pairs.map((p) => [p.index, p]));
  L.rows.forEach((row, i) => {
    if (row.rep === 0) drawText(img, pairs.get(row.pair)!.id.slice(0, MAX_LABEL_CHARS), PAD, cellY(L, i) + PAD, INK);
  });
  const cells: CellBox[] = [];
  r.images.forEach((im, i) => {
    const { row, col } = L.place[i];
    const x0 = cellX(L, col), y0 = cellY(L, row);
    const t = thumbnail(read(im.file), thumb);
    const x = x0 + Math.floor((L.cellW - t.width) / 2), y = y0 + Math.floor((thumb - t.height) / 2);
    for (let yy = 0; yy < t.height; yy++) img.rgb.set(t.rgb.subarray(yy * t.width * 3, (yy + 1) * t.width * 3), ((y + yy) * L.width + x) * 3);
    cells.push({ image: i, x, y, width: t.width, height: t.height });
    const ty = y0 + thumb + PAD;
    drawText(img, `C+ ${im.clip_pos.toFixed(3)}`, x0, ty, INK, { maxWidth: L.cellW });
    drawText(img, im.clip_neg === null ? 'C- NONE' : `C- ${im.clip_neg.toFixed(3)}`, x0, ty + LINE, INK, { maxWidth: L.cellW });
    if (im.removed !== null && im.p_negative !== null) {
      drawText(img, `${im.removed ? 'REMOVED' : 'PRESENT'} ${Math.round(100 * im.p_negative)}%`, x0, ty + 2 * LINE, im.removed ? GREEN : RED, { maxWidth: L.cellW });
    }
  });
  const png = encodePng(img, [['Title', 'nasa-engine eval contact sheet'], ['Software', 'nasa-engine']]);
  return { png, cells, width: L.width, height: L.height };
}
