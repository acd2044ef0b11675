// One activation pool per device. Every compiled graph plans its intermediates, inputs,
// outputs and scratch as offsets into numbered chunks (src/graph/plan.ts); the arena holds
// one GPUBuffer per chunk index, as large as the largest plan needs, so the device holds
// the maximum over its graphs rather than their sum, and an idle graph holds none of it.
// Graphs share the bytes, so runs take turns: exclusive() orders them, and a graph's
// outputs are read before the next run starts. A chunk never exceeds one binding
// (maxStorageBufferBindingSize) or maxBufferSize; a tensor never straddles two chunks.
import type { Device } from './device.ts';

export class Arena {
  private chunks: (GPUBuffer | null)[] = [];
  private copies: GPUBuffer | null = null;
  private needs = new Map<object, number[]>();
  private tail: Promise<void> = Promise.resolve();
  /** Bumped whenever a chunk buffer is replaced: bind groups made before it are stale. */
  generation = 0;

  constructor(private readonly device: Device) {}

  /** The largest chunk: one binding, one buffer, 256-aligned. */
  get chunkLimit(): number {
    const l = this.device.limits;
    return Math.floor(Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize) / 256) * 256;
  }

  /** Records the chunk sizes `user` (a compiled graph) needs; allocates nothing yet. */
  reserve(user: object, sizes: number[]): void {
    this.needs.set(user, sizes);
  }

  /** Forgets `user`; chunks now larger than anyone needs are freed (reallocated on demand). */
  release(user: object): void {
    if (!this.needs.delete(user)) return;
    if (!this.needs.size && this.copies) {
      this.device.free(this.copies);
      this.copies = null;
      this.generation++;
    }
    this.chunks.forEach((b, i) => {
      if (b && b.size > this.need(i)) {
        this.device.free(b);
        this.chunks[i] = null;
        this.generation++;
      }
    });
  }

  /** Chunk buffers covering `user`'s plan (grown as needed). Call inside exclusive(). */
  buffers(user: object): GPUBuffer[] {
    const sizes = this.needs.get(user);
    if (!sizes) throw new Error('arena: buffers() for a graph that reserved nothing (destroyed?)');
    return sizes.map((size, i) => {
      let b = this.chunks[i];
      if (!b || b.size < size) {
        if (b) this.device.free(b);
        b = this.device.createBuffer(this.need(i), `arena chunk ${i}`, 'storage', 'activations');
        this.chunks[i] = b;
        this.generation++;
      }
      return b;
    });
  }

  /**
   * The buffer second copies of operands live in while one dispatch binds them (a kernel
   * reading x twice must not bind x's range twice when bindings are writable); grown on
   * demand, counted as scratch, freed when the last graph leaves. Call inside exclusive().
   */
  copyBuffer(bytes: number): GPUBuffer {
    if (!this.copies || this.copies.size < bytes) {
      if (this.copies) this.device.free(this.copies);
      this.copies = this.device.createBuffer(bytes, 'arena copies', 'storage', 'scratch');
      this.generation++;
    }
    return this.copies;
  }

  /** Bytes the arena holds now. */
  get bytes(): number {
    return this.chunks.reduce((a, b) => a + (b?.size ?? 0), 0) + (this.copies?.size ?? 0);
  }

  /** Runs `fn` after every earlier exclusive() call has finished: one graph run at a time. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((r) => (done = r));
    await prev;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  /** The largest size any registered graph asks of chunk `i`. */
  private need(i: number): number {
    let n = 0;
    for (const s of this.needs.values()) n = Math.max(n, s[i] ?? 0);
    return n;
  }
}
