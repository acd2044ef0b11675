// `convert <in> <out>`: single file <-> diffusers folder, dtype conversion, dropping keys.
// Streams everything; progress and throughput go to stderr.
import { EngineError } from '../errors.ts';
import { convert, DTYPE_ARG, type ConvertOptions, type ConvertReport } from '../io/convert.ts';
import { parseArgs } from './args.ts';

const USAGE = `usage: npx tsx src/cli.ts convert <in> <out> [options]

  <in>/<out>            a .safetensors file, or a diffusers folder (pipeline or component);
                        FLUX: a BFL single file (.safetensors or .gguf) <-> FluxTransformer2DModel folder
  --to <fmt>            diffusers | single-file (default: same format as <in>)
  --dtype <t>           f32 | f16 | bf16 for float tensors (integer tensors are kept);
                        q8_0: 2-D Linear weights become GGML Q8_0 blocks, the rest is kept
  --config <folder>     single file -> diffusers: configs, tokenizer and scheduler from this
                        diffusers folder (needed when head counts differ from the preset)
  --preset <name>       single file without --config: sd1.5 | sd2.1 | sd-turbo | sdxl
  --variant <v>         read the <v> weights of a diffusers folder (e.g. fp16)
  --out-variant <v>     name output weights <base>.<v>.safetensors (diffusers output)
  --ema                 single file: take the UNet from its EMA copy (model_ema.*)
  --prefixed            FLUX -> single file: keys under model.diffusion_model. (default: bare
                        BFL keys, as flux1-schnell.safetensors ships them)
  --drop-ema            same format: drop model_ema.* tensors
  --drop <prefix>       same format: drop tensors starting with <prefix> (repeatable)
  --chunk-mb <n>        read/write chunk size (default 8)
  --force               overwrite an existing output
  --quiet               no progress bar or summary`;

function mb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(2)} MB`;
}

function progressBar(): (done: number, total: number) => void {
  const t0 = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const s = Math.max((now - t0) / 1000, 1e-3);
    const frac = total ? done / total : 1;
    const width = 24, fill = Math.round(frac * width);
    const rate = done / s;
    const eta = rate > 0 ? (total - done) / rate : 0;
    process.stderr.write(`\r${(frac * 100).toFixed(0).padStart(3)}% [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${mb(done)}/${mb(total)} ${(rate / 1e6).toFixed(0)} MB/s eta ${eta.toFixed(0)}s `);
  };
}

export function summary(r: ConvertReport, seconds: number, dtype?: string): string[] {
  const lines = [
    `wrote ${r.files.length} file${r.files.length === 1 ? '' : 's'} (${r.files.join(', ')}): ${r.tensors} tensors, ` +
      `read ${mb(r.bytesIn)}, wrote ${mb(r.bytesOut)} in ${seconds.toFixed(2)} s (${(r.bytesIn / 1e6 / Math.max(seconds, 1e-6)).toFixed(0)} MB/s read)`,
  ];
  if (r.family) lines.push(`checkpoint family ${r.family}; configs from ${r.configFrom}`);
  if (r.ignored.length) lines.push(`ignored ${r.ignored.length} stored tensors the diffusers model does not use (e.g. ${r.ignored.slice(0, 3).join(', ')})`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.dropped.length) lines.push(`dropped ${r.dropped.length} tensors (e.g. ${r.dropped.slice(0, 3).join(', ')})`);
  if (r.quantized) lines.push(...q8Summary(r));
  if (r.overflows.length) {
    const n = r.overflows.reduce((a, o) => a + o.count, 0);
    lines.push(`warning: ${n} values in ${r.overflows.length} tensors are too large for ${dtype} and became ±inf:`);
    for (const o of r.overflows.slice(0, 10)) lines.push(`  ${o.tensor}: ${o.count} (max |x| ${o.maxAbs.toExponential(3)}, first at ${o.first.map((i) => `[${i.join(', ')}]`).join(' ')})`);
    if (r.overflows.length > 10) lines.push(`  ... and ${r.overflows.length - 10} more tensors`);
  }
  return lines;
}

/** --dtype q8_0: size saved and what quantization cost, over all tensors and the worst ones. */
function q8Summary(r: ConvertReport): string[] {
  const q = r.quantized ?? [];
  const n = q.reduce((a, t) => a + t.count, 0);
  const maxAbs = Math.max(0, ...q.map((t) => t.maxAbs));
  const mean = n ? q.reduce((a, t) => a + t.sumAbs, 0) / n : 0;
  const rel = Math.sqrt(q.reduce((a, t) => a + t.sumSq, 0) / Math.max(q.reduce((a, t) => a + t.sumSqW, 0), 1e-30));
  const lines = [
    `q8_0: ${q.length} linear weights quantized (${n} values); ${r.tensors - q.length} tensors kept as they were; ` +
      `${mb(r.bytesIn)} -> ${mb(r.bytesOut)} (${((r.bytesOut / Math.max(r.bytesIn, 1)) * 100).toFixed(1)}%)`,
    `q8_0 weight error: max |w - q(w)| ${maxAbs.toExponential(3)}, mean ${mean.toExponential(3)}, relative RMS ${rel.toExponential(3)}`,
  ];
  const worst = [...q].sort((a, b) => b.sumSq / Math.max(b.sumSqW, 1e-30) - a.sumSq / Math.max(a.sumSqW, 1e-30)).slice(0, 3);
  for (const t of worst) lines.push(`  ${t.tensor} [${t.shape.join(', ')}]: max ${t.maxAbs.toExponential(3)}, relative RMS ${Math.sqrt(t.sumSq / Math.max(t.sumSqW, 1e-30)).toExponential(3)}`);
  for (const t of (r.notQuantized ?? []).slice(0, 10)) lines.push(`  kept ${t.tensor}: ${t.why}`);
  if ((r.notQuantized ?? []).length > 10) lines.push(`  ... and ${r.notQuantized!.length - 10} more kept for the same reason`);
  return lines;
}

export async function run(argv: string[]): Promise<void> {
  const a = parseArgs('convert', argv, {
    to: { type: 'string' }, dtype: { type: 'string' }, config: { type: 'string' }, preset: { type: 'string' },
    variant: { type: 'string' }, 'out-variant': { type: 'string' }, ema: { type: 'boolean' }, prefixed: { type: 'boolean' },
    'drop-ema': { type: 'boolean' }, drop: { type: 'string', multiple: true }, 'chunk-mb': { type: 'number' },
    force: { type: 'boolean' }, quiet: { type: 'boolean', alias: 'q' }, help: { type: 'boolean', alias: 'h' },
  });
  if (a.opts.help) { console.log(USAGE); return; }
  if (a.positional.length !== 2) throw new EngineError(`convert: expected <in> <out>, got ${a.positional.length} arguments\n${USAGE}`);
  const to = a.opts.to as string | undefined;
  if (to !== undefined && to !== 'diffusers' && to !== 'single-file') throw new EngineError(`convert: --to must be diffusers or single-file, got '${to}'`);
  const dt = a.opts.dtype as string | undefined;
  if (dt !== undefined && !DTYPE_ARG[dt]) throw new EngineError(`convert: --dtype must be f32, f16, bf16 or q8_0, got '${dt}'`);
  const chunkMb = (a.opts['chunk-mb'] as number | undefined) ?? 8;
  if (!(chunkMb > 0 && chunkMb <= 1024)) throw new EngineError(`convert: --chunk-mb must be in (0, 1024], got ${chunkMb}`);
  const quiet = !!a.opts.quiet;
  const opts: ConvertOptions = {
    to: to as ConvertOptions['to'], dtype: dt ? DTYPE_ARG[dt] : undefined,
    config: a.opts.config as string | undefined, preset: a.opts.preset as string | undefined,
    variant: a.opts.variant as string | undefined, outVariant: a.opts['out-variant'] as string | undefined,
    ema: !!a.opts.ema, prefixed: !!a.opts.prefixed, dropEma: !!a.opts['drop-ema'], drop: a.opts.drop as string[] | undefined,
    force: !!a.opts.force, chunkBytes: Math.floor(chunkMb * (1 << 20)),
    onProgress: !quiet && process.stderr.isTTY ? progressBar() : undefined,
  };
  const t0 = process.hrtime.bigint();
  const r = convert(a.positional[0], a.positional[1], opts);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (opts.onProgress) process.stderr.write('\n');
  if (!quiet) for (const l of summary(r, s, dt)) console.error(l);
}
