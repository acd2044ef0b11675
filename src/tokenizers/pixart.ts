// PixArt-alpha's caption preprocessing when clean_caption is off (or bs4/ftfy are missing):
// diffusers PixArtAlphaPipeline._text_preprocessing does `text.lower().strip()`.
// PixArt-alpha then tokenizes with T5 to max_sequence_length 120.
export const PIXART_MAX_LENGTH = 120;

// Python's str.strip() removes str.isspace() characters, a different set from JS trim().
const PY_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

export function pixartCaption(text: string): string {
  const s = text.toLowerCase();
  let a = 0, b = s.length;
  while (a < b && PY_SPACE.includes(s[a])) a++;
  while (b > a && PY_SPACE.includes(s[b - 1])) b--;
  return s.slice(a, b);
}
