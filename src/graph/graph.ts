// Build step of build -> plan -> run: recording nodes only, no GPU work. Every op
// builder (src/ops/*) validates shapes and dtypes here, so nothing knowable at build
// time fails later on the GPU.
import { EngineError } from '../errors.ts';
import { checkShape, numel, shapeStr, type DType, type Shape } from '../tensor/dtype.ts';
import { sourceKey, type WeightSource } from '../io/safetensors.ts';

export type Float = 'f32' | 'f16';

/** Data held in JS for small weights and constants (tests, embeddings computed on CPU). */
export interface HostData {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
}

export type Leaf =
  | { kind: 'input'; name: string }
  | { kind: 'weight'; src: WeightSource | HostData }
  | { kind: 'const'; data: ArrayLike<number> };

export class Node {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: string, // 'leaf' | 'view' | a registered op name
    readonly inputs: Node[],
    readonly shape: number[],
    readonly dtype: DType,
    readonly attrs: Record<string, any>,
    readonly label: string,
    readonly leaf?: Leaf,
  ) {}

  get rank(): number { return this.shape.length; }
  get numel(): number { return numel(this.shape); }
  /** Size of dimension `i`; negative counts from the end. */
  dim(i: number): number { return this.shape[i < 0 ? this.shape.length + i : i]; }
  toString(): string { return `${this.label} ${shapeStr(this.shape)} ${this.dtype}`; }
}

/**
 * A float the graph reads at run time (from the uniforms): declared while building, its
 * value set on the compiled Executable (setScalars) before a run, so changing it
 * recompiles, re-plans and re-binds nothing. Guidance strengths are scalars.
 */
export class Scalar {
  constructor(readonly graph: Graph, readonly name: string) {}
  toString(): string { return `scalar '${this.name}'`; }
}

/** An op argument that is either fixed at build time or a runtime scalar. */
export type ScalarArg = number | Scalar;

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs = new Map<string, Node>();
  readonly outputs = new Map<string, Node>();
  readonly scalars = new Map<string, Scalar>();
  private scopes: string[] = [];
  private weights = new Map<string, Node>();

  /** `dtype` is the float type activations and weights are computed in. */
  constructor(readonly dtype: Float = 'f32') {}

  /** Runs `fn` with `name` appended to the label of every node it creates. */
  scope<R>(name: string | number, fn: () => R): R {
    this.scopes.push(String(name));
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  label(op: string): string {
    return this.scopes.length ? `${this.scopes.join('.')}:${op}` : op;
  }

  input(name: string, shape: Shape, dtype: DType = this.dtype): Node {
    checkShape(shape, `input '${name}'`);
    if (this.inputs.has(name)) throw new EngineError(`graph input '${name}' declared twice`);
    const n = this.push('leaf', [], [...shape], dtype, {}, name, { kind: 'input', name });
    this.inputs.set(name, n);
    return n;
  }

  /** The runtime scalar `name` (declared on first use; every use of a name is the same scalar). */
  scalar(name: string): Scalar {
    let s = this.scalars.get(name);
    if (!s) {
      s = new Scalar(this, name);
      this.scalars.set(name, s);
    }
    return s;
  }

  /**
   * A weight streamed from disk (or given as host data) at compile time, stored as `dtype`.
   * A q8_0 source is dequantized to `dtype` unless `dtype` is 'q8_0' (what Linear asks
   * for: matmul reads the blocks itself); 'q8_0' needs a q8_0 source.
   */
  weight(src: WeightSource | HostData, dtype: DType = this.dtype): Node {
    const key = 'file' in src ? `${sourceKey(src)}:${dtype}` : `host:${src.name}:${dtype}`;
    const seen = this.weights.get(key);
    if (seen) return seen;
    checkShape(src.shape, `weight '${src.name}'`);
    if (dtype === 'q8_0' && (!('file' in src) || src.dtype !== 'Q8_0')) throw new EngineError(`weight '${src.name}': q8_0 storage needs a q8_0 tensor, got ${'file' in src ? src.dtype : 'host data'}`);
    if (!('file' in src) && src.data.length !== numel(src.shape)) {
      throw new EngineError(`weight '${src.name}': ${src.data.length} values for shape ${shapeStr(src.shape)}`);
    }
    const n = this.push('leaf', [], [...src.shape], dtype, {}, src.name, { kind: 'weight', src });
    this.weights.set(key, n);
    return n;
  }

  constant(data: ArrayLike<number>, shape: Shape, dtype: DType = this.dtype, name = 'const'): Node {
    if (data.length !== numel(shape)) throw new EngineError(`constant '${name}': ${data.length} values for shape ${shapeStr(shape)}`);
    return this.push('leaf', [], [...shape], dtype, {}, this.label(name), { kind: 'const', data });
  }

  output(name: string, node: Node): void {
    if (node.graph !== this) throw new EngineError(`output '${name}' belongs to another graph`);
    this.outputs.set(name, node);
  }

  /** Records an op node; called by the op builders in src/ops. */
  add(op: string, inputs: Node[], shape: Shape, dtype: DType, attrs: Record<string, any> = {}): Node {
    for (const x of inputs) if (x.graph !== this) throw new EngineError(`${op}: input ${x.label} belongs to another graph`);
    checkShape(shape, op);
    return this.push(op, inputs, [...shape], dtype, attrs, this.label(op));
  }

  /** A view: same storage as `x`, another shape (contiguous reshape). */
  view(x: Node, shape: Shape): Node {
    if (numel(shape) !== x.numel) throw new EngineError(`${this.label('reshape')}: cannot view ${x} as ${shapeStr(shape)}`);
    return this.push('view', [x], [...shape], x.dtype, {}, this.label('reshape'));
  }

  private push(op: string, inputs: Node[], shape: number[], dtype: DType, attrs: Record<string, any>, label: string, leaf?: Leaf): Node {
    const n = new Node(this, this.nodes.length, op, inputs, shape, dtype, attrs, label, leaf);
    this.nodes.push(n);
    return n;
  }
}

/** Throws the standard build-time error for an op given incompatible inputs. */
export function badShapes(op: string, why: string, ...xs: Node[]): never {
  const g = xs[0]?.graph;
  const where = g ? g.label(op) : op;
  throw new EngineError(`${where}: ${why} (got ${xs.map((x) => `${shapeStr(x.shape)} ${x.dtype}`).join(' and ')})`);
}

