#!/usr/bin/env -S npx tsx
// Command-line entry: `npx tsx src/cli.ts <command> [args]`. Each command lives in
// src/cli/<command>.ts and exports `run(argv: string[]): Promise<void>`; commands are
// imported lazily so `tokenize` never loads Dawn.
import { EngineError } from './errors.ts';

const commands: Record<string, string> = {
  generate: 'text prompt (+ negative prompt) -> PNG',
  forward: 'run one model component on input tensors (parity checks)',
  tokenize: 'prompt -> token ids',
  inspect: 'list the tensors of a safetensors file or model folder',
  convert: 'convert weights between formats and dtypes',
  adapter: 'print the WebGPU adapter the engine would use',
};

function usage(): string {
  const lines = Object.entries(commands).map(([c, d]) => `  ${c.padEnd(10)} ${d}`);
  return `usage: npx tsx src/cli.ts <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `run a command with --help for its options`;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return;
  }
  if (!(cmd in commands)) throw new EngineError(`unknown command '${cmd}'\n${usage()}`);
  const mod = await import(`./cli/${cmd}.ts`);
  await mod.run(rest);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    if (err instanceof EngineError) console.error(`error: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
