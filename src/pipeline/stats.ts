// `generate --stats`: per stage wall time and the most device memory held during it, then
// what the device holds now by kind and its peak since it opened (src/gpu/memory.ts).
import { MEMORY_KINDS, type MemorySnapshot } from '../gpu/memory.ts';
import { formatBytes } from '../graph/plan.ts';
import type { StageTimes } from './progress.ts';

export function formatStats(times: StageTimes, mem: MemorySnapshot): string {
  const rows = times.entries().map(({ stage, ms, calls, peakBytes }) =>
    `  ${stage.padEnd(12)} ${`${ms.toFixed(1)} ms`.padStart(12)} ${String(calls).padStart(4)} call(s)   peak device memory ${peakBytes === undefined ? '?' : formatBytes(peakBytes)}`);
  const kinds = MEMORY_KINDS.filter((k) => mem.peak[k] > 0).map((k) => `${k} ${formatBytes(mem.current[k])} (peak ${formatBytes(mem.peak[k])})`);
  return [
    'stats:', ...rows, `  total        ${`${times.total().toFixed(1)} ms`.padStart(12)}`,
    `  device memory now ${formatBytes(mem.total)} in ${mem.buffers} buffers, peak ${formatBytes(mem.peakTotal)}: ${kinds.join(', ') || 'none'}`,
  ].join('\n');
}
