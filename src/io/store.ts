// Weight stores and scopes. A store maps tensor names to bytes on disk (one file, a
// sharded set, or a single-file checkpoint seen under diffusers names); a scope is a
// name prefix into a store, so a model part asks for `conv1.weight` under
// `down_blocks.0.resnets.0` and a missing or mis-shaped tensor fails with its full name.
import { EngineError } from '../errors.ts';
import { SafetensorsReader, type WeightSource } from './safetensors.ts';

export interface WeightStore {
  has(name: string): boolean;
  source(name: string): WeightSource;
  names(): string[];
  describe(): string; // e.g. folder/file, for errors
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** What a file reader offers (SafetensorsReader, GgufReader). */
export interface TensorFileReader {
  readonly path: string;
  has(name: string): boolean;
  source(name: string): WeightSource;
  names(): string[];
}

/** All tensors of one weights file (a path opens it as safetensors). */
export class FileStore implements WeightStore {
  readonly reader: TensorFileReader;
  constructor(pathOrReader: string | TensorFileReader) {
    this.reader = typeof pathOrReader === 'string' ? SafetensorsReader.open(pathOrReader) : pathOrReader;
  }
  has(name: string): boolean { return this.reader.has(name); }
  source(name: string): WeightSource {
    if (!this.reader.has(name)) throw new EngineError(`missing tensor '${name}' in ${this.describe()}`);
    return this.reader.source(name);
  }
  names(): string[] { return this.reader.names(); }
  describe(): string { return this.reader.path; }
}

/** Several stores seen as one (e.g. shards); a name must live in exactly one of them. */
export class UnionStore implements WeightStore {
  private readonly where = new Map<string, WeightStore>();
  constructor(private readonly parts: WeightStore[], private readonly label: string) {
    for (const p of parts) {
      for (const n of p.names()) {
        const prev = this.where.get(n);
        if (prev) throw new EngineError(`${label}: tensor '${n}' is in both ${prev.describe()} and ${p.describe()}`);
        this.where.set(n, p);
      }
    }
  }
  has(name: string): boolean { return this.where.has(name); }
  source(name: string): WeightSource {
    const s = this.where.get(name);
    if (!s) throw new EngineError(`missing tensor '${name}' in ${this.label}`);
    return s.source(name);
  }
  names(): string[] { return [...this.where.keys()]; }
  describe(): string { return this.label; }
}

function shapeMatches(got: readonly number[], want: readonly number[]): boolean {
  return got.length === want.length && want.every((d, i) => d < 0 || d === got[i]);
}

/**
 * A prefix into a store. `get` records what it hands out, so after a model is built
 * `unused()` lists tensors nobody asked for (a sign of a wrong config or checkpoint).
 */
export class WeightScope {
  readonly store: WeightStore;
  readonly prefix: string;
  private readonly used: Set<string>;

  constructor(store: WeightStore, prefix = '', used?: Set<string>) {
    this.store = store;
    this.prefix = prefix;
    this.used = used ?? new Set();
  }

  private full(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  sub(name: string | number): WeightScope {
    return new WeightScope(this.store, this.full(String(name)), this.used);
  }

  has(name: string): boolean {
    return this.store.has(this.full(name));
  }

  /** expectedShape may use -1 for "any size" in a dimension. */
  get(name: string, expectedShape?: number[]): WeightSource {
    const full = this.full(name);
    if (!this.store.has(full)) {
      const near = this.store.names().filter((n) => n.startsWith(this.prefix ? this.prefix + '.' : '')).slice(0, 3);
      const hint = near.length ? ` (under '${this.prefix}' it has e.g. ${near.map((n) => `'${n}'`).join(', ')})` : '';
      throw new EngineError(`missing tensor '${full}'${expectedShape ? ` ${fmtShape(expectedShape)}` : ''} in ${this.store.describe()}${hint}`);
    }
    const src = this.store.source(full);
    if (expectedShape && !shapeMatches(src.shape, expectedShape)) {
      const stored = src.stored && src.stored !== full ? ` (stored as '${src.stored}')` : '';
      throw new EngineError(`tensor '${full}'${stored} in ${src.file} has shape ${fmtShape(src.shape)}, expected ${fmtShape(expectedShape)}`);
    }
    this.used.add(full);
    return src;
  }

  /** Names under this scope's prefix that no `get` has returned yet. */
  unused(): string[] {
    const p = this.prefix ? this.prefix + '.' : '';
    return this.store.names().filter((n) => n.startsWith(p) && !this.used.has(n));
  }
}
