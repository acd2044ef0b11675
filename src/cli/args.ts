// Tiny argument parser shared by the CLI commands: declared options only, so a typo
// is an error naming the option instead of being silently ignored.
import { EngineError } from '../errors.ts';

export interface OptSpec {
  [name: string]: { alias?: string; type: 'string' | 'number' | 'boolean'; multiple?: boolean };
}

export interface Parsed {
  positional: string[];
  opts: Record<string, string | number | boolean | string[] | undefined>;
}

export function parseArgs(cmd: string, argv: string[], spec: OptSpec): Parsed {
  const byAlias = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.alias) byAlias.set(s.alias, name);
  const out: Parsed = { positional: [], opts: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      out.positional.push(a);
      continue;
    }
    let key = a.startsWith('--') ? a.slice(2) : (byAlias.get(a.slice(1)) ?? a.slice(1));
    let inline: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) [key, inline] = [key.slice(0, eq), key.slice(eq + 1)];
    const s = spec[key];
    if (!s) throw new EngineError(`${cmd}: unknown option '${a}' (known: ${Object.keys(spec).map((k) => '--' + k).join(', ')})`);
    if (s.type === 'boolean') {
      out.opts[key] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new EngineError(`${cmd}: option --${key} needs a value`);
    if (s.type === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new EngineError(`${cmd}: option --${key} expects a number, got '${v}'`);
      out.opts[key] = n;
    } else if (s.multiple) {
      ((out.opts[key] as string[] | undefined) ?? (out.opts[key] = [] as string[]) as string[]).push(v);
    } else out.opts[key] = v;
  }
  return out;
}
