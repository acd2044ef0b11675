// Progress bar (TTY redraw vs plain lines, ETA from a fake clock) and per-stage timings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProgressBar, StageTimes, formatDuration } from '../../src/pipeline/progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 80, write: (s: string) => chunks.push(s) } };
}

test('formatDuration', () => {
  assert.equal([400, 9_950, 12_000, 185_000, 3_725_000].map(formatDuration), ['0.4s', '9.9s', '12s', '3m05s', '1h02m']);
  assert.is(formatDuration(NaN), '?');
});

test('plain lines when not a TTY, with ETA from the mean time per item', () => {
  let t = 0;
  const { chunks, stream } = sink(false);
  const bar = new ProgressBar(4, 'generate', stream, () => t);
  t = 2000; bar.tick(1, 'a cat');
  t = 4000; bar.tick();
  assert.is(bar.eta(), 4000);
  t = 8000; bar.tick(2);
  bar.finish();
  assert.equal(chunks, [
    'generate 1/4 (25%) ETA 6.0s a cat\n',
    'generate 2/4 (50%) ETA 4.0s\n',
    'generate 4/4 (100%)\n',
    'generate: 4/4 done in 8.0s\n',
  ]);
});

test('a TTY redraws one line in place and ends with a newline', () => {
  let t = 0;
  const { chunks, stream } = sink(true);
  const bar = new ProgressBar(2, 'gen', stream, () => t);
  t = 1000; bar.tick(1, 'x'.repeat(200));
  assert.ok(chunks[0].startsWith('\r[############............] gen 1/2 (50%) ETA 1.0s'));
  assert.ok(chunks[0].length <= 80, 'truncated to the terminal width');
  t = 2000; bar.tick();
  bar.finish();
  assert.ok(chunks[1].startsWith('\r[########################] gen 2/2 (100%)'));
  assert.ok(chunks[2].endsWith('\n') && chunks[3] === 'gen: 2/2 done in 2.0s\n');
});

test('StageTimes accumulates per stage in first-use order and formats a breakdown', async () => {
  let t = 0;
  const st = new StageTimes(() => t);
  await st.time('text encode', () => { t += 10; });
  await st.time('denoise', async () => { t += 80; });
  await st.time('decode', () => { t += 10; });
  await st.time('denoise', () => { t += 100; });
  st.add('decode', 0);
  assert.is(st.get('denoise'), 180);
  assert.is(st.total(), 200);
  assert.equal(st.entries(), [{ stage: 'text encode', ms: 10, calls: 1 }, { stage: 'denoise', ms: 180, calls: 2 }, { stage: 'decode', ms: 10, calls: 2 }]);
  assert.is(st.format(), 'text encode 10.0 ms (5%) | denoise 180.0 ms (90%) | decode 10.0 ms (5%) | total 200.0 ms');
  await st.time('fails', () => { t += 5; throw new Error('boom'); }).catch(() => undefined);
  assert.is(st.get('fails'), 5, 'time is recorded even when the stage throws');
});

test('StageTimes with a probe charges each stage what the counters grew by', async () => {
  const c = { dispatches: 0, bytes: 0 };
  const st = new StageTimes(() => 0, () => ({ ...c }));
  await st.time('encode', () => { c.dispatches += 3; c.bytes += 10; });
  await st.time('denoise', () => { c.dispatches += 5; });
  await st.time('denoise', () => { c.dispatches += 5; c.bytes += 1; });
  assert.equal(st.counts('encode'), { dispatches: 3, bytes: 10 });
  assert.equal(st.counts('denoise'), { dispatches: 10, bytes: 1 });
  assert.equal(st.counts('decode'), {});
  assert.equal(new StageTimes().counts('encode'), {}, 'no probe, no counts');
});

test.run();
