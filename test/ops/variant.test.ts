// The kernel variant policy (src/ops/variant.ts): defaults per adapter, precedence of the
// node option over the compile's overrides over the default, ENGINE_FORCE_VARIANT parsing
// (read by Executable.compile, not by encode), and clear errors for unknown names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.ts';
import type { AdapterFacts } from '../../src/gpu/facts.ts';
import { Graph } from '../../src/graph/graph.ts';
import { Executable } from '../../src/graph/run.ts';
import { groupNormWork } from '../../src/ops/group_norm.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { softmax } from '../../src/ops/softmax.ts';
import { defaultVariant, parseVariantOverrides, VARIANTS, variantFor, variantOverridesFromEnv, type VariantOp } from '../../src/ops/variant.ts';
import { device } from '../util/gpu.ts';

const cpu: AdapterFacts = { isSoftware: true, hasSubgroups: false, hasF16: true, maxWorkgroupStorage: 16384, maxBindingBytes: 2 ** 27 };
const gpu: AdapterFacts = { ...cpu, isSoftware: false, maxWorkgroupStorage: 32768 };
const isErr = (re: RegExp) => (e: unknown) => e instanceof EngineError && re.test(e.message);

test('defaults: barrier-free kernels on software adapters, shared-memory ones on GPUs', () => {
  const want: Record<Exclude<VariantOp, 'group_norm'>, [string, string]> = {
    matmul: ['reg', 'shared'], conv2d: ['winograd', 'gemm'], attention: ['reg', 'tiled'], nasa: ['reg', 'tiled'],
    softmax: ['row', 'wg'], layer_norm: ['row', 'wg'], rms_norm: ['row', 'wg'],
  };
  for (const [op, [sw, hw]] of Object.entries(want) as [VariantOp, [string, string]][]) {
    assert.is(defaultVariant(op, cpu), sw, `${op} on a software adapter`);
    assert.is(defaultVariant(op, gpu), hw, `${op} on a GPU`);
  }
  assert.equal(Object.keys(VARIANTS).sort(), [...Object.keys(want), 'group_norm'].sort(), 'every op with variants has a default');
  // With subgroups a software adapter's matmul shares loads within quads; GPUs keep shared.
  assert.is(defaultVariant('matmul', { ...cpu, hasSubgroups: true }), 'subgroup');
  assert.is(defaultVariant('matmul', { ...gpu, hasSubgroups: true }), 'shared');
  // group_norm weighs the work: SD's 320x64x64 / 32 groups is fused on lavapipe, split on a GPU.
  const sd = groupNormWork([1, 320, 64, 64], 32);
  assert.equal([sd.bg, sd.lu], [32, 10240]);
  assert.is(defaultVariant('group_norm', cpu, sd), 'fused');
  assert.is(defaultVariant('group_norm', gpu, sd), 'split');
  assert.is(defaultVariant('group_norm', gpu, groupNormWork([2, 1280, 8, 8], 32)), 'fused', 'small spans stay fused');
  assert.is(defaultVariant('group_norm', cpu, groupNormWork([1, 128, 256, 256], 1)), 'split', 'one huge group splits even on a CPU');
});

test('precedence: node option, then the compile overrides, then the default', () => {
  const ctx = { ...cpu, variants: parseVariantOverrides('matmul=shared') };
  assert.is(variantFor('matmul', ctx, undefined), 'shared');
  assert.is(variantFor('matmul', ctx, 'reg'), 'reg', 'the node option wins');
  assert.is(variantFor('conv2d', ctx, undefined), 'winograd', 'other ops keep their default');
});

test('ENGINE_FORCE_VARIANT syntax: op=variant, bare names for every op that has them, the first naming an op wins', () => {
  assert.equal(parseVariantOverrides(''), {});
  assert.equal(parseVariantOverrides(' matmul = shared , conv2d=gemm '), { matmul: 'shared', conv2d: 'gemm' });
  assert.equal(parseVariantOverrides('tiled'), { attention: 'tiled', nasa: 'tiled' });
  assert.equal(parseVariantOverrides('row,softmax=wg'), { softmax: 'row', layer_norm: 'row', rms_norm: 'row' });
  assert.equal(variantOverridesFromEnv({ ENGINE_FORCE_VARIANT: 'split' }), { group_norm: 'split' });
  assert.equal(variantOverridesFromEnv({}), {});
  assert.throws(() => parseVariantOverrides('matmul=tiled'), isErr(/^ENGINE_FORCE_VARIANT: matmul: unknown variant 'tiled' \(have reg, shared, subgroup\)/));
  assert.throws(() => parseVariantOverrides('add=fast'), isErr(/^ENGINE_FORCE_VARIANT: 'add' has no kernel variants/));
  assert.throws(() => parseVariantOverrides('other'), isErr(/^ENGINE_FORCE_VARIANT: no op has a variant 'other'/));
});

test('builders reject unknown variants naming the node', () => {
  const g = new Graph('f32');
  const x = g.input('x', [4, 8]);
  assert.throws(() => softmax(x, { variant: 'fast' as any }), isErr(/softmax.*unknown variant 'fast' \(have wg, row\)/));
  assert.throws(() => matmul(x, g.input('w', [8, 2]), { variant: 'row' as any }), isErr(/unknown variant 'row'/));
});

test('Executable.compile reads ENGINE_FORCE_VARIANT once; its `variants` option overrides the environment', async () => {
  const dev = await device();
  const build = () => {
    const g = new Graph('f32');
    g.output('y', matmul(g.input('a', [8, 8]), g.input('b', [8, 8])));
    return g;
  };
  const old = process.env.ENGINE_FORCE_VARIANT;
  try {
    process.env.ENGINE_FORCE_VARIANT = 'matmul=shared';
    const a = await Executable.compile(dev, build());
    process.env.ENGINE_FORCE_VARIANT = 'bogus';
    // Already compiled: a later change of the environment cannot reach its kernels.
    assert.equal(a.context.variants, { matmul: 'shared' });
    assert.is(a.context.isSoftware, dev.isSoftware);
    const y = await a.run({ a: new Float32Array(64).fill(1), b: new Float32Array(64).fill(2) });
    assert.ok(Array.from(y.y).every((v) => v === 16));
    a.destroy();
    await Executable.compile(dev, build()).then(() => assert.unreachable('a bad ENGINE_FORCE_VARIANT compiled'), (e) => assert.ok(isErr(/no op has a variant 'bogus'/)(e), String(e)));
    const b = await Executable.compile(dev, build(), { variants: { matmul: 'reg' } });
    assert.equal(b.context.variants, { matmul: 'reg' });
    b.destroy();
  } finally {
    if (old === undefined) delete process.env.ENGINE_FORCE_VARIANT;
    else process.env.ENGINE_FORCE_VARIANT = old;
  }
});

test.run();
