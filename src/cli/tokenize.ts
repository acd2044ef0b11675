// `tokenize`: prompt(s) -> token ids with the tokenizer of a diffusers tokenizer folder
// (CLIP BPE or T5 SentencePiece, detected from the files), padded/truncated as the
// pipelines do. Loads no GPU code.
import { existsSync, readFileSync } from 'node:fs';
import { EngineError } from '../errors.ts';
import { loadTokenizer, pixartCaption, PIXART_MAX_LENGTH } from '../tokenizers/index.ts';
import { parseArgs } from './args.ts';

const USAGE = `usage: npx tsx src/cli.ts tokenize <tokenizer-folder> [prompt ...] [options]

  <tokenizer-folder>     vocab.json + merges.txt (CLIP), or tokenizer.json / spiece.model (T5)
  --prompts-file FILE    JSON array of prompt strings (added after the prompts on the command line)
  --json                 print one JSON array of id arrays (padded as the pipeline pads them)
  --max-length N         pad/truncate to N tokens (default: the tokenizer's model_max_length,
                         ${PIXART_MAX_LENGTH} with --pixart)
  --pixart               PixArt-alpha caption path: lower-case + strip, max length ${PIXART_MAX_LENGTH}
  --no-pad               do not pad to the max length
  -h, --help             this text`;

export async function run(argv: string[]): Promise<void> {
  const { positional, opts } = parseArgs('tokenize', argv, {
    'prompts-file': { type: 'string' },
    json: { type: 'boolean' },
    'max-length': { type: 'number' },
    pixart: { type: 'boolean' },
    'no-pad': { type: 'boolean' },
    help: { alias: 'h', type: 'boolean' },
  });
  if (opts.help) { console.log(USAGE); return; }
  const [folder, ...prompts] = positional;
  if (!folder) throw new EngineError(`tokenize: missing <tokenizer-folder>\n${USAGE}`);
  if (opts['prompts-file'] !== undefined) prompts.push(...readPrompts(opts['prompts-file'] as string));
  if (prompts.length === 0) throw new EngineError('tokenize: no prompt given (pass it as an argument or use --prompts-file)');

  const tok = loadTokenizer(folder);
  const pixart = opts.pixart === true;
  if (pixart && tok.kind !== 't5-unigram') throw new EngineError(`tokenize: --pixart needs a T5 tokenizer, ${folder} holds a ${tok.kind} one`);
  const maxLength = (opts['max-length'] as number | undefined) ?? (pixart ? PIXART_MAX_LENGTH : tok.maxLength);
  const pad = opts['no-pad'] !== true;
  const encs = prompts.map((p) => tok.encode(pixart ? pixartCaption(p) : p, { maxLength, pad }));

  if (opts.json) {
    console.log(`[${encs.map((e) => `[${e.ids.join(',')}]`).join(',\n')}]`);
    return;
  }
  encs.forEach((e, i) => {
    const real = e.ids.filter((_, k) => e.attentionMask[k] === 1);
    const padNote = e.ids.length > real.length ? `, padded to ${e.ids.length} with id ${tok.padId}` : '';
    const cut = e.numTokensUntruncated > real.length ? `, TRUNCATED from ${e.numTokensUntruncated}` : '';
    console.log(`prompt ${i}: ${JSON.stringify(prompts[i])} (${tok.kind}, ${real.length} tokens${cut}${padNote})`);
    console.log(`  ids:    ${real.join(' ')}`);
    console.log(`  tokens: ${tok.decodeTokens(real).map((t) => JSON.stringify(t)).join(' ')}`);
  });
}

function readPrompts(path: string): string[] {
  if (!existsSync(path)) throw new EngineError(`tokenize: --prompts-file ${path} does not exist`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EngineError(`tokenize: --prompts-file ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'string')) {
    throw new EngineError(`tokenize: --prompts-file ${path} should hold a JSON array of strings`);
  }
  return v as string[];
}
