// Kernel sources: `kernels/<name>.wgsl`, specialised by a tiny preprocessor so each
// file stays readable WGSL. What changes the code goes in the pipeline key (name,
// dtype, defines, overrides); sizes never do — they travel in a uniform.
//
// The preprocessor understands `#if NAME`, `#if !NAME`, `#else`, `#endif` (nestable)
// and `#include "lib/x"` (kernels/lib/x.wgsl) on their own lines. Included code is
// appended at the end (WGSL declarations are order-independent), so compiler line
// numbers inside the including file stay right. A header is prepended: `enable f16;` when needed,
// `alias T = f32|f16;` (the storage type), `alias V4 = vec4<T>;`, and one
// `const NAME = value;` per numeric define.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type Float = 'f32' | 'f16';

export interface KernelSpec {
  /** File name under kernels/, without `.wgsl`. */
  name: string;
  dtype: Float;
  /** Boolean defines switch `#if` blocks; numeric ones become WGSL `const`s. */
  defines?: Record<string, boolean | number | undefined>;
  /** WGSL `override` constants (e.g. workgroup size). */
  constants?: Record<string, number>;
}

const kernelDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kernels');
const sources = new Map<string, string>();

/** Registers WGSL under `name` without a file (tests of the error paths use it). */
export function defineKernelSource(name: string, code: string): void {
  sources.set(name, code);
}

export function kernelSource(name: string): string {
  let s = sources.get(name);
  if (s === undefined) {
    s = readFileSync(join(kernelDir, `${name}.wgsl`), 'utf8');
    sources.set(name, s);
  }
  return s;
}

/** Expands the `#include`s left in active code after preprocessing (so an include inside
 * an inactive `#if` is not pulled in); included files are preprocessed with the same defines. */
function expandIncludes(src: string, file: string, defines: Record<string, boolean | number>, seen: Set<string>): string {
  const appended: string[] = [];
  const body = src.split('\n').map((line) => {
    const m = /^\s*#include\s+"([\w/]+)"\s*$/.exec(line);
    if (!m) return line;
    if (!seen.has(m[1])) {
      seen.add(m[1]);
      let inc: string;
      try {
        inc = kernelSource(m[1]);
      } catch {
        throw new Error(`${file}.wgsl: #include "${m[1]}": no kernels/${m[1]}.wgsl`);
      }
      appended.push(`// ---- included from kernels/${m[1]}.wgsl ----`, expandIncludes(preprocess(inc, defines, m[1]), m[1], defines, seen));
    }
    return '';
  });
  return [...body, ...appended].join('\n');
}

export function kernelKey(spec: KernelSpec): string {
  const d = Object.entries(spec.defines ?? {}).filter(([, v]) => v !== false && v !== undefined).sort().map(([k, v]) => (v === true ? k : `${k}=${v}`));
  const c = Object.entries(spec.constants ?? {}).sort().map(([k, v]) => `${k}=${v}`);
  return [spec.name, spec.dtype, ...d, ...c].join('|');
}

export function preprocess(src: string, defines: Record<string, boolean | number>, file: string): string {
  const out: string[] = [];
  const stack: { active: boolean; parentActive: boolean }[] = [];
  let active = true;
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    const m = /^#if\s+(!?)(\w+)\s*$/.exec(t);
    if (m) {
      const v = Boolean(defines[m[2]]);
      stack.push({ active, parentActive: active });
      active = active && (m[1] ? !v : v);
      out.push('');
    } else if (t === '#else') {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`${file}.wgsl:${i + 1}: #else without #if`);
      active = top.parentActive && !active;
      out.push('');
    } else if (t === '#endif') {
      const top = stack.pop();
      if (!top) throw new Error(`${file}.wgsl:${i + 1}: #endif without #if`);
      active = top.parentActive;
      out.push('');
    } else {
      out.push(active ? lines[i] : ''); // keep line numbers stable for compiler messages
    }
  }
  if (stack.length) throw new Error(`${file}.wgsl: unterminated #if`);
  return out.join('\n');
}

export function compileKernel(spec: KernelSpec, dev: { hasF16(): boolean; features: Set<string> }) {
  const defines: Record<string, boolean | number> = { F16: spec.dtype === 'f16' };
  for (const [k, v] of Object.entries(spec.defines ?? {})) if (v !== undefined) defines[k] = v;
  if (spec.dtype === 'f16' && !dev.hasF16()) {
    throw new Error(`kernel ${spec.name}: f16 requested but the adapter lacks shader-f16`);
  }
  const header: string[] = [];
  if (dev.hasF16()) header.push('enable f16;');
  // Subgroup kernels branch on values they made subgroup-uniform (subgroupAll); WGSL's
  // uniformity analysis knows only workgroup uniformity, so its subgroup rule is off there.
  if (defines.SUBGROUPS) header.push('enable subgroups;', 'diagnostic(off, subgroup_uniformity);');
  header.push(`alias T = ${spec.dtype};`, 'alias V4 = vec4<T>;');
  for (const [k, v] of Object.entries(defines)) if (typeof v === 'number') header.push(`const ${k} = ${Number.isInteger(v) ? `${v}u` : v};`);
  // Header goes on one line so compiler line numbers match the .wgsl file (off by one).
  const body = expandIncludes(preprocess(kernelSource(spec.name), defines, spec.name), spec.name, defines, new Set([spec.name]));
  // Graphs bind their tensors as ranges of shared arena buffers (src/gpu/arena.ts), so one
  // dispatch often reads and writes the same GPUBuffer. WebGPU tracks usage per buffer, not
  // per range, and rejects a buffer bound read-only and writable in one dispatch, but
  // allows several writable bindings: every storage binding is declared read_write. The
  // .wgsl files keep `read` to say which bindings the kernel only reads.
  const code = header.join(' ') + '\n' + body.replace(/var<storage,\s*read>/g, 'var<storage, read_write>');
  return { key: kernelKey(spec), code, constants: spec.constants ?? {} };
}
