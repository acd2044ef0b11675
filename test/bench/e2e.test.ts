// The e2e benchmark on the embedded model: per-stage counters add up, a warm run builds
// nothing and dispatches the same work, the JSON is written; bad options get one error.
// Nothing here looks at time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { e2e, options } from '../../bench/e2e.bench.ts';

const DEFAULT = path.join(path.dirname(new URL(import.meta.url).pathname), '../../weights/default');

test('three runs on weights/default: stages, dispatches per UNet evaluation, warm runs build nothing', async () => {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-')), 'out.json');
  const lines: string[] = [];
  const out = await e2e(options(['--model', DEFAULT, '--dtype', 'f32', '--runs', '3', '--negative', 'blurry', '--json', json]), (l) => lines.push(l));
  assert.equal(out.runs[0].stages.map((s) => s.stage), ['text encode', 'denoise', 'decode']);
  const [cold, second, warm] = out.runs;
  for (const s of cold.stages) assert.ok(s.counts.dispatches > 0 && s.counts.flops > 0, `${s.stage}: ${JSON.stringify(s.counts)}`);
  for (const s of warm.stages) assert.ok(s.peakBytes! > 0, `${s.stage}: peak device memory ${s.peakBytes}`);
  assert.ok(lines.some((l) => /peak MiB/.test(l)), 'the table has the peak column');
  assert.ok(cold.stages.some((s) => s.counts.pipelinesCompiled > 0), 'the cold run compiles');
  // The UNet and VAE graphs compile after the text encoder ran and grow the shared arena,
  // so the second run rebinds (never recompiles) the graphs bound to the smaller chunks.
  for (const s of second.stages) {
    assert.is(s.counts.pipelinesCompiled, 0, `${s.stage}: second run compiles nothing`);
    assert.ok(s.counts.bindGroupsCreated <= cold.stages.find((c) => c.stage === s.stage)!.counts.bindGroupsCreated, `${s.stage}: rebinds at most once`);
  }
  for (const s of warm.stages) {
    assert.is(s.counts.pipelinesCompiled + s.counts.bindGroupsCreated, 0, `${s.stage}: warm run builds nothing`);
    assert.is(s.counts.dispatches, cold.stages.find((c) => c.stage === s.stage)!.counts.dispatches, `${s.stage}: same dispatches`);
  }
  assert.ok(warm.dispatchesPerUnetEval! > 0);
  assert.is(out.guidance, 'nasa');
  assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).runs.length, 3);
  assert.ok(lines.some((l) => /^dispatches per UNet evaluation: \d+/.test(l)), lines.join('\n'));
  console.log(`e2e weights/default nasa f32: ${warm.dispatchesPerUnetEval} dispatches per UNet evaluation`);
});

test('bad options: one clear error naming the option', () => {
  assert.throws(() => options([]), /--model DIR is required/);
  assert.throws(() => options(['--model', 'x', '--dtype', 'f8']), /--dtype must be f16 or f32, got 'f8'/);
  assert.throws(() => options(['--model', 'x', '--runs', '0']), /--runs must be a positive integer/);
});

test.run();
