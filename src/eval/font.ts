// A 5x7 bitmap font for the contact sheet's labels and scores (digits, A-Z, a little
// punctuation; lower case is drawn as upper case, anything else as '?'). Each glyph is 7
// rows of 5 columns separated by '|', '#' = ink.
import type { RgbImage } from './image_io.ts';

const G: Record<string, string> = {
  '0': ' ### |#   #|#  ##|# # #|##  #|#   #| ### ', '1': '  #  | ##  |  #  |  #  |  #  |  #  | ### ', '2': ' ### |#   #|    #|   # |  #  | #   |#####',
  '3': '#####|   # |  #  |   # |    #|#   #| ### ', '4': '   # |  ## | # # |#  # |#####|   # |   # ', '5': '#####|#    |#### |    #|    #|#   #| ### ',
  '6': '  ## | #   |#    |#### |#   #|#   #| ### ', '7': '#####|    #|   # |  #  | #   | #   | #   ', '8': ' ### |#   #|#   #| ### |#   #|#   #| ### ',
  '9': ' ### |#   #|#   #| ####|    #|   # | ##  ', A: ' ### |#   #|#   #|#####|#   #|#   #|#   #', B: '#### |#   #|#   #|#### |#   #|#   #|#### ',
  C: ' ### |#   #|#    |#    |#    |#   #| ### ', D: '###  |#  # |#   #|#   #|#   #|#  # |###  ', E: '#####|#    |#    |#### |#    |#    |#####',
  F: '#####|#    |#    |#### |#    |#    |#    ', G: ' ### |#   #|#    |# ###|#   #|#   #| ####', H: '#   #|#   #|#   #|#####|#   #|#   #|#   #',
  I: ' ### |  #  |  #  |  #  |  #  |  #  | ### ', J: '  ###|   # |   # |   # |   # |#  # | ##  ', K: '#   #|#  # |# #  |##   |# #  |#  # |#   #',
  L: '#    |#    |#    |#    |#    |#    |#####', M: '#   #|## ##|# # #|# # #|#   #|#   #|#   #', N: '#   #|#   #|##  #|# # #|#  ##|#   #|#   #',
  O: ' ### |#   #|#   #|#   #|#   #|#   #| ### ', P: '#### |#   #|#   #|#### |#    |#    |#    ', Q: ' ### |#   #|#   #|#   #|# # #|#  # | ## #',
  R: '#### |#   #|#   #|#### |# #  |#  # |#   #', S: ' ####|#    |#    | ### |    #|    #|#### ', T: '#####|  #  |  #  |  #  |  #  |  #  |  #  ',
  U: '#   #|#   #|#   #|#   #|#   #|#   #| ### ', V: '#   #|#   #|#   #|#   #|#   #| # # |  #  ', W: '#   #|#   #|#   #|# # #|# # #|# # #| # # ',
  X: '#   #|#   #| # # |  #  | # # |#   #|#   #', Y: '#   #|#   #| # # |  #  |  #  |  #  |  #  ', Z: '#####|    #|   # |  #  | #   |#    |#####',
  ' ': '     |     |     |     |     |     |     ', '.': '     |     |     |     |     | ##  | ##  ', ',': '     |     |     |     | ##  | ##  | #   ',
  '-': '     |     |     | ### |     |     |     ', '+': '     |  #  |  #  |#####|  #  |  #  |     ', ':': '     | ##  | ##  |     | ##  | ##  |     ',
  '/': '    #|    #|   # |  #  | #   |#    |#    ', '%': '##   |##  #|   # |  #  | #   |#  ##|   ##', '=': '     |     |#####|     |#####|     |     ',
  '(': '   # |  #  | #   | #   | #   |  #  |   # ', ')': ' #   |  #  |   # |   # |   # |  #  | #   ', '_': '     |     |     |     |     |     |#####',
  '#': ' # # | # # |#####| # # |#####| # # | # # ', '?': ' ### |#   #|    #|   # |  #  |     |  #  ', '<': '   # |  #  | #   |#    | #   |  #  |   # ',
  '>': ' #   |  #  |   # |    #|   # |  #  | #   ', "'": '  #  |  #  |     |     |     |     |     ', '*': '     |  #  |# # #| ### |# # #|  #  |     ',
};

export const GLYPH_W = 5, GLYPH_H = 7, ADVANCE = GLYPH_W + 1;

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length ? (text.length * ADVANCE - 1) * scale : 0;
}

/** Draws `text` with its top-left corner at (x, y), clipped to the image and to `maxWidth`. */
export function drawText(img: RgbImage, text: string, x: number, y: number, color: [number, number, number], opts: { scale?: number; maxWidth?: number } = {}): void {
  const s = opts.scale ?? 1, maxX = opts.maxWidth !== undefined ? x + opts.maxWidth : img.width;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i].toUpperCase();
    const g = G[ch] ?? G['?'];
    const gx = x + i * ADVANCE * s;
    if (gx + GLYPH_W * s > maxX) break;
    for (let r = 0; r < GLYPH_H; r++) {
      for (let c = 0; c < GLYPH_W; c++) {
        if (g[r * (GLYPH_W + 1) + c] !== '#') continue;
        for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) {
          const px = gx + c * s + dx, py = y + r * s + dy;
          if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
          img.rgb.set(color, (py * img.width + px) * 3);
        }
      }
    }
  }
}
