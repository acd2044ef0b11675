// What op building and encoding may know about the GPU without loading Dawn: the dispatch
// grid limit, grid1d, and the adapter facts the variant policy (src/ops/variant.ts) reads.
// device.ts (the only Dawn importer) fills AdapterFacts from the adapter it opened; graph
// building imports this file only, so `import`ing a model does not load the native module.
import { EngineError } from '../errors.ts';

export const MAX_GRID = 65535;

/** What a kernel variant choice may depend on (src/gpu/device.ts `Device.facts`). */
export interface AdapterFacts {
  /** A CPU-emulated adapter (lavapipe, SwiftShader): kernels without barriers win there. */
  isSoftware: boolean;
  hasSubgroups: boolean;
  hasF16: boolean;
  /** maxComputeWorkgroupStorageSize in bytes. */
  maxWorkgroupStorage: number;
  /** The most bytes one storage binding may cover (maxStorageBufferBindingSize, maxBufferSize). */
  maxBindingBytes: number;
}

/** True for adapter names of CPU-emulated drivers. */
export function isSoftwareAdapter(name: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(name);
}

/**
 * Spreads `n` workgroups over x and y so neither exceeds 65535. Kernels that use it
 * recover the linear workgroup index as `wid.x + wid.y * nwg.x` and must bound-check,
 * since x*y may exceed n.
 */
export function grid1d(n: number): [number, number, number] {
  if (n <= MAX_GRID) return [Math.max(1, n), 1, 1];
  const y = Math.ceil(n / MAX_GRID);
  if (y > MAX_GRID) throw new EngineError(`dispatch of ${n} workgroups exceeds 65535² workgroups`);
  return [Math.ceil(n / y), y, 1];
}
