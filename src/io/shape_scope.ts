// A weight scope without weights: every tensor a model asks for exists with exactly the
// shape it expects. Building a model on it records a graph that can be planned and counted
// (FLOPs, planned memory) at a checkpoint's real size without the checkpoint; running it
// is impossible (the sources point at no file).
import { numel } from '../tensor/dtype.ts';
import type { WeightSource } from './safetensors.ts';
import { WeightScope, type WeightStore } from './store.ts';

const NOTHING: WeightStore = {
  has: () => false,
  source: (name) => { throw new Error(`shape-only scope: no bytes for '${name}'`); },
  names: () => [],
  describe: () => 'shape-only scope',
};

export class ShapeOnlyScope extends WeightScope {
  constructor(prefix = '', readonly bytesPerValue = 2) {
    super(NOTHING, prefix);
  }

  override sub(name: string | number): ShapeOnlyScope {
    return new ShapeOnlyScope(this.prefix ? `${this.prefix}.${name}` : String(name), this.bytesPerValue);
  }

  override has(): boolean {
    return true;
  }

  override get(name: string, expectedShape?: number[]): WeightSource {
    const full = this.prefix ? `${this.prefix}.${name}` : name;
    if (!expectedShape || expectedShape.some((d) => d < 0)) throw new Error(`shape-only scope: '${full}' needs a fully known shape`);
    // A distinct pseudo-file per tensor keeps Graph.weight's dedup key unique.
    return { name: full, file: `shape-only:${full}`, dtype: 'F16', shape: [...expectedShape], byteOffset: 0, byteLength: numel(expectedShape) * this.bytesPerValue };
  }

  override unused(): string[] {
    return [];
  }
}
