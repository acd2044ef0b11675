// Kernel benchmark harness.
//
// Usage
//   npm run bench                          every bench/*.bench.ts that exports `bench`
//   npm run bench -- matmul attention      only bench/matmul.bench.ts, bench/attention.bench.ts
//   npm run bench -- matmul --quick        fewer shapes/repetitions (smoke run)
//   npm run bench -- matmul --json         one JSON object per result line on stdout
//   npm run bench -- matmul --filter 512   only cases whose op/shape/variant contains "512"
//
// Writing a bench file: bench/<op>.bench.ts exports
//
//   export async function bench(h: Harness): Promise<void> {
//     await h.benchKernel({
//       name: 'matmul', shape: '512x512x512', dtype: 'f32', flops: 2 * 512 ** 3,
//       build: (g) => ({ y: matmul(g.input('a', [512, 512]), g.input('b', [512, 512])) }),
//       // inputs: optional; every graph input not given gets deterministic random data
//     });
//   }
//
// benchKernel builds the graph once, compiles it, runs it once (warm-up), then times
// it with GPU timestamp queries (Executable.profile: the sum of the graph's dispatches,
// median and min over repetitions); where the adapter has no timestamp queries it falls
// back to the wall clock of run(). Ratios use the min: on a shared machine (lavapipe is a
// CPU) other processes only ever add time. benny times run() as well (the CPU-side view: submit,
// wait, read back). One line per case: op, shape, dtype, variant, ms, GFLOP/s or GB/s,
// timing source, adapter. `h.timed()` times anything else (e.g. another library on
// the same adapter) so that `h.ratio()` can compare the two.
// Files without an exported `bench` (standalone scripts such as convert.bench.ts) are
// skipped by a plain `npm run bench` and run as a child process when named.
import b from 'benny';
import type { Device } from '../src/gpu/device.ts';
import { Graph, type Float, type Node } from '../src/graph/graph.ts';
import { Executable, type RunInput } from '../src/graph/run.ts';
import { GpuTensor } from '../src/tensor/tensor.ts';
import '../src/ops/index.ts';
import { seededUniform } from '../src/tensor/random.ts';

export interface KernelCase {
  /** Op name as printed (e.g. 'matmul', 'attention'). */
  name: string;
  /** Human-readable shape (e.g. '512x512x512' for M x K x N). */
  shape: string;
  dtype: Float;
  /** Work per run, for GFLOP/s. */
  flops?: number;
  /** Bytes moved per run, for GB/s (used when flops is absent). */
  bytes?: number;
  /** Kernel variant label (printed; the case forces it via the op's attrs/env itself). */
  variant?: string;
  build: (g: Graph) => Record<string, Node>;
  inputs?: Record<string, RunInput>;
}

export interface TimedCase {
  name: string; shape: string; dtype: string; flops?: number; bytes?: number; variant?: string;
  /** Implementation label (default 'engine'), e.g. 'tfjs'. */
  impl?: string;
  /** One complete run (must wait for the GPU to finish). */
  run: () => Promise<void>;
  /** GPU ms of one run where the implementation can measure it; null/undefined -> wall clock. */
  gpuMs?: () => Promise<number | null>;
}

export interface BenchResult {
  op: string; shape: string; dtype: string; impl: string; variant?: string;
  /** Median time per run (GPU timestamps when timing = 'gpu'). */
  ms: number;
  /** Fastest run: what ratios use, as other processes on the machine only ever add time. */
  minMs: number;
  timing: 'gpu' | 'wall';
  /** benny's mean wall time of one run() including submit/readback. */
  wallMs: number;
  gflops?: number; gbps?: number;
  adapter: string; reps: number;
}

export interface HarnessOptions { json: boolean; quick: boolean; filter?: string }

export class Harness {
  readonly results: BenchResult[] = [];

  constructor(readonly device: Device, readonly opts: HarnessOptions) {}

  get quick(): boolean { return this.opts.quick; }
  /** The adapter, with the Dawn toggles the device was opened with (e.g. disable_robustness). */
  get adapter(): string {
    const t = this.device.toggles;
    return this.device.adapterName + (t.length ? ` [${t.join(',')}]` : '');
  }

  /** False when --filter excludes a case (bench files may skip expensive setup). */
  wants(...labels: (string | undefined)[]): boolean {
    const f = this.opts.filter;
    return !f || labels.filter(Boolean).join(' ').includes(f);
  }

  async benchKernel(c: KernelCase): Promise<BenchResult | null> {
    if (!this.wants(c.name, c.shape, c.dtype, c.variant, 'engine')) return null;
    const g = new Graph(c.dtype);
    for (const [k, n] of Object.entries(c.build(g))) g.output(k, n);
    // Inputs live on the GPU, so run() copies buffers instead of re-encoding host data.
    const inputs: Record<string, GpuTensor> = {};
    let seed = 1;
    for (const [name, n] of g.inputs) {
      const given = c.inputs?.[name];
      const data = given ?? (n.dtype === 'i32' || n.dtype === 'u32' ? new Int32Array(n.numel) : randomData(n.numel, seed++));
      inputs[name] = data instanceof GpuTensor ? data : GpuTensor.upload(this.device, data, [...n.shape], n.dtype, name);
    }
    const ex = await Executable.compile(this.device, g);
    try {
      await ex.run(inputs); // warm-up (first submit pays driver-side setup)
      const probe = await ex.profile(inputs);
      const gpuMs = probe ? async () => (await ex.profile(inputs))!.reduce((s, d) => s + d.ms, 0) : undefined;
      return await this.timed({ ...c, impl: 'engine', run: async () => { await ex.run(inputs); }, gpuMs });
    } finally {
      ex.destroy();
      for (const [name, t] of Object.entries(inputs)) if (t !== c.inputs?.[name]) t.buffer.destroy();
    }
  }

  /** Times `c.run` (benny, wall clock) and `c.gpuMs` (median) and reports one line. */
  async timed(c: TimedCase): Promise<BenchResult | null> {
    if (!this.wants(c.name, c.shape, c.dtype, c.variant, c.impl)) return null;
    const budgetMs = this.quick ? 400 : 2500;
    const maxReps = this.quick ? 3 : 15;
    // GPU-side: repeat until the budget or maxReps is spent (at least 2 timings).
    const gpu: number[] = [];
    let spent = 0;
    if (c.gpuMs) {
      while (gpu.length < maxReps && (gpu.length < 2 || spent < budgetMs)) {
        const t = await c.gpuMs();
        if (t === null) break;
        gpu.push(t);
        spent += t;
      }
    }
    const wallMs = await this.benny(`${c.impl ?? 'engine'} ${c.name} ${c.shape} ${c.dtype}`, c.run);
    const timing = gpu.length ? 'gpu' : 'wall';
    const ms = gpu.length ? median(gpu) : wallMs;
    const r: BenchResult = {
      op: c.name, shape: c.shape, dtype: c.dtype, impl: c.impl ?? 'engine', variant: c.variant,
      ms, minMs: gpu.length ? Math.min(...gpu) : wallMs, timing, wallMs, adapter: this.adapter, reps: gpu.length,
    };
    if (c.flops) r.gflops = c.flops / ms / 1e6;
    else if (c.bytes) r.gbps = c.bytes / ms / 1e6;
    this.report(r);
    return r;
  }

  /** benny wraps run() for the CPU-side view; returns its mean ms per run. */
  private async benny(label: string, run: () => Promise<void>): Promise<number> {
    const opts = this.quick ? { minSamples: 1, maxTime: 0.3, initCount: 1 } : { minSamples: 3, maxTime: 2, initCount: 1 };
    const log = console.log;
    console.log = () => {}; // benny announces each suite on stdout; our line says it all
    try {
      const summary = await b.suite(label, b.add(label, async () => { await run(); }, opts));
      const res = summary.results[0];
      return res.details.mean * 1000;
    } finally {
      console.log = log;
    }
  }

  report(r: BenchResult): void {
    this.results.push(r);
    if (this.opts.json) { console.log(JSON.stringify(r)); return; }
    const rate = r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : '';
    const what = [r.op, r.impl !== 'engine' ? `[${r.impl}]` : '', r.variant ? `(${r.variant})` : ''].filter(Boolean).join(' ');
    console.log(
      `${what.padEnd(28)} ${r.shape.padEnd(22)} ${r.dtype.padEnd(4)} ${r.ms.toFixed(3).padStart(10)} ms  ${rate.padStart(16)}  ` +
      `(${r.timing}, min ${r.minMs.toFixed(3)} ms, wall ${r.wallMs.toFixed(2)} ms)  ${r.adapter}`,
    );
  }

  /** Prints how much faster `ours` is than `other`: other's fastest run over ours. */
  ratio(label: string, ours: BenchResult | null, other: BenchResult | null): number | null {
    if (!ours || !other) return null;
    const x = other.minMs / ours.minMs;
    if (this.opts.json) console.log(JSON.stringify({ ratio: label, value: x, ours: ours.minMs, other: other.minMs, adapter: this.adapter }));
    else console.log(`  ${label}: ${x.toFixed(2)}x (min ${ours.minMs.toFixed(3)} ms vs ${other.minMs.toFixed(3)} ms)`);
    return x;
  }

  note(text: string): void {
    if (this.opts.json) console.log(JSON.stringify({ note: text }));
    else console.log(text);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic values in [-1, 1), so runs are comparable. */
export const randomData = (n: number, seed = 1): Float32Array => seededUniform(n, seed);
