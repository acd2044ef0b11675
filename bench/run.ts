// Runs the kernel benchmarks: `npm run bench -- [names] [--json] [--quick] [--filter s]`.
// See bench/harness.ts for what is measured and how a bench file is written.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getDevice } from '../src/gpu/device.ts';
import { EngineError } from '../src/errors.ts';
import { Harness } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function main(argv: string[]): Promise<void> {
  const names: string[] = [];
  const passthrough: string[] = [];
  let json = false, quick = false, filter: string | undefined;
  // Everything after a standalone script's name is its own (e.g. `e2e --model DIR --json out.json`).
  let standalone = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (standalone) passthrough.push(a);
    else if (a === '--json') json = true;
    else if (a === '--quick') quick = true;
    else if (a === '--filter') filter = argv[++i];
    else if (a.startsWith('-')) passthrough.push(a); // for standalone scripts named explicitly
    else {
      const n = a.replace(/\.bench\.ts$/, '');
      names.push(n);
      standalone = isStandalone(n);
    }
  }
  const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
  for (const n of names) {
    if (!existsSync(join(here, `${n}.bench.ts`))) throw new EngineError(`bench: no bench/${n}.bench.ts (have: ${all.join(', ')})`);
  }
  const chosen = names.length ? names : all;
  let h: Harness | null = null;
  for (const name of chosen) {
    const file = join(here, `${name}.bench.ts`);
    if (isStandalone(name)) {
      if (!names.length) {
        if (!json) console.log(`(skipping ${name}.bench.ts: standalone script; run \`npm run bench -- ${name}\`)`);
        continue;
      }
      const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...passthrough], { stdio: 'inherit' });
      if (r.status !== 0) process.exitCode = r.status ?? 1;
      continue;
    }
    h ??= new Harness(await getDevice(), { json, quick, filter });
    if (!json) console.log(`# ${name} on ${h.adapter}${quick ? ' (quick)' : ''}`);
    const mod = await import(pathToFileURL(file).href);
    await mod.bench(h);
  }
}

/** A bench file without an exported `bench` runs as its own script. */
function isStandalone(name: string): boolean {
  const file = join(here, `${name}.bench.ts`);
  return existsSync(file) && !/export\s+(async\s+)?function\s+bench\b/.test(readFileSync(file, 'utf8'));
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof EngineError) console.error(e.message);
  else console.error(e);
  process.exit(1);
});
