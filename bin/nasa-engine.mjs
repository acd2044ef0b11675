#!/usr/bin/env node
// `nasa-engine <command>` (package.json bin): the compiled CLI, plain Node, no TypeScript
// loader. In a git checkout build it first (`npm run build`) or run `npx tsx src/cli.ts`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('error: nasa-engine is not built (no dist/cli.js); run `npm run build` in its folder, or `npx tsx src/cli.ts` from a checkout');
  process.exit(1);
}
await import(cli.href);
