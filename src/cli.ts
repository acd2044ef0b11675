#!/usr/bin/env -S npx tsx
// Command-line entry: `npx tsx src/cli.ts <command> [args]`. Each command lives in
// src/cli/<command>.ts and exports `run(argv: string[]): Promise<void>`; commands are
// imported lazily so `tokenize` never loads Dawn.
import { EngineError } from './errors.ts';

const commands: Record<string, string> = {
  generate: 'text prompt (+ negative prompt) -> PNG',
  eval: 'CLIP+ / CLIP- / removal scores of images vs prompt pairs -> report + contact sheet',
  forward: 'run one model component on input tensors (parity checks)',
  tokenize: 'prompt -> token ids',
  inspect: 'list the tensors of a safetensors file or model folder',
  convert: 'convert weights between formats and dtypes',
  adapter: 'print the WebGPU adapter the engine would use',
};

function usage(): string {
  const lines = Object.entries(commands).map(([c, d]) => `  ${c.padEnd(10)} ${d}`);
  // Compiled (the installed package's bin) or run from the sources with tsx.
  const prog = import.meta.url.endsWith('.ts') ? 'npx tsx src/cli.ts' : 'nasa-engine';
  return `usage: ${prog} <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
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
  performance.mark('cli:command-loaded'); // startup timeline (src/cli/startup.ts)
  await mod.run(rest);
}

// Exit explicitly (a live Dawn device would keep the process up), but only once piped
// stdout/stderr have flushed, or `inspect --json | jq` would see truncated output.
const flushed = () => Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', () => r(null)))));

main(process.argv.slice(2)).then(
  async () => {
    await flushed();
    process.exit(0);
  },
  async (err) => {
    if (err instanceof EngineError) console.error(`error: ${err.message}`);
    else console.error(err);
    await flushed();
    process.exit(1);
  },
);
