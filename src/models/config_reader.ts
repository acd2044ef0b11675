// Reads config.json / scheduler_config.json keys with their upstream defaults; a value of the
// wrong kind or one the engine does not implement fails naming the file and the key. A null
// value means the default where null is not itself a choice (diffusers writes None as null).
// The one reader for model configs (configs.ts, pixart_configs.ts) and scheduler configs
// (src/pipeline/schedulers, as ConfigReader).
import { EngineError } from '../errors.ts';

export class Reader {
  constructor(readonly file: string, readonly cfg: Record<string, any>) {}

  private bad(key: string, want: string): never {
    throw new EngineError(`${this.file}: "${key}" must be ${want}, got ${JSON.stringify(this.cfg[key])}`);
  }
  int(key: string, dflt?: number, min = 0): number {
    const v = this.cfg[key] ?? dflt;
    if (!Number.isSafeInteger(v) || v < min) this.bad(key, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`);
    return v;
  }
  /** Like int, but 0 is rejected too (sizes that must exist). */
  posInt(key: string, dflt?: number): number {
    const v = this.cfg[key] ?? dflt;
    if (!Number.isSafeInteger(v) || v <= 0) this.bad(key, 'a positive integer');
    return v;
  }
  num(key: string, dflt?: number): number {
    const v = this.cfg[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.bad(key, 'a number');
    return v;
  }
  numOrNull(key: string): number | null {
    const v = this.cfg[key];
    return v === undefined || v === null ? null : this.num(key);
  }
  /** A number, or undefined where the key is absent or null. */
  optNum(key: string): number | undefined {
    return this.numOrNull(key) ?? undefined;
  }
  /** A list of numbers, or undefined where the key is absent or null. */
  numArray(key: string): number[] | undefined {
    const v = this.cfg[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) this.bad(key, 'a list of numbers or null');
    return v;
  }
  bool(key: string, dflt: boolean): boolean {
    const v = this.cfg[key] ?? dflt;
    if (typeof v !== 'boolean') this.bad(key, 'true or false');
    return v;
  }
  str<T extends string>(key: string, dflt: T | null, allowed: readonly (T | null)[]): T | null {
    return this.oneOf(key, dflt, allowed);
  }
  /** The key must hold one of `allowed` (undefined counts as `dflt`). */
  oneOf<T>(key: string, dflt: T, allowed: readonly T[]): T {
    const raw = this.cfg[key];
    const v = raw === undefined || (raw === null && !allowed.includes(null as T)) ? dflt : raw;
    if (!allowed.includes(v)) {
      throw new EngineError(`${this.file}: "${key}" = ${JSON.stringify(v)} is not supported (supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`);
    }
    return v;
  }
  strings(key: string, n?: number): string[] {
    const v = this.cfg[key];
    if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'string')) this.bad(key, 'a non-empty list of names');
    if (n !== undefined && v.length !== n) throw new EngineError(`${this.file}: "${key}" has ${v.length} entries, expected ${n} (one per block)`);
    return v;
  }
  ints(key: string): number[] {
    const v = this.cfg[key];
    if (!Array.isArray(v) || !v.length || !v.every((x) => Number.isSafeInteger(x) && x > 0)) this.bad(key, 'a non-empty list of positive integers');
    return v;
  }
  /** An int for every block, or a list with one entry per block. */
  perBlock(key: string, n: number, dflt?: number): number[] {
    const v = this.cfg[key] ?? dflt;
    if (Array.isArray(v)) {
      if (v.length !== n) throw new EngineError(`${this.file}: "${key}" has ${v.length} entries, expected ${n} (one per block)`);
      if (!v.every((x) => Number.isSafeInteger(x) && x > 0)) this.bad(key, 'positive integers (nested per-layer lists are not supported)');
      return [...v];
    }
    if (!Number.isSafeInteger(v) || v <= 0) this.bad(key, 'a positive integer or a list of them');
    return new Array(n).fill(v);
  }
  /** Keys the engine does not implement must hold their "off" value; `why` replaces "only <off values>". */
  off(key: string, offValues: unknown[], why?: string): void {
    const v = this.cfg[key];
    const isOff = (x: unknown) => offValues.some((o) => o === x);
    // Some configs give a per-block list of the same flag.
    if (v !== undefined && !(Array.isArray(v) ? v.every(isOff) : isOff(v))) {
      throw new EngineError(`${this.file}: "${key}" = ${JSON.stringify(v)} is not supported (${why ?? `only ${offValues.map((o) => JSON.stringify(o)).join(' or ')}`})`);
    }
  }
  /** A setting the engine does not implement must keep its default (null counts as the default). */
  unsupported(key: string, dflt: unknown, why: string): void {
    this.off(key, [dflt, null], why);
  }
}
