// Exact weight bytes of FLUX.1-schnell (or -dev) at its real config, per storage dtype:
// the model is built on a shape-only scope that records every tensor it asks for, and
// each tensor is sized as `convert --dtype q8_0` would store it (src/io/quantize.ts
// decides which become Q8_0 blocks; the rest stay in the source dtype, F16/BF16 here).
//   npx tsx tools/flux-q8-size.ts [schnell|dev]
import { ShapeOnlyScope } from '../src/io/shape_scope.ts';
import { q8Decision } from '../src/io/quantize.ts';
import type { WeightSource } from '../src/io/safetensors.ts';
import { FluxTransformer2DModel } from '../src/models/flux.ts';
import { FLUX_DEV, FLUX_SCHNELL } from '../src/models/flux_configs.ts';
import { q8Bytes } from '../src/tensor/q8_0.ts';

const seen = new Map<string, number[]>();
class Recording extends ShapeOnlyScope {
  override sub(name: string | number): Recording {
    return new Recording(this.prefix ? `${this.prefix}.${name}` : String(name));
  }
  override get(name: string, shape?: number[]): WeightSource {
    const s = super.get(name, shape);
    seen.set(s.name, s.shape);
    return s;
  }
}

const which = process.argv[2] ?? 'schnell';
new FluxTransformer2DModel(new Recording(), which === 'dev' ? FLUX_DEV : FLUX_SCHNELL);
let params = 0, q8Params = 0, keptParams = 0, q8 = 0;
for (const [name, shape] of seen) {
  const n = shape.reduce((a, b) => a * b, 1);
  params += n;
  if (q8Decision({ name, dtype: 'F16', shape }).quantize) { q8 += q8Bytes(shape); q8Params += n; }
  else keptParams += n;
}
const gb = (b: number) => `${(b / 1e9).toFixed(3)} GB (${(b / 2 ** 30).toFixed(3)} GiB, ${b} bytes)`;
console.log(`FLUX.1-${which} transformer: ${seen.size} tensors, ${params} parameters`);
console.log(`  f32:  ${gb(params * 4)}`);
console.log(`  f16:  ${gb(params * 2)}`);
console.log(`  q8_0: ${gb(q8 + keptParams * 2)}  (${q8Params} parameters in Q8_0 blocks, ${keptParams} kept in F16)`);
console.log(`  q8_0 saves ${gb(params * 2 - q8 - keptParams * 2)} against f16 (${((1 - (q8 + keptParams * 2) / (params * 2)) * 100).toFixed(1)}%)`);
