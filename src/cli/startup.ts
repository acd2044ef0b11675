// The CLI's startup timeline, from performance marks (ms since the process started):
// Node's own bootstrap, the command's modules loaded (src/cli.ts), the WebGPU device
// ready and the first compute dispatch (src/gpu/device.ts). Everything before the first
// dispatch is overhead the user waits through before the GPU does any work.
import type { PerformanceEntry, PerformanceMark } from 'node:perf_hooks';

function mark(name: string): PerformanceEntry | undefined {
  return performance.getEntriesByName(name, 'mark')[0];
}

export interface StartupTimes {
  node: number; imports: number; device: number; firstDispatch: number;
  /** CPU time (user + system) used by then: what a loaded machine does not inflate. */
  firstDispatchCpu: number;
}

export function startupTimes(): StartupTimes {
  const first = mark('gpu:first-dispatch') as PerformanceMark | undefined;
  return {
    node: performance.nodeTiming.bootstrapComplete,
    imports: mark('cli:command-loaded')?.startTime ?? NaN,
    device: mark('gpu:device-ready')?.startTime ?? NaN,
    firstDispatch: first?.startTime ?? NaN,
    firstDispatchCpu: (first?.detail as { cpuMs?: number } | undefined)?.cpuMs ?? NaN,
  };
}

/** e.g. "startup (ms since process start): first dispatch at 640 ms, 700 ms CPU (node ready 40 ms, ...)" */
export function formatStartup(t: StartupTimes = startupTimes()): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');
  return `startup (ms since process start): first dispatch at ${ms(t.firstDispatch)}, ${ms(t.firstDispatchCpu)} CPU ` +
    `(node ready ${ms(t.node)}, modules loaded ${ms(t.imports)}, device ready ${ms(t.device)})`;
}
