// The f16 overflow rule of the model APIs that fall back stage by stage (the VAE decoder's
// stages, T5's block groups): a stage runs in f16 unless f16 failed for it before or its
// input does not fit f16; its f16 output must be finite and below the largest f16 (kernels
// may store an overflow as inf or saturate it to 65504: both mean f16 did not hold), else the
// stage alone is re-run in f32, with a note saying which stage and why.
import type { HostTensor } from './common.ts';

export const F16_MAX = 65504;

export function allFinite(t: HostTensor): boolean {
  for (const v of t.data) if (!Number.isFinite(v)) return false;
  return true;
}

/** An f16 can hold every value (|x| <= 65504, no inf/NaN). */
export function fitsF16(t: HostTensor): boolean {
  for (const v of t.data) if (!(Math.abs(v) <= F16_MAX)) return false;
  return true;
}

/** An f16 run's output held: every value finite and below the largest f16. */
export function heldF16(t: HostTensor): boolean {
  for (const v of t.data) if (!(Math.abs(v) < F16_MAX)) return false;
  return true;
}

/**
 * Runs one stage in f16 when it can, else (or after an overflow) in f32. `where` and
 * `stage` name it in the notes ("vae decode", "decoder.up_blocks.0"); `f32Before` says a
 * previous call needed f32 for this stage, which then runs in f32 quietly.
 */
export async function runF16OrF32<T extends Record<string, HostTensor>>(where: string, stage: string, input: HostTensor, f32Before: boolean,
  run: (dtype: 'f16' | 'f32') => Promise<T>, warn: (msg: string) => void): Promise<{ out: T; usedF32: boolean }> {
  if (!f32Before) {
    if (!fitsF16(input)) warn(`${where}: the input of ${stage} exceeds the f16 range; running it in f32`);
    else {
      const out = await run('f16');
      if (Object.values(out).every(heldF16)) return { out, usedF32: false };
      warn(`${where}: ${stage} overflowed f16 (inf/NaN or |x| >= ${F16_MAX} in its output); re-ran it in f32`);
    }
  }
  return { out: await run('f32'), usedF32: true };
}
