// The CLI's startup timeline, from performance marks (ms since the process started):
// Node's own bootstrap, the command's modules loaded (src/cli.ts), the WebGPU device
// ready and the first compute dispatch (src/gpu/device.ts). Everything before the first
// dispatch is overhead the user waits through before the GPU does any work.

function mark(name: string): number {
  const e = performance.getEntriesByName(name, 'mark');
  return e.length ? e[0].startTime : NaN;
}

export interface StartupTimes { node: number; imports: number; device: number; firstDispatch: number }

export function startupTimes(): StartupTimes {
  return {
    node: performance.nodeTiming.bootstrapComplete,
    imports: mark('cli:command-loaded'),
    device: mark('gpu:device-ready'),
    firstDispatch: mark('gpu:first-dispatch'),
  };
}

/** e.g. "startup: first dispatch at 640 ms (node 40 ms, modules loaded 120 ms, device ready 380 ms)" */
export function formatStartup(t: StartupTimes = startupTimes()): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');
  return `startup (ms since process start): first dispatch at ${ms(t.firstDispatch)} ` +
    `(node ready ${ms(t.node)}, modules loaded ${ms(t.imports)}, device ready ${ms(t.device)})`;
}
