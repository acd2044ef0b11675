// Throughput of `convert --dtype f16` (and bf16) on a ~1 GiB generated F32 file.
//   npx tsx bench/convert.bench.ts [--mb 1024] [--runs 3] [--dir /tmp/nasa-bench] [--keep]
// The input is generated once (tools/make-big-safetensors.ts) and reused; it is read
// from the OS page cache on warm runs, so this measures the converter (read syscalls,
// f32->f16 rounding, write syscalls), not the disk. Prints MB/s of input consumed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../src/cli/args.ts';
import { convert } from '../src/io/convert.ts';
import type { FloatDType } from '../src/io/dtype.ts';
import { makeBigSafetensors } from '../tools/make-big-safetensors.ts';

const a = parseArgs('convert.bench', process.argv.slice(2), {
  mb: { type: 'number' }, runs: { type: 'number' }, dir: { type: 'string' }, keep: { type: 'boolean' }, 'chunk-mb': { type: 'number' },
});
const mb = (a.opts.mb as number) ?? 1024;
const runs = (a.opts.runs as number) ?? 3;
const chunkMb = (a.opts['chunk-mb'] as number) ?? 8;
const dir = (a.opts.dir as string) ?? path.join(os.tmpdir(), 'nasa-bench');
fs.mkdirSync(dir, { recursive: true });
const input = path.join(dir, `big-f32-${mb}mb.safetensors`);
if (!fs.existsSync(input)) {
  const t = Date.now();
  makeBigSafetensors(input, mb);
  console.log(`generated ${input} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
const size = fs.statSync(input).size;
console.log(`input ${input}: ${(size / 1e9).toFixed(3)} GB F32, 64 tensors; chunk ${chunkMb} MiB`);
console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, node ${process.version}, ${os.platform()}`);

for (const dtype of ['F16', 'BF16'] as FloatDType[]) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = path.join(dir, `out-${dtype}.safetensors`);
    const t0 = process.hrtime.bigint();
    const r = convert(input, out, { dtype, force: true, chunkBytes: chunkMb << 20 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    times.push(s);
    if (r.overflows.length) console.log(`  (${r.overflows.length} tensors overflowed)`);
    fs.rmSync(out, { force: true });
  }
  const best = Math.min(...times);
  const med = [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)];
  console.log(`convert --dtype ${dtype.toLowerCase()}: best ${best.toFixed(2)} s = ${(size / 1e6 / best).toFixed(0)} MB/s in, ${(size / 2e6 / best).toFixed(0)} MB/s out; median ${med.toFixed(2)} s (${runs} runs)`);
}
if (!a.opts.keep) fs.rmSync(input, { force: true });
