// Run step: upload weights, take the plan's chunks of the device arena (src/gpu/arena.ts),
// resolve every op's kernel calls into pipelines + bind groups (remade only when the arena
// replaces a chunk), then each run() writes the inputs, submits all dispatches in one
// command buffer and reads the outputs, while no other graph runs on the device. Runtime scalars
// (Graph.scalar) live in the uniform slots: setScalars() rewrites just those values, so
// a new alpha costs one small buffer write, no compile, plan or bind group.
import { EngineError } from '../errors.ts';
import type { Device, Dispatch } from '../gpu/device.ts';
import { getOp, type EncodeContext, type KernelCall, type Operand, type Param, type Scratch } from '../ops/registry.ts';
import { variantOverridesFromEnv, type VariantOverrides } from '../ops/variant.ts';
import { GpuTensor } from '../tensor/tensor.ts';
import { byteSize, encodeHost, numel, sameShape, shapeStr } from '../tensor/dtype.ts';
import type { Graph, Node, ScalarArg } from './graph.ts';
import { alignUp, plan as makePlan, type Plan } from './plan.ts';
import { acquireWeight } from './weights.ts';
import { validateRun } from './validate.ts';
import { planFlops } from './flops.ts';

const UNIFORM_SLOT = 256;

/** Where a tensor's bytes are: its own buffer (weights, constants) or an arena chunk. */
type Storage = { bytes: number; offset: number } & ({ buffer: GPUBuffer } | { chunk: number });
type Binding = { offset: number; size: number } & ({ buffer: GPUBuffer } | { chunk: number } | { copy: true });

export interface CompileOptions {
  /** Re-run each node's CPU reference after run() and name the first that diverges. */
  validate?: boolean;
  /** Largest arena chunk; default (and at most) the adapter's binding/buffer limit. Tests lower it. */
  chunkBytes?: number;
  /** Kernel variants per op (src/ops/variant.ts); default: ENGINE_FORCE_VARIANT. */
  variants?: VariantOverrides;
}

export type HostArray = Float32Array | Int32Array | Uint32Array;
export type RunInput = ArrayLike<number> | GpuTensor;

export class Executable {
  private storage = new Map<Node, Storage>();
  /** Per dispatch: pipeline, bindings (resolved to buffers when the arena changes), grid. */
  private calls: { pipeline: GPUComputePipeline; bindings: Binding[]; copies: { from: Binding; to: Binding }[]; grid: [number, number, number]; label: string }[] = [];
  private dispatches: Dispatch[] = [];
  private boundGeneration = -1;
  private chunks: GPUBuffer[] = [];
  private copyBuffer: GPUBuffer | null = null;
  /** Bytes of second copies one call needs at most (operands bound twice). */
  private copyBytes = 0;
  private dispatchNode: Node[] = [];
  private owned: GPUBuffer[] = [];
  private releases: (() => void)[] = [];
  private uniforms: GPUBuffer | null = null;
  private packed = new ArrayBuffer(0);
  /** Byte offsets in the uniforms of every use of each runtime scalar. */
  private scalarSlots = new Map<string, number[]>();
  private scalarValues = new Map<string, number>();
  /** Engine-counted FLOPs of one run (added to device.counters.flops per run). */
  readonly flops: number;

  private constructor(readonly device: Device, readonly plan: Plan, readonly validate: boolean, readonly context: EncodeContext) {
    this.flops = planFlops(plan).total;
  }

  static async compile(device: Device, graph: Graph, opts: CompileOptions = {}): Promise<Executable> {
    const validate = opts.validate ?? process.env.ENGINE_VALIDATE === '1';
    const ctx: EncodeContext = { ...device.facts, variants: opts.variants ?? variantOverridesFromEnv() };
    // Kernel calls first: their scratch is planned in the arena with the tensors.
    const calls = new Map<Node, KernelCall[]>();
    const callsOf = (n: Node) => {
      if (!calls.has(n)) calls.set(n, getOp(n.op).encode(n, ctx));
      return calls.get(n)!;
    };
    const p = makePlan(graph, {
      noReuse: validate, chunkBytes: Math.min(opts.chunkBytes ?? Infinity, device.arena.chunkLimit),
      scratch: (n) => callsOf(n).flatMap((c) => c.buffers.filter((o): o is Scratch => 'scratch' in o)),
    });
    const ex = new Executable(device, p, validate, ctx);
    device.arena.reserve(ex, p.chunkSizes);
    try {
      // Tensors some kernel binds whole (not in slabs) must fit one binding: known before upload.
      const whole = new Set<Node>();
      for (const n of p.order) for (const c of callsOf(n)) for (const o of c.buffers) if (!('scratch' in o) && !('byteOffset' in o)) whole.add(p.root.get(o) ?? o);
      await ex.allocate(whole);
      await ex.encode(callsOf);
    } catch (e) {
      ex.destroy();
      throw e;
    }
    return ex;
  }

  /** Peak memory the plan needs (arena + weights + constants), and what no reuse would need. */
  get memory() {
    const p = this.plan;
    return { peakBytes: p.peakBytes, intermediateBytes: p.intermediateBytes, arenaBytes: p.arenaBytes, ...p.pinned, ...p.arena };
  }

  private async allocate(boundWhole: Set<Node>): Promise<void> {
    const dev = this.device, p = this.plan;
    const limit = dev.limits.maxStorageBufferBindingSize;
    for (const n of p.live) {
      const r = p.root.get(n)!;
      const bytes = byteSize(n.shape, n.dtype);
      if (r !== n) continue;
      const place = p.place.get(n);
      if (place) {
        this.storage.set(n, { chunk: place.chunk, offset: place.offset, bytes });
        continue;
      }
      // Weights may exceed one binding when their op binds them in slabs (resolve() checks).
      if (bytes > limit && (n.leaf?.kind !== 'weight' || boundWhole.has(n))) throw overBinding(n, bytes, limit);
      let buffer: GPUBuffer;
      if (n.leaf?.kind === 'weight') {
        const w = await acquireWeight(dev, n.leaf.src, n.shape, n.dtype, n.label);
        this.releases.push(w.release);
        buffer = w.buffer;
      } else {
        buffer = this.own(dev.createBuffer(bytes, n.label));
        if (n.leaf?.kind === 'const') dev.write(buffer, 0, encodeHost(n.leaf.data, n.dtype));
      }
      this.storage.set(n, { buffer, offset: 0, bytes });
    }
    for (const n of p.live) {
      const r = p.root.get(n)!;
      if (r !== n) this.storage.set(n, { ...this.storage.get(r)!, bytes: byteSize(n.shape, n.dtype) });
    }
  }

  private async encode(callsOf: (n: Node) => KernelCall[]): Promise<void> {
    const dev = this.device;
    const calls: { node: Node; call: KernelCall }[] = [];
    for (const n of this.plan.order) for (const call of callsOf(n)) calls.push({ node: n, call });
    const uniforms = this.own(dev.createBuffer(Math.max(1, calls.length) * UNIFORM_SLOT, 'uniforms', 'uniform'));
    const packed = new ArrayBuffer(Math.max(1, calls.length) * UNIFORM_SLOT);
    this.uniforms = uniforms;
    this.packed = packed;
    const pipelines = await Promise.all(calls.map(({ node, call }) => dev.pipeline({ dtype: node.dtype === 'f16' ? 'f16' : 'f32', ...call.kernel })));
    calls.forEach(({ node, call }, i) => {
      packParams(packed, i * UNIFORM_SLOT, call.params, node, this.scalarSlots);
      const bindings: Binding[] = [{ buffer: uniforms, offset: i * UNIFORM_SLOT, size: UNIFORM_SLOT }];
      const dups = new Set(duplicates(call, (n) => this.plan.root.get(n)!));
      const copies: { from: Binding; to: Binding }[] = [];
      let copyBytes = 0;
      call.buffers.forEach((o, k) => {
        const b = this.resolve(o, node);
        if (!dups.has(k)) return void bindings.push(b);
        // Bound twice: WebGPU forbids overlapping writable bindings, so this use reads a copy
        // in the arena's copy buffer (not the same buffer: copies need two).
        const to = { copy: true as const, offset: copyBytes, size: b.size };
        copyBytes = alignUp(copyBytes + b.size, 256);
        copies.push({ from: b, to });
        bindings.push(to);
      });
      this.copyBytes = Math.max(this.copyBytes, copyBytes);
      this.calls.push({ pipeline: pipelines[i], bindings, copies, grid: call.grid, label: node.label });
      this.dispatchNode.push(node);
    });
    dev.write(uniforms, 0, new Uint8Array(packed));
  }

  private resolve(o: Operand, node: Node): Binding {
    if ('scratch' in o) {
      const at = this.plan.scratch.get(`${node.id}:${o.tag}`);
      if (!at) throw new Error(`${node.label}: scratch ${o.tag} was not planned`);
      return { chunk: at.chunk, offset: at.offset, size: Math.ceil(o.scratch / 4) * 4 };
    }
    const slab = 'byteOffset' in o ? o : null;
    const n = slab ? slab.node : (o as Node);
    const s = this.storage.get(n);
    if (!s) throw new Error(`${node.label}: operand ${n.label} has no storage (not in the plan)`);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (slab) {
      if (slab.byteOffset % 256 || slab.byteOffset + slab.bytes > s.bytes || slab.bytes > limit) {
        throw new Error(`${node.label}: slab [${slab.byteOffset}, +${slab.bytes}) of ${n.label} (${s.bytes} bytes) is not a bindable range`);
      }
      return { ...s, offset: s.offset + slab.byteOffset, size: Math.ceil(Math.max(slab.bytes, 4) / 4) * 4 };
    }
    if (s.bytes > limit) throw overBinding(n, s.bytes, limit);
    return { ...s, size: Math.ceil(Math.max(s.bytes, 4) / 4) * 4 };
  }

  /**
   * Takes this graph's arena chunks and (re)makes its bind groups when the arena replaced
   * a chunk since the last run (it grew for a larger graph, or shrank after one left).
   */
  private bind(): void {
    const arena = this.device.arena;
    this.chunks = arena.buffers(this);
    if (this.copyBytes) this.copyBuffer = arena.copyBuffer(this.copyBytes);
    if (this.boundGeneration === arena.generation) return;
    this.dispatches = this.calls.map((c) => ({
      pipeline: c.pipeline, grid: c.grid, label: c.label,
      bindGroup: this.device.bindGroup(c.pipeline, c.bindings.map((b) => ({ buffer: this.bufferOf(b), offset: b.offset, size: b.size })), c.label),
      copies: c.copies.map(({ from, to }) => ({ src: this.bufferOf(from), srcOffset: from.offset, dst: this.bufferOf(to), dstOffset: to.offset, size: from.size })),
    }));
    this.boundGeneration = arena.generation;
  }

  private bufferOf(s: { buffer: GPUBuffer } | { chunk: number } | { copy: true }): GPUBuffer {
    return 'buffer' in s ? s.buffer : 'chunk' in s ? this.chunks[s.chunk] : this.copyBuffer!;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  /** Names of the runtime scalars the compiled dispatches read. */
  get scalarNames(): string[] {
    return [...this.scalarSlots.keys()];
  }

  /**
   * Sets runtime scalars (Graph.scalar) for the next runs: only their uniform values are
   * rewritten. Every scalar the graph reads must be set before the first run.
   */
  setScalars(values: Record<string, number>): void {
    let lo = Infinity, hi = -Infinity;
    const dv = new DataView(this.packed);
    for (const [name, v] of Object.entries(values)) {
      const slots = this.scalarSlots.get(name);
      if (!slots) {
        if (this.plan.graph.scalars.has(name)) continue; // declared, but no live node reads it
        throw new EngineError(`unknown runtime scalar '${name}'; the graph reads: ${this.scalarNames.join(', ') || 'none'}`);
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new EngineError(`runtime scalar '${name}' must be a finite number, got ${v}`);
      this.scalarValues.set(name, v);
      for (const o of slots) {
        dv.setFloat32(o, v, true);
        lo = Math.min(lo, o);
        hi = Math.max(hi, o + 4);
      }
    }
    if (hi > lo) this.device.write(this.uniforms!, lo, new Uint8Array(this.packed, lo, hi - lo));
  }

  private checkScalars(): void {
    const unset = this.scalarNames.filter((n) => !this.scalarValues.has(n));
    if (unset.length) throw new EngineError(`runtime scalar(s) ${unset.map((n) => `'${n}'`).join(', ')} have no value; set them with setScalars() before running`);
  }

  private scalarValue = (x: ScalarArg): number => (typeof x === 'number' ? x : this.scalarValues.get(x.name)!);

  /**
   * Writes inputs, runs every dispatch, returns the named outputs as host arrays. Runs of
   * graphs on one device take turns (they share the arena).
   */
  async run(inputs: Record<string, RunInput>): Promise<Record<string, HostArray>> {
    return this.device.arena.exclusive(async () => {
      await this.execute(inputs);
      const out: Record<string, HostArray> = {};
      for (const [name, n] of this.plan.graph.outputs) out[name] = await this.read(n);
      if (this.validate) await validateRun(this.plan, (n) => this.read(n), this.scalarValue);
      return out;
    });
  }

  /** Like run() but leaves the outputs on the GPU (copied out of the arena, which the next run reuses). */
  async runToGpu(inputs: Record<string, RunInput>): Promise<Record<string, GpuTensor>> {
    return this.device.arena.exclusive(async () => {
      await this.execute(inputs);
      const out: Record<string, GpuTensor> = {};
      const enc = this.device.gpu.createCommandEncoder();
      for (const [name, n] of this.plan.graph.outputs) {
        const s = this.storage.get(n)!;
        const buf = this.device.createBuffer(s.bytes, name);
        enc.copyBufferToBuffer(this.bufferOf(s), s.offset, buf, 0, Math.ceil(s.bytes / 4) * 4);
        out[name] = new GpuTensor(this.device, buf, [...n.shape], n.dtype);
      }
      this.device.gpu.queue.submit([enc.finish()]);
      return out;
    });
  }

  /** GPU time per node in ms (timestamp queries), or null where the adapter has none. */
  async profile(inputs: Record<string, RunInput>): Promise<{ label: string; op: string; ms: number }[] | null> {
    return this.device.arena.exclusive(async () => {
      this.checkScalars();
      this.bind();
      this.writeInputs(inputs);
      const ms = await this.device.submit(this.dispatches, 'profile', true);
      if (!ms) return null;
      return ms.map((t, i) => ({ label: this.dispatches[i].label, op: this.dispatchNode[i].op, ms: t }));
    });
  }

  private async execute(inputs: Record<string, RunInput>): Promise<void> {
    this.checkScalars();
    this.bind();
    this.writeInputs(inputs);
    this.device.counters.flops += this.flops;
    await this.device.submit(this.dispatches, 'graph run');
  }

  private writeInputs(inputs: Record<string, RunInput>): void {
    const g = this.plan.graph;
    for (const name of Object.keys(inputs)) {
      if (!g.inputs.has(name)) throw new EngineError(`unknown input '${name}'; the graph expects: ${describeInputs(g)}`);
    }
    for (const [name, n] of g.inputs) {
      const v = inputs[name];
      if (v === undefined) throw new EngineError(`missing input '${name}'; the graph expects: ${describeInputs(g)}`);
      const s = this.storage.get(n);
      if (!s) continue; // declared but unused by any output
      if (v instanceof GpuTensor) {
        if (!sameShape(v.shape, n.shape) || v.dtype !== n.dtype || !v.isContiguous) {
          throw new EngineError(`input '${name}': expected ${shapeStr(n.shape)} ${n.dtype}, got ${shapeStr(v.shape)} ${v.dtype}${v.isContiguous ? '' : ' (non-contiguous view)'}`);
        }
        const bpe = s.bytes / Math.max(1, n.numel);
        const enc = this.device.gpu.createCommandEncoder();
        enc.copyBufferToBuffer(v.buffer, v.offset * bpe, this.bufferOf(s), s.offset, Math.ceil(s.bytes / 4) * 4);
        this.device.gpu.queue.submit([enc.finish()]);
      } else {
        if (v.length !== numel(n.shape)) throw new EngineError(`input '${name}': expected ${numel(n.shape)} values for ${shapeStr(n.shape)}, got ${v.length}`);
        this.device.write(this.bufferOf(s), s.offset, encodeHost(v, n.dtype));
      }
    }
  }

  /**
   * Reads any live node's current value (outputs always; intermediates in validate mode)
   * from its arena chunk and offset. The arena is shared: what a node holds is valid until
   * the next run of any graph on this device.
   */
  async read(n: Node): Promise<HostArray> {
    const s = this.storage.get(n);
    if (!s) throw new Error(`${n.label} is not live in this plan`);
    if ('chunk' in s && !this.chunks[s.chunk]) throw new Error(`${n.label}: read before this graph ran`);
    const bpe = s.bytes / Math.max(1, n.numel);
    const t = new GpuTensor(this.device, this.bufferOf(s), [...n.shape], n.dtype, s.offset / bpe, undefined, false);
    return t.download(n.label);
  }

  destroy(): void {
    for (const b of this.owned) this.device.free(b);
    for (const r of this.releases) r();
    this.owned = [];
    this.releases = [];
    this.chunks = [];
    this.device.arena.release(this);
  }
}

/**
 * Operands of one kernel call whose storage an earlier operand of the call already binds
 * (x * x, or a tensor and a view of it), by position: each is bound to a copy instead.
 */
function overBinding(n: Node, bytes: number, limit: number): EngineError {
  return new EngineError(`${n.label}: tensor ${shapeStr(n.shape)} ${n.dtype} needs ${bytes} bytes, over the adapter's maxStorageBufferBindingSize ${limit}`);
}

function duplicates(call: KernelCall, root: (n: Node) => Node): number[] {
  const seen = new Set<Node>();
  const out: number[] = [];
  call.buffers.forEach((o, index) => {
    if ('scratch' in o) return;
    const r = root('byteOffset' in o ? o.node : o);
    if (seen.has(r)) out.push(index);
    seen.add(r);
  });
  return out;
}

function describeInputs(g: Graph): string {
  return [...g.inputs.values()].map((n) => `${n.label} ${shapeStr(n.shape)} ${n.dtype}`).join(', ');
}

/** Packs fixed params; a runtime scalar's place is recorded in `scalarSlots` (written by setScalars). */
function packParams(buf: ArrayBuffer, offset: number, params: Param[], node: Node, scalarSlots: Map<string, number[]>): void {
  if (params.length * 4 > UNIFORM_SLOT) throw new Error(`${node.label}: ${params.length} params exceed the uniform slot`);
  const dv = new DataView(buf, offset, UNIFORM_SLOT);
  params.forEach((p, i) => {
    if ('scalar' in p) {
      const slots = scalarSlots.get(p.scalar.name) ?? [];
      slots.push(offset + 4 * i);
      scalarSlots.set(p.scalar.name, slots);
    } else if (p.t === 'f32') dv.setFloat32(4 * i, p.v, true);
    else if (p.t === 'i32') dv.setInt32(4 * i, p.v, true);
    else {
      if (!(p.v >= 0 && p.v <= 0xffffffff && Number.isInteger(p.v))) throw new Error(`${node.label}: u32 param ${i} = ${p.v}`);
      dv.setUint32(4 * i, p.v, true);
    }
  });
}

