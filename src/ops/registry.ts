// The executor's op table: op name -> how to encode it (kernel calls) and, for the
// validate mode, how to recompute it on the CPU from src/ref.
import type { KernelSpec } from '../gpu/kernels.ts';
import { Scalar, type Node, type ScalarArg } from '../graph/graph.ts';
import type { VariantContext } from './variant.ts';

export type ParamType = 'u32' | 'i32' | 'f32';
/** One 4-byte uniform value: fixed, or a runtime scalar the executor writes before submit. */
export type Param = { t: ParamType; v: number } | { t: 'f32'; scalar: Scalar };
export const u32 = (v: number): Param => ({ t: 'u32', v });
export const i32 = (v: number): Param => ({ t: 'i32', v });
export const f32 = (v: ScalarArg): Param => (v instanceof Scalar ? { t: 'f32', scalar: v } : { t: 'f32', v });

/** Value of a ScalarArg in a CPU reference (validate mode): the run's current value. */
export type ScalarValue = (x: ScalarArg) => number;

/** A temporary buffer an op needs between its own dispatches (e.g. partial sums). */
export interface Scratch { scratch: number /* bytes */; tag: string }

/**
 * A byte range of a node's storage bound on its own (256-aligned offset): how an op reads a
 * weight larger than one binding may cover, one slab per kernel call (see embedding).
 */
export interface Slab { node: Node; byteOffset: number; bytes: number }

export type Operand = Node | Scratch | Slab;

/**
 * One kernel dispatch of an op. Binding 0 is the `params` uniform; bindings 1.. are
 * `buffers` in order (inputs first, the output last by convention).
 */
export interface KernelCall {
  kernel: Omit<KernelSpec, 'dtype'> & { dtype?: KernelSpec['dtype'] };
  buffers: Operand[];
  params: Param[];
  grid: [number, number, number];
}

export interface OpDef {
  name: string;
  /** Kernel calls that compute `node` from its inputs into its own storage. */
  encode(node: Node, ctx: EncodeContext): KernelCall[];
  /** CPU recomputation from src/ref for the validate mode (inputs widened to f32). */
  ref?(node: Node, inputs: Float32Array[], scalar: ScalarValue): Float32Array | Promise<Float32Array>;
}

/** What an op may ask when choosing a kernel: adapter facts and variant overrides (src/ops/variant.ts). */
export type EncodeContext = VariantContext;

const ops = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (ops.has(def.name)) throw new Error(`op '${def.name}' defined twice`);
  ops.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef {
  const d = ops.get(name);
  if (!d) throw new Error(`no op '${name}' is registered (is src/ops/${name}.ts imported?)`);
  return d;
}
