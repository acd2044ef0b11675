// `--batch-file`: many prompt pairs in one run (NegOpt-style datasets of prompt /
// negative prompt). Two formats, chosen by extension (.jsonl / .ndjson / .json -> JSONL,
// .csv -> CSV), otherwise by the first non-blank character ('{' means JSONL):
//   JSONL  one object per line: {"prompt": ..., "negative" | "negative_prompt": ...,
//          "seed": int, "alpha": number >= 0, "scale": number, "id": string | number}
//   CSV    RFC 4180: a header row naming the same columns, comma-separated, fields quoted
//          with "..." when they hold commas, quotes ("" inside) or line breaks.
// A missing negative (absent key, or an empty unquoted CSV field) means "no negative
// prompt"; an explicit empty string ("" in JSON, a quoted "" in CSV) is an empty negative
// prompt, which diffusers encodes like any prompt. Every error names the file and line.
import { readFileSync } from 'node:fs';
import { EngineError } from '../errors.ts';

export interface BatchEntry {
  prompt: string;
  /** undefined: no negative prompt; '' : an explicitly empty one. */
  negative?: string;
  seed?: number;
  alpha?: number;
  scale?: number;
  id?: string;
  /** 1-based line in the file where the entry starts. */
  line: number;
}

export type BatchFormat = 'jsonl' | 'csv';
const KEYS = ['prompt', 'negative', 'negative_prompt', 'seed', 'alpha', 'scale', 'id'];

function fail(file: string, line: number, msg: string): never {
  throw new EngineError(`${file}:${line}: ${msg}`);
}

// Turn raw key/value pairs into an entry, checking names and types.
function toEntry(file: string, line: number, fields: Map<string, unknown>): BatchEntry {
  for (const k of fields.keys()) {
    if (!KEYS.includes(k)) fail(file, line, `unknown field '${k}' (accepted: ${KEYS.join(', ')})`);
  }
  const prompt = fields.get('prompt');
  if (typeof prompt !== 'string') fail(file, line, prompt === undefined ? "missing 'prompt'" : "'prompt' must be a string");
  if (fields.get('negative') !== undefined && fields.get('negative_prompt') !== undefined) {
    fail(file, line, "give 'negative' or 'negative_prompt', not both");
  }
  const neg = fields.get('negative') ?? fields.get('negative_prompt');
  if (neg !== undefined && typeof neg !== 'string') fail(file, line, "'negative' must be a string");
  const entry: BatchEntry = { prompt, line };
  if (neg !== undefined) entry.negative = neg as string;
  const num = (key: 'seed' | 'alpha' | 'scale'): number | undefined => {
    let v = fields.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      if (v.trim() === '' || !Number.isFinite(Number(v))) fail(file, line, `'${key}' must be a number, got '${v}'`);
      v = Number(v);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, line, `'${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const seed = num('seed'), alpha = num('alpha'), scale = num('scale');
  if (seed !== undefined) {
    if (!Number.isSafeInteger(seed)) fail(file, line, `'seed' must be an integer, got ${seed}`);
    entry.seed = seed;
  }
  if (alpha !== undefined) {
    if (alpha < 0) fail(file, line, `'alpha' must be >= 0, got ${alpha}`);
    entry.alpha = alpha;
  }
  if (scale !== undefined) entry.scale = scale;
  const id = fields.get('id');
  if (id !== undefined) {
    if (typeof id !== 'string' && typeof id !== 'number') fail(file, line, "'id' must be a string or number");
    entry.id = String(id);
  }
  return entry;
}

function parseJsonl(text: string, file: string): BatchEntry[] {
  const out: BatchEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (e) {
      fail(file, i + 1, `invalid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(file, i + 1, 'expected a JSON object per line');
    const fields = new Map<string, unknown>();
    for (const [k, v] of Object.entries(obj)) if (v !== null) fields.set(k, v);
    out.push(toEntry(file, i + 1, fields));
  }
  return out;
}

interface CsvField { text: string; quoted: boolean }
interface CsvRecord { fields: CsvField[]; line: number }

/** RFC 4180 records (CRLF or LF line ends); blank lines are skipped. */
export function parseCsvRecords(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = 0, line = 1;
  const n = text.length;
  while (i < n) {
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) { // blank line
      i += text[i] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    const start = line;
    const fields: CsvField[] = [];
    for (;;) {
      let value = '', quoted = false;
      if (text[i] === '"') {
        quoted = true;
        const openLine = line;
        i++;
        for (;;) {
          if (i >= n) fail(file, openLine, 'unterminated quoted field');
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') { value += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') fail(file, line, 'unexpected text after a closing quote');
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') fail(file, line, 'a quote inside an unquoted field (quote the whole field and double the quote)');
          value += text[i++];
        }
      }
      fields.push({ text: value, quoted });
      if (i < n && text[i] === ',') { i++; continue; }
      if (text[i] === '\r') {
        if (text[i + 1] !== '\n') fail(file, line, 'a bare CR line ending (use LF or CRLF)');
        i++;
      }
      if (text[i] === '\n') { i++; line++; }
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}

function parseCsv(text: string, file: string): BatchEntry[] {
  const records = parseCsvRecords(text, file);
  if (records.length === 0) throw new EngineError(`${file}: empty CSV (expected a header row naming 'prompt' and optional columns)`);
  const header = records[0].fields.map((f) => f.text.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (!KEYS.includes(h)) fail(file, records[0].line, `unknown column '${h}' in the header (accepted: ${KEYS.join(', ')})`);
    if (seen.has(h)) fail(file, records[0].line, `column '${h}' appears twice in the header`);
    seen.add(h);
  }
  if (!seen.has('prompt')) fail(file, records[0].line, "the header has no 'prompt' column");
  return records.slice(1).map((r) => {
    if (r.fields.length !== header.length) fail(file, r.line, `${r.fields.length} fields, the header has ${header.length}`);
    const fields = new Map<string, unknown>();
    r.fields.forEach((f, k) => {
      if (f.text !== '' || f.quoted) fields.set(header[k], f.text); // empty unquoted cell = absent
    });
    return toEntry(file, r.line, fields);
  });
}

export function detectFormat(file: string, text: string): BatchFormat {
  const lower = file.toLowerCase();
  if (/\.(jsonl|ndjson|json)$/.test(lower)) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** Parse batch-file text; `file` is used for format detection and error messages. */
export function parseBatchText(text: string, file: string, format?: BatchFormat): BatchEntry[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 byte order mark
  const fmt = format ?? detectFormat(file, text);
  const entries = fmt === 'jsonl' ? parseJsonl(text, file) : parseCsv(text, file);
  if (entries.length === 0) throw new EngineError(`${file}: no prompts in the batch file`);
  return entries;
}

export function readBatchFile(path: string, format?: BatchFormat): BatchEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError(code === 'ENOENT' ? `${path}: no such batch file` : `${path}: cannot read (${(e as Error).message})`);
  }
  return parseBatchText(text, path, format);
}
