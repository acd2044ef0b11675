// Reads config.json keys with their upstream defaults; a value of the wrong kind or one the
// engine does not implement fails naming the file and the key.
import { EngineError } from '../errors.ts';

export class Reader {
  constructor(readonly file: string, readonly cfg: Record<string, any>) {}

  private bad(key: string, want: string): never {
    throw new EngineError(`${this.file}: "${key}" must be ${want}, got ${JSON.stringify(this.cfg[key])}`);
  }
  int(key: string, dflt?: number): number {
    const v = this.cfg[key] ?? dflt;
    if (!Number.isSafeInteger(v) || v < 0) this.bad(key, 'a non-negative integer');
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
    const v = this.cfg[key] === undefined ? dflt : this.cfg[key];
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
  /** Keys the engine does not implement must hold their "off" value. */
  off(key: string, offValues: unknown[]): void {
    const v = this.cfg[key];
    const isOff = (x: unknown) => offValues.some((o) => o === x);
    // Some configs give a per-block list of the same flag.
    if (v !== undefined && !(Array.isArray(v) ? v.every(isOff) : isOff(v))) {
      throw new EngineError(`${this.file}: "${key}" = ${JSON.stringify(v)} is not supported (only ${offValues.map((o) => JSON.stringify(o)).join(' or ')})`);
    }
  }
}
