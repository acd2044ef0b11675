// Runtime scalars (Graph.scalar, Executable.setScalars): one compiled graph, new values
// per run, nothing rebuilt; unset, unknown or non-finite values are clear errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph } from '../../src/graph/graph.ts';
import { Executable } from '../../src/graph/run.ts';
import { scale } from '../../src/ops/index.ts';
import { device } from '../util/gpu.ts';

const rejects = async (f: () => unknown, re: RegExp) => {
  try {
    await f();
  } catch (e: any) {
    return assert.match(e.message, re);
  }
  assert.unreachable(`expected ${re}`);
};

for (const validate of [false, true]) {
  test(`a scalar changes between runs of one executable${validate ? ' (validate mode: the CPU reference reads it too)' : ''}`, async () => {
    const dev = await device();
    const g = new Graph('f32');
    const s = g.scalar('s');
    assert.is(g.scalar('s'), s, 'one scalar per name');
    g.output('y', scale(scale(g.input('x', [5]), s), s, 1)); // (x s) s + 1
    const ex = await Executable.compile(dev, g, { validate });
    try {
      const x = [1, 2, 3, -4, 0.5];
      await rejects(() => ex.run({ x }), /runtime scalar\(s\) 's' have no value/);
      ex.setScalars({ s: 1 });
      await ex.run({ x }); // bind groups are made at the first run (the arena is allocated then)
      const made = dev.counters.bindGroupsCreated;
      for (const v of [2, -0.5, 0]) {
        ex.setScalars({ s: v });
        assert.equal([...(await ex.run({ x }))['y']], x.map((a) => a * v * v + 1));
      }
      assert.is(dev.counters.bindGroupsCreated, made, 'no bind group created for a new value');
      assert.throws(() => ex.setScalars({ t: 1 }), /unknown runtime scalar 't'; the graph reads: s/);
      assert.throws(() => ex.setScalars({ s: Number.NaN }), /runtime scalar 's' must be a finite number/);
    } finally {
      ex.destroy();
    }
  });
}

test.run();
