// Shared helpers for the io tests: fixture paths, scratch folders, hand-made files,
// and an assertion that a call fails with one clear EngineError line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.ts';
import { readAll, type WeightSource } from '../../src/io/safetensors.ts';
import type { WeightStore } from '../../src/io/store.ts';
import { FIXTURES } from '../util/fixture.ts';

export const FIX = FIXTURES;
export const TINY = path.join(FIX, 'sd21-turbo-tiny');
export const TINY_SINGLE = path.join(FIX, 'sd21-turbo-tiny.single.safetensors');

/** A fresh temp folder, removed when the test process exits. */
export function scratch(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `nasa-io-${tag}-`));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A safetensors file from a raw header object (or string) and data bytes, for bad-input cases. */
export function rawFile(dir: string, name: string, header: unknown, data: Uint8Array | number = 0, lenOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lenOverride ?? BigInt(json.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const p = path.join(dir, name);
  fs.writeFileSync(p, Buffer.concat([prefix, json, body]));
  return p;
}

/** fn must throw an EngineError whose message is one line and contains every part. */
export function throwsEngine(fn: () => unknown, ...parts: string[]): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof EngineError)) {
      assert.unreachable(`expected EngineError, got ${(e as Error)?.stack ?? e}`);
      throw e;
    }
    assert.not.match(e.message, /\n/, `error is not one line: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `error '${e.message}' should mention '${p}'`);
    return e.message;
  }
  assert.unreachable(`expected an EngineError mentioning ${parts.join(', ')}`);
  return '';
}

/** Every tensor of `want` is in `got` with the same dtype, shape and bytes. */
export function assertSameTensors(label: string, got: WeightStore, want: WeightStore, opts: { exactNames?: boolean } = {}): void {
  const wn = want.names().sort(), gn = got.names().sort();
  if (opts.exactNames !== false) assert.equal(gn, wn, `${label}: tensor names differ`);
  for (const n of wn) {
    assert.ok(got.has(n), `${label}: missing '${n}'`);
    const a: WeightSource = got.source(n), b = want.source(n);
    assert.is(a.dtype, b.dtype, `${label}: '${n}' dtype`);
    assert.equal(a.shape, b.shape, `${label}: '${n}' shape`);
    const x = readAll(a), y = readAll(b);
    const i = x.findIndex((v, k) => v !== y[k]);
    assert.ok(x.length === y.length && i < 0, `${label}: '${n}' bytes differ (first at byte ${i})`);
  }
}
