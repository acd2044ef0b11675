// torch / numpy noise reproduction, checked against values printed by PyTorch (rng_goldens.ts)
// and against the fixture's latents (numpy RandomState(1801).randn(4,4,8,8), 1024 values).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Mt19937, NumpyRandomState, TorchGenerator, fmaf, noiseSource, parseNoiseKind } from '../../src/pipeline/rng.ts';
import { EngineError } from '../../src/errors.ts';
import { FIXTURES, readCase, readFixtureTensors } from '../util/fixture.ts';
import * as G from './rng_goldens.ts';

/** Bit-exact float32 comparison; on failure names the first differing index and both values. */
function assertExact(name: string, got: Float32Array, exp: readonly number[]): void {
  assert.is(got.length, exp.length, `${name}: length`);
  let bad = 0, first = -1;
  for (let i = 0; i < exp.length; i++) if (got[i] !== Math.fround(exp[i])) { bad++; if (first < 0) first = i; }
  if (bad) assert.unreachable(`${name}: ${bad} of ${exp.length} differ; first at [${first}]: got ${got[first]}, expected ${Math.fround(exp[first])}`);
}

/** |got - exp| <= atol everywhere (for goldens printed with fewer digits); returns bad indices. */
function badIndices(got: Float32Array, exp: readonly number[], atol: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < exp.length; i++) if (!(Math.abs(got[i] - exp[i]) <= atol)) out.push(i);
  return out;
}

test('mt19937 matches the reference sequence (10000th output of seed 5489 is 4123659995)', () => {
  const mt = new Mt19937(5489);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = mt.next();
  assert.is(v, 4123659995);
});

test('numel < 16: torch.manual_seed(0); randn(4,3); randn(3) (cached Box-Muller sample carried across calls)', () => {
  const g = new TorchGenerator(0);
  assertExact('randn(4,3)', g.randn(12), G.SEED0_SCALAR_12_THEN_3[0]);
  assertExact('randn(3)', g.randn(3), G.SEED0_SCALAR_12_THEN_3[1]);
  assertExact('randn(4) of seed 0', new TorchGenerator(0).randn(4), G.SEED0_SCALAR_12_THEN_3[0].slice(0, 4));
});

test("numel >= 16, AVX2 with FMA ('torch'): seed 42, randn(64) twice = 128 published values bit for bit", () => {
  const g = new TorchGenerator(42, 'torch');
  const got = new Float32Array(128);
  got.set(g.randn(64), 0);
  got.set(g.randn(64), 64);
  assertExact('seed 42', got, G.SEED42_AVX2_FMA_64_THEN_64);
  assertExact('one randn(128) call', new TorchGenerator(42).randn(128), G.SEED42_AVX2_FMA_64_THEN_64);
});

test("numel >= 16, AVX2 without FMA ('torch-nofma'): seed 42, 96 published values; the two builds differ at [4] and [90]", () => {
  const nofma = new TorchGenerator(42, 'torch-nofma').randn(96);
  assert.equal(badIndices(nofma, G.SEED42_AVX2_NOFMA_96, 5.1e-9), [], 'torch-nofma vs the no-FMA build');
  const fma = new TorchGenerator(42, 'torch').randn(96);
  assert.equal(badIndices(fma, G.SEED42_AVX2_NOFMA_96, 5.1e-9), [4, 90], 'the FMA variant must differ exactly where the builds do');
});

test('numel % 16 != 0: the last 16 values are redrawn (seed 0, 120 values, both AVX2 variants)', () => {
  assertExact('torch', new TorchGenerator(0, 'torch').randn(120), G.SEED0_TAIL_120);
  assertExact('torch-nofma', new TorchGenerator(0, 'torch-nofma').randn(120), G.SEED0_TAIL_120);
  // the first 16 equal randn(16)'s: only the tail block changes
  assertExact('prefix', new TorchGenerator(0).randn(16), G.SEED0_TAIL_120.slice(0, 16));
});

test("numel >= 16, non-AVX2 build ('torch-scalar'): seed 42 first 6 values", () => {
  assertExact('torch-scalar', new TorchGenerator(42, 'torch-scalar').randn(64).subarray(0, 6), G.SEED42_SCALAR_FILL_FIRST6);
});

test("'numpy' reproduces the fixture's latents: RandomState(1801).randn(4,4,8,8) bit for bit", () => {
  const c = readCase(join(FIXTURES, 'sd21-turbo-tiny.case'));
  assert.is(c.oracle.spec.case.noise_seed, 1801);
  const latents = readFixtureTensors(join(FIXTURES, 'sd21-turbo-tiny.case', 'io.safetensors')).get('latents')!;
  assertExact('latents', new NumpyRandomState(1801).randn(latents.data.length), latents.data);
  assertExact('via noiseSource', noiseSource('numpy', 1801).randn(1024), latents.data);
});

test('seeds: low 32 bits for torch (negative seeds two-complement), range checks, same seed same noise', () => {
  const a = new TorchGenerator(2 ** 32 + 7).randn(32), b = new TorchGenerator(7).randn(32);
  assert.equal(Array.from(a), Array.from(b));
  assert.equal(Array.from(new TorchGenerator(-1).randn(20)), Array.from(new TorchGenerator(2 ** 32 - 1).randn(20)));
  assert.equal(Array.from(noiseSource('torch', 5).randn(100)), Array.from(noiseSource('torch', 5).randn(100)));
  assert.throws(() => new TorchGenerator(1.5), (e: unknown) => e instanceof EngineError && /integer/.test(e.message));
  assert.throws(() => new NumpyRandomState(2 ** 32), (e: unknown) => e instanceof EngineError && /2\^32/.test(e.message));
  assert.throws(() => parseNoiseKind('philox'), (e: unknown) => e instanceof EngineError && /torch, torch-nofma, torch-scalar, numpy/.test(e.message));
  assert.is(parseNoiseKind('numpy'), 'numpy');
});

test('fmaf rounds once where a double computation double-rounds onto a float32 tie', () => {
  // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 is exactly halfway between two float32 values; adding
  // +-2^-60 must break the tie, but a double sum drops the 2^-60 and ties to even (down).
  const a = 1 + 2 ** -12, tie = 1 + 2 ** -11 + 2 ** -24;
  assert.is(a * a, tie);
  assert.is(Math.fround(a * a + 2 ** -60), 1 + 2 ** -11, 'the naive double computation rounds down');
  assert.is(fmaf(a, a, 2 ** -60), 1 + 2 ** -11 + 2 ** -23, 'fma rounds up');
  assert.is(fmaf(a, a, -(2 ** -60)), 1 + 2 ** -11, 'fma rounds down');
  assert.is(fmaf(-a, a, -(2 ** -60)), -(1 + 2 ** -11 + 2 ** -23), 'negative side');
  assert.is(fmaf(1.5, 2.25, -3), 0.375);
  assert.is(fmaf(a, a, 0), 1 + 2 ** -11, 'an exact tie with nothing below it rounds to even');
});

test.run();
