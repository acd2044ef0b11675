// Progress reporting for batch generation, on stderr so stdout stays clean for data.
// On a terminal the bar redraws one line in place; otherwise (CI logs, pipes) it prints one
// plain line per update. StageTimes collects per-stage wall time (text encode / denoise /
// decode ...) for the timing breakdown printed at the end of a run and, given the device's
// memory counters, the most device memory held during each stage.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type Clock = () => number; // milliseconds

/** 0.4s, 12s, 3m05s, 1h02m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressBar {
  private done = 0;
  private readonly start: number;
  private lastLen = 0;
  private finished = false;

  constructor(
    readonly total: number,
    readonly label = 'generate',
    private readonly out: ProgressStream = process.stderr,
    private readonly now: Clock = () => performance.now(),
  ) {
    this.start = now();
  }

  get count(): number { return this.done; }

  /** Estimated time left from the mean time per item so far. */
  eta(): number {
    if (this.done === 0) return NaN;
    return ((this.now() - this.start) / this.done) * (this.total - this.done);
  }

  /** Mark `n` more items done; `detail` (e.g. the prompt) is shown after the counts. */
  tick(n = 1, detail = ''): void {
    this.done = Math.min(this.total, this.done + n);
    this.render(detail);
  }

  /** Finish the bar (a newline on a terminal); prints the total time. */
  finish(detail = ''): void {
    if (this.finished) return;
    this.finished = true;
    const took = formatDuration(this.now() - this.start);
    if (this.out.isTTY) this.out.write(`\r${this.line(detail).padEnd(this.lastLen)}\n`);
    this.out.write(`${this.label}: ${this.done}/${this.total} done in ${took}\n`);
  }

  private line(detail: string): string {
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const eta = this.done < this.total ? ` ETA ${formatDuration(this.eta())}` : '';
    return `${this.label} ${this.done}/${this.total} (${pct}%)${eta}${detail ? ` ${detail}` : ''}`;
  }

  private render(detail: string): void {
    if (!this.out.isTTY) {
      this.out.write(`${this.line(detail)}\n`);
      return;
    }
    const width = 24;
    const filled = this.total > 0 ? Math.round((width * this.done) / this.total) : width;
    let s = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line(detail)}`;
    const cols = this.out.columns ?? 100;
    if (s.length > cols - 1) s = `${s.slice(0, cols - 2)}…`;
    this.out.write(`\r${s.padEnd(this.lastLen)}`);
    this.lastLen = s.length;
  }
}

/** Numbers that only grow (e.g. Device.counters); a stage is charged what they grew by. */
export type StageProbe = () => Record<string, number>;

/** What StageTimes needs of the device memory counters (src/gpu/memory.ts DeviceMemory). */
export interface MemoryWatch { watch(): () => number }

/**
 * Accumulated wall time per named stage, in first-use order; with a probe, counter deltas
 * too, and with a MemoryWatch the peak device bytes held during each stage.
 */
export class StageTimes {
  private readonly ms = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private readonly deltas = new Map<string, Record<string, number>>();
  private readonly peaks = new Map<string, number>();

  constructor(
    private readonly now: Clock = () => performance.now(),
    private readonly probe?: StageProbe,
    private readonly memory?: MemoryWatch,
  ) {}

  /** Adds one call of `stage`; `peakBytes` (device bytes held at most meanwhile) keeps its maximum. */
  add(stage: string, ms: number, peakBytes?: number): void {
    this.ms.set(stage, (this.ms.get(stage) ?? 0) + ms);
    this.calls.set(stage, (this.calls.get(stage) ?? 0) + 1);
    if (peakBytes !== undefined) this.peaks.set(stage, Math.max(this.peaks.get(stage) ?? 0, peakBytes));
  }

  /** Time a synchronous or async function under `stage` (and its peak device memory). */
  async time<T>(stage: string, fn: () => T | Promise<T>): Promise<T> {
    const before = this.probe?.();
    const t0 = this.now();
    const stop = this.memory?.watch();
    try {
      return await fn();
    } finally {
      this.add(stage, this.now() - t0, stop?.());
      if (before) this.charge(stage, before, this.probe!());
    }
  }

  private charge(stage: string, before: Record<string, number>, after: Record<string, number>): void {
    const d = this.deltas.get(stage) ?? {};
    for (const k of Object.keys(after)) d[k] = (d[k] ?? 0) + after[k] - (before[k] ?? 0);
    this.deltas.set(stage, d);
  }

  /** What the probe's counters grew by during `stage` ({} without a probe). */
  counts(stage: string): Record<string, number> { return { ...this.deltas.get(stage) }; }

  get(stage: string): number { return this.ms.get(stage) ?? 0; }
  /** Most device bytes held at once during `stage` (weights included); undefined without a MemoryWatch. */
  peak(stage: string): number | undefined { return this.peaks.get(stage); }
  total(): number { let t = 0; for (const v of this.ms.values()) t += v; return t; }
  entries(): Array<{ stage: string; ms: number; calls: number; peakBytes?: number }> {
    return [...this.ms].map(([stage, ms]) => {
      const peak = this.peaks.get(stage);
      return { stage, ms, calls: this.calls.get(stage) ?? 0, ...(peak === undefined ? {} : { peakBytes: peak }) };
    });
  }

  /** e.g. "text encode 12.1 ms (3%) | denoise 350.2 ms (88%) | decode 35.0 ms (9%) | total 397.3 ms" */
  format(): string {
    const total = this.total();
    const parts = this.entries().map(({ stage, ms }) => `${stage} ${ms.toFixed(1)} ms (${total > 0 ? Math.round((100 * ms) / total) : 0}%)`);
    return [...parts, `total ${total.toFixed(1)} ms`].join(' | ');
  }
}
