// The `tokenize` command: --json output equals the pipeline goldens; errors are EngineErrors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/cli/tokenize.ts';
import { EngineError } from '../../src/errors.ts';
import { FIXTURES, readCase, readFixtureTensors, row } from '../util/fixture.ts';

async function capture(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log, write = process.stderr.write;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  process.stderr.write = (() => true) as typeof process.stderr.write; // truncation warnings
  try { await run(argv); } finally { console.log = log; process.stderr.write = write; }
  return lines.join('\n');
}

function promptsFile(prompts: string[]): string {
  const p = join(mkdtempSync(join(tmpdir(), 'cli-')), 'prompts.json');
  writeFileSync(p, JSON.stringify(prompts));
  return p;
}

test('--prompts-file --json on the SD2.1 tokenizer prints the golden padded ids', async () => {
  const cs = readCase(join(FIXTURES, 'clip-bpe'));
  const gold = readFixtureTensors(join(FIXTURES, 'clip-bpe', 'io.safetensors')).get('input_ids_sd2')!;
  const out = JSON.parse(await capture([join(FIXTURES, 'sd21-turbo-tiny', 'tokenizer'), '--prompts-file', promptsFile(cs.prompts), '--json']));
  assert.is(out.length, cs.prompts.length);
  out.forEach((ids: number[], i: number) => assert.equal(ids, row(gold, i), `prompt ${i}`));
});

test('--pixart --json on the T5 tokenizer prints the PixArt goldens', async () => {
  const dir = join(FIXTURES, 't5-tokenizer');
  const cs = readCase(dir);
  const gold = readFixtureTensors(join(dir, 'io.safetensors')).get('input_ids_pixart_lower_strip')!;
  const out = JSON.parse(await capture([dir, cs.prompts[4], cs.prompts[44], '--pixart', '--json']));
  assert.equal(out, [row(gold, 4), row(gold, 44)]);
});

test('human output lists ids and tokens; --max-length and --no-pad apply', async () => {
  const out = await capture([join(FIXTURES, 'clip-bpe'), 'a photograph', '--max-length', '5']);
  assert.match(out, /\(clip-bpe, 4 tokens, padded to 5 with id 49407\)/);
  assert.match(out, /ids: +49406 320 8853 49407/);
  assert.match(out, /"photograph<\/w>"/);
  assert.match(out, /padded to 5 with id 49407/);
  const json = JSON.parse(await capture([join(FIXTURES, 'clip-bpe'), 'a', '--json', '--no-pad']));
  assert.equal(json, [[49406, 320, 49407]]);
});

test('bad arguments are EngineErrors', async () => {
  const rejects = async (argv: string[], re: RegExp) => {
    try { await capture(argv); } catch (e) {
      assert.ok(e instanceof EngineError, String(e));
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`no error for ${argv.join(' ')}`);
  };
  const clip = join(FIXTURES, 'clip-bpe');
  await rejects([], /missing <tokenizer-folder>/);
  await rejects([clip], /no prompt given/);
  await rejects([clip, '--prompts-file', join(clip, 'nope.json')], /nope\.json does not exist/);
  await rejects([clip, '--prompts-file', join(clip, 'case.json')], /should hold a JSON array of strings/);
  await rejects([clip, 'x', '--pixart'], /--pixart needs a T5 tokenizer/);
  await rejects([clip, 'x', '--max-length', '1'], /max length must be an integer >= 2/);
});

test.run();
