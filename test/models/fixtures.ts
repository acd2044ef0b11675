// Golden cases of ../shared/fixtures for the model tests: io tensors as host tensors, the
// case's tolerance rule (|got - exp| <= atol + 1e-3 |exp|, atol per output and dtype), and
// a comparison that checks `debug.*` intermediates first, in module order, so a mismatch
// is reported where it starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { toFloat32 } from '../../src/io/dtype.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import type { HostTensor, UNetInputs } from '../../src/models/index.ts';
import { closeReport } from '../util/compare.ts';
import { FIXTURES } from '../util/fixture.ts';

export const FIX = FIXTURES;
export const caseDir = (name: string) => path.join(FIX, name);

export interface Case {
  dir: string;
  json: Record<string, any>;
  io: Map<string, HostTensor>;
  /** Folder of the (first) model of the case. */
  modelDir: string;
}

export function loadCase(name: string): Case {
  const dir = caseDir(name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8'));
  const r = SafetensorsReader.open(path.join(dir, 'io.safetensors'));
  const io = new Map<string, HostTensor>();
  for (const n of r.names()) {
    const src = r.source(n);
    const v = toFloat32(src);
    io.set(n, { shape: [...src.shape], data: src.dtype === 'I64' ? Int32Array.from(v) : Float32Array.from(v) });
  }
  const model = Object.values(json.models as Record<string, { dir: string }>)[0];
  return { dir, json, io, modelDir: path.resolve(dir, model.dir) };
}

export function get(c: Case, name: string): HostTensor {
  const t = c.io.get(name);
  if (!t) throw new Error(`${c.json.case}: io.safetensors has no '${name}'`);
  return t;
}

export const RTOL = 1e-3;

export function atol(c: Case, output: string, dtype: 'f32' | 'f16'): number {
  const o = c.json.outputs[output];
  if (!o) throw new Error(`${c.json.case}: case.json has no output '${output}'`);
  return dtype === 'f32' ? o.atol_f32 : o.atol_f16;
}

/** Asserts one output against its golden under the case's rule; returns the max |diff|. */
export function expectClose(c: Case, label: string, got: HostTensor, golden: string, dtype: 'f32' | 'f16'): number {
  const exp = get(c, golden);
  assert.equal(got.shape, exp.shape, `${label}: shape [${got.shape}] != golden ${golden} [${exp.shape}]`);
  const tol = atol(c, golden, dtype);
  const r = closeReport(got.data, exp.data, tol, RTOL);
  if (r.worstExcess > 0) {
    const i = r.worstAt;
    assert.unreachable(`${c.json.case} ${label} (${dtype}) vs ${golden}: max |diff| ${r.maxAbs} at [${r.maxAt}]; worst vs tolerance at [${i}]: got ${got.data[i]}, expected ${exp.data[i]} (atol ${tol}, rtol ${RTOL})`);
  }
  return r.maxAbs;
}

/**
 * Compares every `debug.<path>` output we produced that the case has as `<prefix><path>`,
 * in case.json order (module order), before the final outputs: the first failure is the
 * first module that diverges.
 */
export function expectDebug(c: Case, out: Record<string, HostTensor>, prefix: string, dtype: 'f32' | 'f16'): string[] {
  const seen: string[] = [];
  for (const name of Object.keys(c.json.outputs)) {
    if (!name.startsWith(prefix)) continue;
    const mine = out[`debug.${name.slice(prefix.length)}`];
    if (!mine) continue;
    expectClose(c, `debug ${name}`, mine, name, dtype);
    seen.push(name);
  }
  return seen;
}

/** Prints one line of measured errors (kept short: tests are read in CI logs). */
export function note(msg: string): void {
  if (process.env.MODEL_TEST_VERBOSE) console.log(msg);
}

/** Asserts that `fn` rejects with an EngineError whose message matches `re`. */
export async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  let err: unknown = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error matching ${re}, but the call succeeded`);
  const e = err as Error;
  assert.is(e.name, 'EngineError', `expected an EngineError, got ${e.name}: ${e.message}`);
  assert.match(e.message, re);
}

/** The UNet inputs of a unet-* case (SDXL cases add text_embeds and time_ids). */
export function unetInputs(c: Case, sample = 'sample'): Omit<UNetInputs, 'timestep'> {
  const x: Omit<UNetInputs, 'timestep'> = { sample: get(c, sample), encoder_hidden_states: get(c, 'encoder_hidden_states') };
  if (c.io.has('text_embeds')) Object.assign(x, { text_embeds: get(c, 'text_embeds'), time_ids: get(c, 'time_ids') });
  return x;
}
