// --batch-file parsing: JSONL and RFC 4180 CSV into prompt pairs; "no negative" vs an
// explicitly empty one; every error names the file and the line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBatchText, parseCsvRecords, readBatchFile } from '../../src/pipeline/batchfile.ts';
import { EngineError } from '../../src/errors.ts';

const errAt = (re: RegExp) => (e: unknown) => e instanceof EngineError && re.test(e.message);

test('JSONL: fields, aliases, blank lines, null = absent, "" = explicit empty negative', () => {
  const text = [
    '{"prompt": "a cat", "negative": "dog", "seed": 7, "alpha": 0.2}',
    '',
    '{"prompt": "a house", "negative_prompt": "blurry, low quality", "scale": 1.5, "id": 12}',
    '{"prompt": "no negative"}',
    '{"prompt": "empty negative", "negative": ""}',
    '{"prompt": "null negative", "negative": null}',
  ].join('\n');
  assert.equal(parseBatchText(text, 'pairs.jsonl'), [
    { prompt: 'a cat', negative: 'dog', seed: 7, alpha: 0.2, line: 1 },
    { prompt: 'a house', negative: 'blurry, low quality', scale: 1.5, id: '12', line: 3 },
    { prompt: 'no negative', line: 4 },
    { prompt: 'empty negative', negative: '', line: 5 },
    { prompt: 'null negative', line: 6 },
  ]);
});

test('JSONL errors name file and line', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"prompt": "ok"}\n{"prompt": "x",}', /^p\.jsonl:2: invalid JSON/],
    ['{"prompt": "ok"}\n\n["a list"]', /^p\.jsonl:3: expected a JSON object per line/],
    ['{"negative": "dog"}', /^p\.jsonl:1: missing 'prompt'/],
    ['{"prompt": 5}', /^p\.jsonl:1: 'prompt' must be a string/],
    ['{"prompt": "a", "negtive": "b"}', /^p\.jsonl:1: unknown field 'negtive' \(accepted: prompt, negative, negative_prompt/],
    ['{"prompt": "a", "negative": "b", "negative_prompt": "c"}', /^p\.jsonl:1: give 'negative' or 'negative_prompt', not both/],
    ['{"prompt": "a", "seed": 1.5}', /^p\.jsonl:1: 'seed' must be an integer/],
    ['{"prompt": "a", "alpha": -0.1}', /^p\.jsonl:1: 'alpha' must be >= 0/],
    ['{"prompt": "a", "alpha": "big"}', /^p\.jsonl:1: 'alpha' must be a number, got 'big'/],
    ['\n\n', /^p\.jsonl: no prompts in the batch file/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseBatchText(text, 'p.jsonl'), errAt(re), re.source);
});

test('CSV (RFC 4180): quoted commas, doubled quotes, embedded line breaks, CRLF, BOM, trailing newline', () => {
  const text = '\ufeffprompt,negative_prompt,seed\r\n' +
    'a cat,dog,1\r\n' +
    '"a bowl of fruit, oil painting","apples, ""bananas""",2\r\n' +
    '"two\nlines",,3\r\n' +
    'explicit empty,"",\r\n';
  assert.equal(parseBatchText(text, 'set.csv'), [
    { prompt: 'a cat', negative: 'dog', seed: 1, line: 2 },
    { prompt: 'a bowl of fruit, oil painting', negative: 'apples, "bananas"', seed: 2, line: 3 },
    { prompt: 'two\nlines', seed: 3, line: 4 },
    { prompt: 'explicit empty', negative: '', line: 6 },
  ]);
  const recs = parseCsvRecords('a,"b"\n\n"c\n""d""",e', 'x.csv');
  assert.equal(recs.map((r) => [r.line, r.fields.map((f) => [f.text, f.quoted])]), [
    [1, [['a', false], ['b', true]]],
    [3, [['c\n"d"', true], ['e', false]]],
  ]);
});

test('CSV errors name file and line', () => {
  const cases: Array<[string, RegExp]> = [
    ['prompt,negative\n"unterminated,x\n', /^s\.csv:2: unterminated quoted field/],
    ['prompt,negative\na "quote",x\n', /^s\.csv:2: a quote inside an unquoted field/],
    ['prompt,negative\n"closed"junk,x\n', /^s\.csv:2: unexpected text after a closing quote/],
    ['prompt,negative\na,b\nc\n', /^s\.csv:3: 1 fields, the header has 2/],
    ['negative\nx\n', /^s\.csv:1: the header has no 'prompt' column/],
    ['prompt,nagative\nx,y\n', /^s\.csv:1: unknown column 'nagative'/],
    ['prompt,prompt\nx,y\n', /^s\.csv:1: column 'prompt' appears twice/],
    ['prompt,seed\n"a\nb",x\n', /^s\.csv:2: 'seed' must be a number, got 'x'/],
    ['prompt\n', /^s\.csv: no prompts in the batch file/],
    ['', /^s\.csv: empty CSV/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseBatchText(text, 's.csv'), errAt(re), re.source);
});

test('format detection by extension, then by content; reading files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-'));
  try {
    writeFileSync(join(dir, 'a.txt'), '{"prompt": "x"}\n');
    writeFileSync(join(dir, 'b.txt'), 'prompt\nx\n');
    writeFileSync(join(dir, 'c.ndjson'), '{"prompt": "y", "negative": "z"}');
    assert.equal(readBatchFile(join(dir, 'a.txt')), [{ prompt: 'x', line: 1 }]);
    assert.equal(readBatchFile(join(dir, 'b.txt')), [{ prompt: 'x', line: 2 }]);
    assert.equal(readBatchFile(join(dir, 'c.ndjson')), [{ prompt: 'y', negative: 'z', line: 1 }]);
    assert.equal(readBatchFile(join(dir, 'b.txt'), 'csv').length, 1);
    assert.throws(() => readBatchFile(join(dir, 'missing.csv')), errAt(/missing\.csv: no such batch file/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
