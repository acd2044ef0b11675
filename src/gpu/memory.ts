// Device memory accounting: every buffer the Device creates is counted under one kind
// until it is freed, so "how much does this device hold, of what, and what was the most
// it held" has one answer that tests and `generate --stats` read (Dawn offers no such
// query). Dawn-free: Device calls add/remove; everyone else reads.

export const MEMORY_KINDS = ['weights', 'activations', 'scratch', 'staging', 'uniforms', 'tensors'] as const;
/**
 * weights: model parameters (src/graph/weights.ts); activations: the device's arena
 * (intermediates, graph inputs/outputs and planned scratch); scratch: scratch outside the
 * arena; staging: readback and timestamp buffers; uniforms: kernel parameters; tensors:
 * standalone GpuTensors and graph constants.
 */
export type MemoryKind = (typeof MEMORY_KINDS)[number];
export type ByKind = Record<MemoryKind, number>;

export interface MemorySnapshot {
  /** Bytes held now, by kind, and in total. */
  current: ByKind;
  total: number;
  /** The most bytes held at once since the device opened, by kind and in total. */
  peak: ByKind;
  peakTotal: number;
  /** Buffers alive now. */
  buffers: number;
}

const zero = (): ByKind => Object.fromEntries(MEMORY_KINDS.map((k) => [k, 0])) as ByKind;

export class DeviceMemory {
  private live = new Map<object, { kind: MemoryKind; bytes: number }>();
  private current = zero();
  private peak = zero();
  private total = 0;
  private peakTotal = 0;
  private windows = new Set<{ peak: number }>();

  add(handle: object, kind: MemoryKind, bytes: number): void {
    if (this.live.has(handle)) return;
    this.live.set(handle, { kind, bytes });
    this.current[kind] += bytes;
    this.total += bytes;
    this.peak[kind] = Math.max(this.peak[kind], this.current[kind]);
    this.peakTotal = Math.max(this.peakTotal, this.total);
    for (const w of this.windows) w.peak = Math.max(w.peak, this.total);
  }

  /** Forgets `handle`; false when it was not counted (already freed). */
  remove(handle: object): boolean {
    const e = this.live.get(handle);
    if (!e) return false;
    this.live.delete(handle);
    this.current[e.kind] -= e.bytes;
    this.total -= e.bytes;
    return true;
  }

  snapshot(): MemorySnapshot {
    return { current: { ...this.current }, total: this.total, peak: { ...this.peak }, peakTotal: this.peakTotal, buffers: this.live.size };
  }

  /**
   * Starts measuring the peak total over a stretch of work (a pipeline stage); the
   * returned function stops it and gives the most bytes held at once meanwhile
   * (what was already held when it started counts).
   */
  watch(): () => number {
    const w = { peak: this.total };
    this.windows.add(w);
    return () => {
      this.windows.delete(w);
      return w.peak;
    };
  }
}
