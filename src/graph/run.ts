// Run step: allocate what the plan asked for, upload weights, resolve every op's
// kernel calls into pipelines + bind groups once, then each run() writes the inputs,
// submits all dispatches in one command buffer and reads the outputs. Runtime scalars
// (Graph.scalar) live in the uniform slots: setScalars() rewrites just those values, so
// a new alpha costs one small buffer write, no compile, plan or bind group.
import { EngineError } from '../errors.ts';
import type { Device, Dispatch } from '../gpu/device.ts';
import { getOp, type EncodeContext, type KernelCall, type Operand, type Param } from '../ops/registry.ts';
import { variantOverridesFromEnv, type VariantOverrides } from '../ops/variant.ts';
import { GpuTensor } from '../tensor/tensor.ts';
import { byteSize, encodeHost, numel, sameShape, shapeStr } from '../tensor/dtype.ts';
import type { Graph, Node, ScalarArg } from './graph.ts';
import { plan as makePlan, type Plan } from './plan.ts';
import { acquireWeight } from './weights.ts';
import { validateRun } from './validate.ts';

const UNIFORM_SLOT = 256;

interface Storage { buffer: GPUBuffer; offset: number; bytes: number }

export interface CompileOptions {
  /** Re-run each node's CPU reference after run() and name the first that diverges. */
  validate?: boolean;
  /** Kernel variants per op (src/ops/variant.ts); default: ENGINE_FORCE_VARIANT. */
  variants?: VariantOverrides;
}

export type HostArray = Float32Array | Int32Array | Uint32Array;
export type RunInput = ArrayLike<number> | GpuTensor;

export class Executable {
  private storage = new Map<Node, Storage>();
  private dispatches: Dispatch[] = [];
  private dispatchNode: Node[] = [];
  private owned: GPUBuffer[] = [];
  private releases: (() => void)[] = [];
  private uniforms: GPUBuffer | null = null;
  private packed = new ArrayBuffer(0);
  /** Byte offsets in the uniforms of every use of each runtime scalar. */
  private scalarSlots = new Map<string, number[]>();
  private scalarValues = new Map<string, number>();

  private constructor(readonly device: Device, readonly plan: Plan, readonly validate: boolean, readonly context: EncodeContext) {}

  static async compile(device: Device, graph: Graph, opts: CompileOptions = {}): Promise<Executable> {
    const validate = opts.validate ?? process.env.ENGINE_VALIDATE === '1';
    const p = makePlan(graph, { noReuse: validate });
    const ctx: EncodeContext = { ...device.facts, variants: opts.variants ?? variantOverridesFromEnv() };
    const ex = new Executable(device, p, validate, ctx);
    await ex.allocate();
    await ex.encode();
    return ex;
  }

  /** Peak memory the plan needs, and what it would need without buffer reuse. */
  get memory() {
    const p = this.plan;
    return { peakBytes: p.peakBytes, intermediateBytes: p.intermediateBytes, poolBytes: p.poolSizes.reduce((a, b) => a + b, 0), ...p.pinned };
  }

  private async allocate(): Promise<void> {
    const dev = this.device, p = this.plan;
    const limit = dev.limits.maxStorageBufferBindingSize;
    for (const n of p.live) {
      const bytes = byteSize(n.shape, n.dtype);
      if (bytes > limit) {
        throw new EngineError(`${n.label}: tensor ${shapeStr(n.shape)} ${n.dtype} needs ${bytes} bytes, over the adapter's maxStorageBufferBindingSize ${limit}`);
      }
    }
    const pool = p.poolSizes.map((size, i) => this.own(dev.createBuffer(size, `pool${i}`)));
    for (const n of p.live) {
      const r = p.root.get(n)!;
      if (r !== n) continue;
      const bytes = byteSize(n.shape, n.dtype);
      const slot = p.slot.get(n);
      let buffer: GPUBuffer;
      if (n.leaf?.kind === 'weight') {
        const w = await acquireWeight(dev, n.leaf.src, n.shape, n.dtype, n.label);
        this.releases.push(w.release);
        buffer = w.buffer;
      } else buffer = slot !== undefined ? pool[slot] : this.own(dev.createBuffer(bytes, n.label));
      this.storage.set(n, { buffer, offset: 0, bytes });
      if (n.leaf?.kind === 'const') dev.write(buffer, 0, encodeHost(n.leaf.data, n.dtype));
    }
    for (const n of p.live) {
      const r = p.root.get(n)!;
      if (r !== n) this.storage.set(n, { ...this.storage.get(r)!, bytes: byteSize(n.shape, n.dtype) });
    }
  }

  private async encode(): Promise<void> {
    const dev = this.device, ctx = this.context;
    const calls: { node: Node; call: KernelCall }[] = [];
    for (const n of this.plan.order) for (const call of getOp(n.op).encode(n, ctx)) calls.push({ node: n, call });
    const uniforms = this.own(dev.createBuffer(Math.max(1, calls.length) * UNIFORM_SLOT, 'uniforms', 'uniform'));
    const packed = new ArrayBuffer(Math.max(1, calls.length) * UNIFORM_SLOT);
    this.uniforms = uniforms;
    this.packed = packed;
    const scratch = new Map<string, Storage>();
    const pipelines = await Promise.all(calls.map(({ node, call }) => dev.pipeline({ dtype: node.dtype === 'f16' ? 'f16' : 'f32', ...call.kernel })));
    calls.forEach(({ node, call }, i) => {
      packParams(packed, i * UNIFORM_SLOT, call.params, node, this.scalarSlots);
      const bufs = [{ buffer: uniforms, offset: i * UNIFORM_SLOT, size: UNIFORM_SLOT }];
      for (const o of call.buffers) bufs.push(this.resolve(o, node, scratch));
      this.dispatches.push({ pipeline: pipelines[i], bindGroup: dev.bindGroup(pipelines[i], bufs, node.label), grid: call.grid, label: node.label });
      this.dispatchNode.push(node);
    });
    dev.write(uniforms, 0, new Uint8Array(packed));
  }

  private resolve(o: Operand, node: Node, scratch: Map<string, Storage>) {
    if ('scratch' in o) {
      const key = `${node.id}:${o.tag}`;
      let s = scratch.get(key);
      if (!s) {
        s = { buffer: this.own(this.device.createBuffer(o.scratch, `${node.label} scratch ${o.tag}`)), offset: 0, bytes: o.scratch };
        scratch.set(key, s);
      }
      return { buffer: s.buffer, offset: 0, size: Math.ceil(s.bytes / 4) * 4 };
    }
    const s = this.storage.get(o);
    if (!s) throw new Error(`${node.label}: operand ${o.label} has no storage (not in the plan)`);
    return { buffer: s.buffer, offset: s.offset, size: Math.ceil(Math.max(s.bytes, 4) / 4) * 4 };
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

  /** Writes inputs, runs every dispatch, returns the named outputs as host arrays. */
  async run(inputs: Record<string, RunInput>): Promise<Record<string, HostArray>> {
    await this.execute(inputs);
    const out: Record<string, HostArray> = {};
    for (const [name, n] of this.plan.graph.outputs) out[name] = await this.read(n);
    if (this.validate) await validateRun(this.plan, (n) => this.read(n), this.scalarValue);
    return out;
  }

  /** Like run() but leaves the outputs on the GPU (copied, so the next run can't clobber them). */
  async runToGpu(inputs: Record<string, RunInput>): Promise<Record<string, GpuTensor>> {
    await this.execute(inputs);
    const out: Record<string, GpuTensor> = {};
    const enc = this.device.gpu.createCommandEncoder();
    for (const [name, n] of this.plan.graph.outputs) {
      const s = this.storage.get(n)!;
      const buf = this.device.createBuffer(s.bytes, name);
      enc.copyBufferToBuffer(s.buffer, s.offset, buf, 0, Math.ceil(s.bytes / 4) * 4);
      out[name] = new GpuTensor(this.device, buf, [...n.shape], n.dtype);
    }
    this.device.gpu.queue.submit([enc.finish()]);
    return out;
  }

  /** GPU time per node in ms (timestamp queries), or null where the adapter has none. */
  async profile(inputs: Record<string, RunInput>): Promise<{ label: string; op: string; ms: number }[] | null> {
    this.checkScalars();
    this.writeInputs(inputs);
    const ms = await this.device.submit(this.dispatches, 'profile', true);
    if (!ms) return null;
    return ms.map((t, i) => ({ label: this.dispatches[i].label, op: this.dispatchNode[i].op, ms: t }));
  }

  private async execute(inputs: Record<string, RunInput>): Promise<void> {
    this.checkScalars();
    this.writeInputs(inputs);
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
        enc.copyBufferToBuffer(v.buffer, v.offset * bpe, s.buffer, s.offset, Math.ceil(s.bytes / 4) * 4);
        this.device.gpu.queue.submit([enc.finish()]);
      } else {
        if (v.length !== numel(n.shape)) throw new EngineError(`input '${name}': expected ${numel(n.shape)} values for ${shapeStr(n.shape)}, got ${v.length}`);
        this.device.write(s.buffer, s.offset, encodeHost(v, n.dtype));
      }
    }
  }

  /** Reads any live node's current value (outputs always; intermediates in validate mode). */
  async read(n: Node): Promise<HostArray> {
    const s = this.storage.get(n);
    if (!s) throw new Error(`${n.label} is not live in this plan`);
    const t = new GpuTensor(this.device, s.buffer, [...n.shape], n.dtype, 0, undefined, false);
    return t.download(n.label);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    for (const r of this.releases) r();
    this.owned = [];
    this.releases = [];
  }
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

