// End-to-end benchmark: one pipeline folder through loadPipeline + generate, with the
// per-stage breakdown the speed work needs (wall time, dispatches, submits, read-backs,
// pipelines compiled, bind groups, host bytes up/down, engine-counted GFLOP) from the
// device's counters (src/gpu/device.ts), sampled around each stage by StageTimes.
//
//   npm run bench -- e2e --model DIR [--size N] [--dtype f16|f32] [--steps N] [--runs N]
//       [--negative TEXT --guidance none|nasa|nag|vsf|cfg] [--f16 auto|native] [--no-robustness] [--json out.json]
// --f16 auto (default, what loadPipeline users get): f16 only where it pays (src/ops/f16_policy.ts).
//
// Run 1 pays compiles and weight uploads; run 2 also rebinds the graphs whose arena chunks
// grew when later stages compiled (bind groups only, no compiles); run 3 on shows the warm cost. The
// SD-Turbo folder at its real size comes from tools/make-random-sd-turbo.ts. Timings on a
// shared machine are noise: compare within one run (see bench/RESULTS.md).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EngineError } from '../src/errors.ts';
import { Device, getDevice } from '../src/gpu/device.ts';
import { loadPipeline } from '../src/pipeline/index.ts';
import type { GuidanceMode } from '../src/guidance/types.ts';
import type { F16Mode } from '../src/ops/f16_policy.ts';

/** peakBytes: the most device bytes (weights, arena, scratch, staging) held during the stage. */
interface StageRow { stage: string; ms: number; calls: number; peakBytes?: number; counts: Record<string, number> }
interface RunRow { run: number; totalMs: number; stages: StageRow[]; dispatchesPerUnetEval: number | null }

const USAGE = 'usage: npm run bench -- e2e --model DIR [--size N] [--dtype f16|f32] [--steps N] [--runs N] [--negative TEXT] [--guidance MODE] [--f16 auto|native] [--no-robustness] [--json out.json]';

export type E2EOptions = ReturnType<typeof options>;

export function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      model: { type: 'string' }, size: { type: 'string' }, dtype: { type: 'string' }, steps: { type: 'string' },
      runs: { type: 'string' }, prompt: { type: 'string' }, negative: { type: 'string' }, guidance: { type: 'string' },
      seed: { type: 'string' }, json: { type: 'string' }, 'no-robustness': { type: 'boolean' }, f16: { type: 'string' },
    },
  });
  if (!values.model) throw new EngineError(`e2e: --model DIR is required\n${USAGE}`);
  const int = (name: string, v: string | undefined, dflt: number | undefined) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new EngineError(`e2e: --${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const dtype = values.dtype ?? 'f16';
  if (dtype !== 'f16' && dtype !== 'f32') throw new EngineError(`e2e: --dtype must be f16 or f32, got '${dtype}'`);
  const f16 = values.f16 ?? 'auto';
  if (f16 !== 'auto' && f16 !== 'native') throw new EngineError(`e2e: --f16 must be auto or native, got '${values.f16}'`);
  return {
    f16: f16 as F16Mode, model: values.model, size: int('size', values.size, undefined), dtype: dtype as 'f16' | 'f32',
    steps: int('steps', values.steps, 1)!, runs: int('runs', values.runs, 1)!, seed: int('seed', values.seed, 1)!,
    prompt: values.prompt ?? 'a photograph of an astronaut riding a horse', negative: values.negative ?? null,
    guidance: values.guidance as GuidanceMode | undefined, json: values.json, noRobustness: values['no-robustness'] ?? false,
  };
}

const COLUMNS: [string, string, (c: Record<string, number>) => string][] = [
  ['dispatches', 'dispatches', (c) => String(c.dispatches ?? 0)],
  ['submits', 'submits', (c) => String(c.submits ?? 0)],
  ['readbacks', 'readbacks', (c) => String(c.readbacks ?? 0)],
  ['pipelines', 'pipelines compiled', (c) => String(c.pipelinesCompiled ?? 0)],
  ['bindgroups', 'bind groups', (c) => String(c.bindGroupsCreated ?? 0)],
  ['MB up', 'bytes uploaded', (c) => ((c.bytesUploaded ?? 0) / 1e6).toFixed(1)],
  ['MB down', 'bytes read back', (c) => ((c.bytesReadBack ?? 0) / 1e6).toFixed(3)],
  ['GFLOP', 'engine-counted', (c) => ((c.flops ?? 0) / 1e9).toFixed(2)],
];

function table(rows: StageRow[]): string {
  const head = ['stage', 'calls', 'ms', ...COLUMNS.map((c) => c[0]), 'GFLOP/s', 'peak MiB'];
  const body = rows.map((r) => [r.stage, String(r.calls), r.ms.toFixed(1), ...COLUMNS.map((c) => c[2](r.counts)),
    r.ms > 0 ? ((r.counts.flops ?? 0) / r.ms / 1e6).toFixed(2) : '-', r.peakBytes === undefined ? '-' : (r.peakBytes / 2 ** 20).toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** Runs the benchmark, printing through `log`; returns what --json writes. */
export async function e2e(o: E2EOptions, log: (line: string) => void = console.log) {
  const dev = o.noRobustness ? await Device.open({ disableRobustness: true }) : await getDevice();
  const probe = () => ({ ...dev.counters });
  const load0 = performance.now();
  const pipe = loadPipeline(o.model, { dtype: o.dtype, device: dev, f16: o.f16 });
  const loadMs = performance.now() - load0;
  const size = o.size;
  const header = `# e2e ${o.model} ${size ? `${size}x${size}` : '(default size)'} ${o.dtype}${o.dtype === 'f16' ? ` (f16 ${o.f16})` : ''} steps ${o.steps} ` +
    `guidance ${o.guidance ?? (o.negative ? 'nasa' : 'none')} on ${dev.adapterName}${dev.toggles.length ? ` [${dev.toggles.join(',')}]` : ''}`;
  log(header);
  log(`machine: ${os.cpus().length} cpus, load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; load (open + configs) ${loadMs.toFixed(0)} ms`);
  const runs: RunRow[] = [];
  try {
    for (let r = 1; r <= o.runs; r++) {
      const t0 = performance.now();
      const res = await pipe.generate({
        prompts: [o.prompt], negatives: o.negative === null ? null : [o.negative], steps: o.steps, seed: o.seed,
        width: size, height: size, guidance: o.guidance ? { mode: o.guidance } : undefined, stageProbe: probe,
      });
      const totalMs = performance.now() - t0;
      const stages = res.times.entries().map((e) => ({ ...e, counts: res.times.counts(e.stage) }));
      const den = stages.find((s) => s.stage === 'denoise');
      const perEval = den && den.calls ? den.counts.dispatches / den.calls : null;
      runs.push({ run: r, totalMs, stages, dispatchesPerUnetEval: perEval });
      log(`\nrun ${r}${r === 1 ? ' (cold: compiles + weight uploads)' : ''}: ${res.width}x${res.height}, total ${(totalMs / 1000).toFixed(2)} s`);
      log(table(stages));
      if (perEval !== null) log(`dispatches per UNet evaluation: ${perEval}${res.guidance.mode === 'cfg' ? ' (CFG: one batch of 2)' : ''}`);
    }
  } finally {
    pipe.destroy();
    if (o.noRobustness) dev.destroy();
  }
  log(`\nend load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; columns: ${COLUMNS.map((c) => `${c[0]} = ${c[1]}`).join(', ')}, peak MiB = device memory held at most during the stage`);
  const out = {
    bench: 'e2e', model: o.model, size: size ?? null, dtype: o.dtype, f16: o.f16, steps: o.steps, guidance: o.guidance ?? (o.negative ? 'nasa' : 'none'),
    adapter: dev.adapterName, toggles: dev.toggles, software: dev.isSoftware, cpus: os.cpus().length, loadavg: os.loadavg(),
    loadMs, runs, date: new Date().toISOString(),
  };
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${o.json}`);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.resolve().then(() => e2e(options(process.argv.slice(2)))).then(() => process.exit(0), (e) => {
    console.error(e instanceof EngineError || String(e?.code).startsWith('ERR_PARSE_ARGS') ? `e2e: ${e.message}` : e);
    process.exit(1);
  });
}
