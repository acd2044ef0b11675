// Many generations in one process keep device memory flat: read from the engine's own
// counters (src/gpu/memory.ts), on the embedded model (weights/default), alternating
// guidance modes and strengths so several cached graphs share the device arena.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MODEL } from '../../src/cli/generate.ts';
import { formatBytes } from '../../src/graph/plan.ts';
import { TextToImagePipeline, type GenerateOptions } from '../../src/pipeline/pipeline.ts';
import { device } from '../util/gpu.ts';

const N = Number(process.env.MEMORY_FLAT_RUNS ?? 200);
const WARMUP = 3; // every mode below compiled once

test(`${N} generations keep device memory flat (engine counters)`, async () => {
  const dev = await device();
  const before = dev.memory.snapshot();
  const pipe = TextToImagePipeline.load(DEFAULT_MODEL, { dtype: 'f32', device: dev });
  const modes: Partial<GenerateOptions>[] = [
    { guidance: { mode: 'nasa', alpha: 0.2 }, negatives: ['blurry'] },
    { guidance: { mode: 'none' }, negatives: null },
    { guidance: { mode: 'nasa', alpha: 0.7 }, negatives: ['dark'] },
  ];
  try {
    let after: ReturnType<typeof dev.memory.snapshot> | null = null;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const g0 = performance.now();
      const r = await pipe.generate({ prompts: ['a red apple'], seed: i, ...modes[i % modes.length] });
      assert.ok(r.times.peak('denoise')! > 0, 'the stage reports its peak device memory');
      if (process.env.MEMORY_FLAT_VERBOSE) console.log(i, (performance.now() - g0).toFixed(0), 'ms', r.times.format());
      const m = dev.memory.snapshot();
      if (i === WARMUP - 1) after = m;
      if (i >= WARMUP) {
        assert.is(m.total, after!.total, `generation ${i}: device bytes ${m.total} != ${after!.total} after warm-up`);
        assert.is(m.buffers, after!.buffers, `generation ${i}: ${m.buffers} live buffers != ${after!.buffers}`);
        assert.is(m.peakTotal, after!.peakTotal, `generation ${i}: peak grew to ${m.peakTotal}`);
      }
    }
    const m = dev.memory.snapshot();
    console.log(`  ${N} generations in ${((performance.now() - t0) / 1000).toFixed(1)} s: device holds ${formatBytes(m.total)} in ${m.buffers} buffers (peak ${formatBytes(m.peakTotal)}; weights ${formatBytes(m.current.weights)}, arena ${formatBytes(m.current.activations)}, staging now ${m.current.staging} B)`);
    assert.is(m.current.staging, 0, 'readback buffers are all freed');
  } finally {
    pipe.destroy();
  }
  await new Promise((r) => setTimeout(r, 0)); // cached graphs are destroyed as their compile promises settle
  const m = dev.memory.snapshot();
  assert.is(m.total, before.total, `after destroy the device holds ${formatBytes(m.total)}, before loading ${formatBytes(before.total)} (weights ${formatBytes(m.current.weights)}, arena ${formatBytes(m.current.activations)})`);
});

test.run();
