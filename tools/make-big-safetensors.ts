// Generate a large F32 safetensors file (default ~1 GiB) for conversion benchmarks and
// streaming checks, writing it chunk by chunk so the generator itself stays small in
// memory. Never commit its output.
//   npx tsx tools/make-big-safetensors.ts /tmp/big.safetensors [--mb 1024] [--tensors 64] [--hot 3]
// --hot N puts N values per tensor above the f16 range, to exercise overflow reporting.
import { parseArgs } from '../src/cli/args.ts';
import { EngineError } from '../src/errors.ts';
import { SafetensorsWriter } from '../src/io/safetensors.ts';

const COLS = 1024;
const CHUNK_ROWS = 1024; // 4 MiB of f32 per write

export function makeBigSafetensors(path: string, megabytes = 1024, tensors = 64, hot = 0): number {
  const rowsTotal = Math.floor((megabytes * (1 << 20)) / 4 / COLS);
  const rows = Math.max(1, Math.floor(rowsTotal / tensors));
  const decl = Array.from({ length: tensors }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32' as const, shape: [rows, COLS] }));
  const w = new SafetensorsWriter(path, decl, { format: 'pt', generator: 'tools/make-big-safetensors.ts' });
  // Deterministic pseudo-normal values of weight-like magnitude (Irwin-Hall of 4 uniforms).
  let seed = 0x9e3779b9;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const chunk = new Float32Array(CHUNK_ROWS * COLS).map(() => (rnd() + rnd() + rnd() + rnd() - 2) * 0.05);
  for (const t of w.order) {
    for (let r = 0; r < rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows - r) * COLS;
      const part = chunk.subarray(0, n);
      if (r === 0 && hot) for (let h = 0; h < Math.min(hot, n); h++) part[h * 7 + 1] = 1e5 * (h + 1);
      w.write(t.name, new Uint8Array(part.buffer, 0, n * 4));
      if (r === 0 && hot) for (let h = 0; h < Math.min(hot, n); h++) part[h * 7 + 1] = 0.01;
    }
  }
  w.close();
  return rows * COLS * 4 * tensors;
}

if (process.argv[1]?.endsWith('make-big-safetensors.ts')) {
  const a = parseArgs('make-big-safetensors', process.argv.slice(2), { mb: { type: 'number' }, tensors: { type: 'number' }, hot: { type: 'number' } });
  if (a.positional.length !== 1) throw new EngineError('usage: npx tsx tools/make-big-safetensors.ts <out.safetensors> [--mb 1024] [--tensors 64] [--hot N]');
  const bytes = makeBigSafetensors(a.positional[0], (a.opts.mb as number) ?? 1024, (a.opts.tensors as number) ?? 64, (a.opts.hot as number) ?? 0);
  console.error(`wrote ${a.positional[0]}: ${(bytes / 1e9).toFixed(3)} GB of F32 tensor data`);
}
