// Building graphs must not load Dawn: ops take grid helpers and adapter facts from the
// Dawn-free src/gpu/facts.ts, and only src/gpu/device.ts imports `webgpu` (which also
// installs WebGPU globals). A child process imports the op, graph and model modules,
// builds a graph, and reports whether the native module was loaded; then it imports
// device.ts, which must load it (so the check itself can fail).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

const probe = `
const loaded = () => process.report.getReport().sharedObjects.some((s) => /dawn\\.node$/.test(s));
const root = process.cwd() + '/src/';
for (const m of ['ops/index.ts', 'graph/graph.ts', 'graph/plan.ts', 'graph/flops.ts', 'models/unet.ts', 'models/vae.ts', 'models/clip.ts', 'models/t5.ts', 'models/pixart.ts']) await import(root + m);
const { Graph } = await import(root + 'graph/graph.ts');
const { plan } = await import(root + 'graph/plan.ts');
const ops = await import(root + 'ops/index.ts');
const g = new Graph('f16');
const x = g.input('x', [1, 4, 8, 8]);
g.output('y', ops.groupNorm(ops.conv2d(x, g.input('w', [4, 4, 3, 3]), null, { padding: 1 }), 2, g.input('s', [4]), g.input('b', [4]), 1e-5, { silu: true }));
plan(g);
const before = { dawn: loaded(), globals: typeof globalThis.GPUBufferUsage !== 'undefined' };
await import(root + 'gpu/device.ts');
console.log(JSON.stringify({ before, after: { dawn: loaded(), globals: typeof globalThis.GPUBufferUsage !== 'undefined' } }));
`;

test('importing ops, graph and model modules and building a graph does not load Dawn', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.before, { dawn: false, globals: false }, 'graph building loaded Dawn');
  assert.equal(out.after, { dawn: true, globals: true }, 'the probe does not see Dawn loading (the check would prove nothing)');
});

test.run();
