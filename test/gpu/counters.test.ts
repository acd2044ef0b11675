// Device.counters: dispatches, submits, host bytes up/down, read-backs and the executor's
// engine-counted FLOPs grow by exactly what one graph run does; disable_robustness opens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device } from '../../src/gpu/device.ts';
import { Graph } from '../../src/graph/graph.ts';
import { Executable } from '../../src/graph/run.ts';
import { matmul } from '../../src/ops/matmul.ts';
import { device } from '../util/gpu.ts';

test('one graph run: its dispatches, one submit, inputs up, outputs down, its FLOPs', async () => {
  const dev = await device();
  const g = new Graph('f32');
  const a = g.input('a', [8, 16]), b = g.input('b', [16, 4]);
  g.output('y', matmul(a, b));
  const ex = await Executable.compile(dev, g);
  try {
    // The first run binds the graph to the arena's chunks; the one measured is the second.
    await ex.run({ a: new Float32Array(8 * 16), b: new Float32Array(16 * 4) });
    const before = { ...dev.counters };
    const out = await ex.run({ a: new Float32Array(8 * 16).fill(1), b: new Float32Array(16 * 4).fill(0.5) });
    assert.ok(out.y.every((v) => v === 8));
    const d = (k: keyof typeof before) => dev.counters[k] - before[k];
    assert.is(d('submits'), 1);
    assert.ok(d('dispatches') >= 1, `dispatches ${d('dispatches')}`);
    assert.is(d('bytesUploaded'), (8 * 16 + 16 * 4) * 4, 'the two inputs');
    assert.is(d('readbacks'), 1);
    assert.is(d('bytesReadBack'), 8 * 4 * 4, 'the output');
    assert.is(d('flops'), 2 * 8 * 16 * 4);
    assert.is(ex.flops, 2 * 8 * 16 * 4);
    assert.is(d('pipelinesCompiled') + d('bindGroupsCreated'), 0, 'a run builds nothing');
  } finally {
    ex.destroy();
  }
});

test('disable_robustness: the device opens with the toggle and still computes', async () => {
  const dev = await Device.open({ disableRobustness: true });
  try {
    assert.equal(dev.toggles, ['disable_robustness']);
    const g = new Graph('f32');
    g.output('y', matmul(g.input('a', [2, 3]), g.input('b', [3, 2])));
    const ex = await Executable.compile(dev, g);
    const out = await ex.run({ a: [1, 2, 3, 4, 5, 6], b: [1, 0, 0, 1, 1, 1] });
    assert.equal([...out.y], [4, 5, 10, 11]);
    ex.destroy();
  } finally {
    dev.destroy();
  }
  assert.equal((await device()).toggles, process.env.ENGINE_DISABLE_ROBUSTNESS === '1' ? ['disable_robustness'] : []);
});

test.run();
