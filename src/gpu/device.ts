// The only module that touches Dawn (npm `webgpu`). Its contract is small on purpose:
// find an adapter, allocate/free/copy buffers, compile a kernel, and encode dispatches
// (see Dispatch) into one command buffer, optionally timed with timestamp queries.
// (The reference keeps WebGPU's global types in the emitted .d.ts for the package's users.)
/// <reference types="webgpu" preserve="true" />
import { create, globals } from 'webgpu';
import { EngineError } from '../errors.ts';
import { compileKernel, type KernelSpec } from './kernels.ts';
import { Arena } from './arena.ts';
import { DeviceMemory, type MemoryKind } from './memory.ts';
import { isSoftwareAdapter, type AdapterFacts } from './facts.ts';

Object.assign(globalThis, globals);
// lavapipe complains on stderr when this is unset; any writable folder silences it.
process.env.XDG_RUNTIME_DIR ??= '/tmp';

export interface DeviceOptions {
  backend?: 'vulkan' | 'metal' | 'd3d12' | 'opengles';
  adapterName?: string; // substring of the adapter's description/device name
  powerPreference?: 'low-power' | 'high-performance';
  /** Leave out optional features (tests use this to exercise fallback paths). */
  disableFeatures?: string[];
  /**
   * Dawn's `disable_robustness` toggle: no bounds clamping of storage accesses in the
   * generated shaders (faster on some GPUs; the engine's kernels bound-check themselves).
   * Default: env ENGINE_DISABLE_ROBUSTNESS=1.
   */
  disableRobustness?: boolean;
}

export interface AdapterReport {
  vendor: string; architecture: string; device: string; description: string;
  features: string[]; maxStorageBufferBindingSize: number; maxBufferSize: number;
  subgroupMatrixConfigs: number;
}

/** One compute dispatch, fully resolved: what the executor hands the device. */
export interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number, number];
  label: string;
  /** Buffer copies to do first (outside the compute pass), e.g. a second copy of an operand bound twice. */
  copies?: Copy[];
}

export interface Copy { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }

const WANTED_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;

export class Device {
  readonly features: Set<string>;
  readonly limits: GPUSupportedLimits;
  private pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /**
   * What this device has done so far: pipelines compiled (cache misses), bind groups,
   * compute dispatches and their submits (submit()), host round trips (read()), bytes
   * written from / read back to the host, and engine-counted FLOPs of the graphs run
   * (added by the graph executor, which knows the work: src/graph/flops.ts). Benchmarks
   * diff snapshots of it.
   */
  readonly counters = { pipelinesCompiled: 0, bindGroupsCreated: 0, dispatches: 0, submits: 0, readbacks: 0, bytesUploaded: 0, bytesReadBack: 0, flops: 0 };
  /** Dawn toggles this device was opened with (for benchmark lines). */
  readonly toggles: string[];
  /** Bytes of every buffer this device holds, by kind, now and at peak (src/gpu/memory.ts). */
  readonly memory = new DeviceMemory();
  /** The one pool every compiled graph on this device takes its activations from. */
  readonly arena: Arena;
  private lostReason: string | null = null;
  private uncaptured: string[] = [];

  private constructor(
    readonly gpu: GPUDevice,
    readonly adapter: AdapterReport,
    // Dawn frees the instance when its JS wrapper is collected, even with a live device
    // (seen as random aborts on lavapipe): hold the instance and adapter for the device's life.
    private readonly keepAlive: unknown[],
    toggles: string[] = [],
  ) {
    this.toggles = toggles;
    this.features = new Set([...gpu.features] as string[]);
    this.limits = gpu.limits;
    this.arena = new Arena(this);
    gpu.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lostReason = `${info.reason}: ${info.message}`;
    });
    gpu.addEventListener('uncapturederror', (ev: any) => {
      this.uncaptured.push(String(ev.error?.message ?? ev.error));
    });
  }

  static async open(opts: DeviceOptions = {}): Promise<Device> {
    const flags: string[] = [];
    if (opts.backend) flags.push(`backend=${opts.backend}`);
    if (opts.adapterName) flags.push(`adapter=${opts.adapterName}`);
    const toggles = (opts.disableRobustness ?? process.env.ENGINE_DISABLE_ROBUSTNESS === '1') ? ['disable_robustness'] : [];
    if (toggles.length) flags.push(`enable-dawn-features=${toggles.join(',')}`);
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
    if (!adapter) {
      throw new EngineError(
        'no WebGPU adapter found. On a machine without a GPU install a software Vulkan driver: ' +
          '`bash tools/install-software-gpu.sh` (as root: Mesa >= 24 lavapipe, e.g. Debian 12 ' +
          'bookworm-backports `mesa-vulkan-drivers`); with a GPU, install its Vulkan driver and loader (libvulkan1).',
      );
    }
    const skip = new Set(opts.disableFeatures ?? []);
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f) && !skip.has(f));
    const al = adapter.limits;
    const gpuDev = await adapter.requestDevice({
      requiredFeatures: requiredFeatures as GPUFeatureName[],
      requiredLimits: {
        maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
        maxBufferSize: al.maxBufferSize,
        maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
        maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
      },
    });
    const info: any = adapter.info ?? {};
    const report: AdapterReport = {
      vendor: String(info.vendor ?? ''), architecture: String(info.architecture ?? ''),
      device: String(info.device ?? ''), description: String(info.description ?? ''),
      features: [...adapter.features] as string[],
      maxStorageBufferBindingSize: al.maxStorageBufferBindingSize, maxBufferSize: al.maxBufferSize,
      subgroupMatrixConfigs: Array.isArray(info.subgroupMatrixConfigs) ? info.subgroupMatrixConfigs.length : 0,
    };
    markOnce('gpu:device-ready'); // startup timeline (`generate --stats`)
    return new Device(gpuDev, report, [gpu, adapter], toggles);
  }

  /** A short adapter name for benchmark and log lines. */
  get adapterName(): string {
    const a = this.adapter;
    return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  }

  /** True on CPU-emulated adapters, where kernel variants are chosen differently. */
  get isSoftware(): boolean {
    return isSoftwareAdapter(this.adapterName + ' ' + this.adapter.architecture);
  }

  /** What the kernel variant policy (src/ops/variant.ts) is told about this device. */
  get facts(): AdapterFacts {
    return {
      isSoftware: this.isSoftware, hasSubgroups: this.features.has('subgroups'), hasF16: this.hasF16(),
      maxWorkgroupStorage: this.limits.maxComputeWorkgroupStorageSize,
      maxBindingBytes: Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize),
    };
  }

  hasF16(): boolean { return this.features.has('shader-f16'); }

  // ---- buffers -------------------------------------------------------------------------

  /**
   * A new buffer, counted under `kind` (default by usage: storage -> tensors, uniform ->
   * uniforms, read/query -> staging) until free() releases it.
   */
  createBuffer(bytes: number, label: string, usage = 'storage' as 'storage' | 'uniform' | 'read' | 'query', kind?: MemoryKind): GPUBuffer {
    this.checkAlive(label);
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const U = GPUBufferUsage;
    const flags = {
      storage: U.STORAGE | U.COPY_SRC | U.COPY_DST,
      uniform: U.UNIFORM | U.COPY_DST,
      read: U.MAP_READ | U.COPY_DST,
      query: U.QUERY_RESOLVE | U.COPY_SRC,
    }[usage];
    if (size > this.limits.maxBufferSize) {
      throw new EngineError(`${label}: buffer of ${size} bytes exceeds the adapter's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const buf = this.gpu.createBuffer({ size, usage: flags, label });
    this.memory.add(buf, kind ?? ({ storage: 'tensors', uniform: 'uniforms', read: 'staging', query: 'staging' } as const)[usage], size);
    return buf;
  }

  /** Destroys a buffer from createBuffer and stops counting it (twice is harmless). */
  free(buf: GPUBuffer): void {
    this.memory.remove(buf);
    buf.destroy();
  }

  /** Writes bytes at a byte offset; pads the tail to 4 bytes as WebGPU requires. */
  write(buf: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    this.counters.bytesUploaded += bytes.byteLength;
    this.gpu.queue.writeBuffer(buf, byteOffset, bytes);
  }

  /** Copies `bytes` bytes of `buf` from `byteOffset` back to the CPU. */
  async read(buf: GPUBuffer, byteOffset: number, bytes: number, label: string): Promise<Uint8Array> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.createBuffer(size, `${label} (readback)`, 'read');
    const enc = this.gpu.createCommandEncoder();
    enc.copyBufferToBuffer(buf, byteOffset, staging, 0, size);
    this.gpu.queue.submit([enc.finish()]);
    this.counters.readbacks++;
    this.counters.bytesReadBack += size;
    await this.check(`reading ${label}`, staging.mapAsync(GPUMapMode.READ));
    const out = new Uint8Array(staging.getMappedRange().slice(0, bytes));
    staging.unmap();
    this.free(staging);
    return out;
  }

  // ---- kernels ---------------------------------------------------------------------------

  /** Compiles (once per key) the kernel `spec`: WGSL file + dtype + defines + overrides. */
  pipeline(spec: KernelSpec): Promise<GPUComputePipeline> {
    const { key, code, constants } = compileKernel(spec, this);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(key, code, constants);
      this.pipelines.set(key, p);
    }
    return p;
  }

  private async compile(key: string, code: string, constants: Record<string, number>): Promise<GPUComputePipeline> {
    this.counters.pipelinesCompiled++;
    this.gpu.pushErrorScope('validation');
    const module = this.gpu.createShaderModule({ code, label: key });
    const pipeline = this.gpu.createComputePipeline({
      layout: 'auto', label: key, compute: { module, entryPoint: 'main', constants },
    });
    const err = await this.gpu.popErrorScope();
    if (err) {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join('\n');
      throw new Error(`kernel ${key} failed to compile: ${err.message}\n${msgs}`);
    }
    return pipeline;
  }

  bindGroup(pipeline: GPUComputePipeline, buffers: { buffer: GPUBuffer; offset?: number; size?: number }[], label: string): GPUBindGroup {
    this.counters.bindGroupsCreated++;
    return this.gpu.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } })),
    });
  }

  // ---- execution -------------------------------------------------------------------------

  /**
   * Encodes all dispatches into one compute pass and submits them. With `timing`,
   * each dispatch gets its own pass bracketed by timestamp queries and the result is
   * the per-dispatch GPU time in ms (null when the adapter has no timestamp queries).
   */
  async submit(dispatches: Dispatch[], what: string, timing = false): Promise<number[] | null> {
    this.checkAlive(what);
    const timed = timing && this.features.has('timestamp-query');
    const enc = this.gpu.createCommandEncoder({ label: what });
    let qs: GPUQuerySet | undefined, resolve: GPUBuffer | undefined;
    this.gpu.pushErrorScope('validation');
    this.gpu.pushErrorScope('out-of-memory');
    if (timed) {
      const n = dispatches.length * 2;
      qs = this.gpu.createQuerySet({ type: 'timestamp', count: n });
      for (let i = 0; i < dispatches.length; i++) {
        encodeCopies(enc, dispatches[i]);
        const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        encodeOne(pass, dispatches[i]);
        pass.end();
      }
      resolve = this.createBuffer(n * 8, 'timestamps', 'query');
      enc.resolveQuerySet(qs, 0, n, resolve, 0);
    } else {
      let pass = enc.beginComputePass({ label: what });
      for (const d of dispatches) {
        if (d.copies?.length) {
          pass.end();
          encodeCopies(enc, d);
          pass = enc.beginComputePass({ label: what });
        }
        encodeOne(pass, d);
      }
      pass.end();
    }
    if (dispatches.length) markOnce('gpu:first-dispatch');
    this.gpu.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.counters.dispatches += dispatches.length;
    const oom = await this.gpu.popErrorScope();
    const val = await this.gpu.popErrorScope();
    if (oom) throw new EngineError(`${what}: GPU out of memory: ${oom.message}`);
    if (val) throw new Error(`${what}: WebGPU validation error: ${val.message}`);
    await this.check(what, this.gpu.queue.onSubmittedWorkDone());
    if (!timed || !resolve) return timing ? null : [];
    const raw = await this.read(resolve, 0, dispatches.length * 16, 'timestamps');
    const t = new BigInt64Array(raw.buffer);
    const ms: number[] = [];
    for (let i = 0; i < dispatches.length; i++) ms.push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    this.free(resolve);
    qs!.destroy();
    return ms;
  }

  /** Awaits `p` and turns device loss or uncaptured errors into errors naming `what`. */
  private async check<T>(what: string, p: Promise<T>): Promise<T> {
    const r = this.isSoftware ? await gentlePolling(p) : await p;
    this.checkAlive(what);
    return r;
  }

  private checkAlive(what: string): void {
    if (this.lostReason) throw new Error(`${what}: GPU device lost (${this.lostReason})`);
    if (this.uncaptured.length) {
      const msgs = this.uncaptured.splice(0);
      throw new Error(`${what}: WebGPU error: ${msgs.join('; ')}`);
    }
  }

  destroy(): void {
    this.gpu.destroy();
  }
}

// While a promise from Dawn is pending, dawn.node polls for events in a setImmediate loop.
// On a software adapter that loop takes a whole core from the driver's worker threads
// (measured ~1.6x slower conv2d on 2 cores); polling every millisecond instead costs
// nothing noticeable there. Real GPUs keep the tight loop (low latency for small work).
let gentleDepth = 0;
let savedSetImmediate: typeof setImmediate | null = null;
async function gentlePolling<T>(p: Promise<T>): Promise<T> {
  if (gentleDepth++ === 0) {
    savedSetImmediate = globalThis.setImmediate;
    (globalThis as any).setImmediate = (fn: (...a: any[]) => void, ...args: any[]) => setTimeout(fn, 1, ...args);
  }
  try {
    return await p;
  } finally {
    if (--gentleDepth === 0) globalThis.setImmediate = savedSetImmediate!;
  }
}

function encodeCopies(enc: GPUCommandEncoder, d: Dispatch): void {
  for (const c of d.copies ?? []) enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
}

function encodeOne(pass: GPUComputePassEncoder, d: Dispatch): void {
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
}

/** A performance mark (ms since process start; detail: CPU ms so far) set the first time only. */
function markOnce(name: string): void {
  if (performance.getEntriesByName(name, 'mark').length) return;
  const cpu = process.cpuUsage();
  performance.mark(name, { detail: { cpuMs: (cpu.user + cpu.system) / 1000 } });
}

let shared: Promise<Device> | null = null;

/** The process-wide default device (tests, CLI). */
export function getDevice(opts?: DeviceOptions): Promise<Device> {
  if (!shared) {
    shared = Device.open(opts);
    // Exiting with a live Dawn device can abort inside the Vulkan driver's threads
    // (seen on lavapipe); destroying it first makes exit clean.
    shared.then((d) => process.once('exit', () => d.destroy()), () => {});
  }
  return shared;
}
