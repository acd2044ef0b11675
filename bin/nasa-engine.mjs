#!/usr/bin/env node
// `nasa-engine <command>` (package.json bin): the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
