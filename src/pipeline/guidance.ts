// Guidance settings of a text-to-image run: which mode, its strengths, and the per-family
// defaults (NASA alpha from the paper, ../shared/docs/nasa.md). Validated here, once, so
// the CLI and the library API give the same clear errors.
import { EngineError } from '../errors.ts';
import type { LayerSchedule } from '../guidance/types.ts';

export type GuidanceMode = 'none' | 'nasa' | 'cfg' | 'nag' | 'vsf';
export const GUIDANCE_MODES: readonly GuidanceMode[] = ['none', 'nasa', 'cfg', 'nag', 'vsf'];

export interface GuidanceOptions {
  mode: GuidanceMode;
  /** nasa: alpha (number or per-block schedule); nag: blend alpha. */
  alpha?: LayerSchedule;
  /** cfg: guidance scale k; nag: extrapolation scale s; vsf: value scale s. */
  scale?: number;
  /** nag: norm-ratio clip tau. */
  tau?: number;
  /** vsf: bias subtracted from the negative keys' logits. */
  offset?: number;
}

/** Resolved settings: every field the mode uses is set. */
export type ResolvedGuidance =
  | { mode: 'none' }
  | { mode: 'nasa'; alpha: LayerSchedule }
  | { mode: 'cfg'; scale: number }
  | { mode: 'nag'; scale: number; tau: number; alpha: number }
  | { mode: 'vsf'; scale: number; offset: number };

/** NASA-I alpha by model family (paper defaults; SDXL follows SD2's). */
export const NASA_ALPHA: Record<string, number> = { sd1: 0.1, sd2: 0.2, sdxl: 0.2, pixart: 0.5 };

export function parseGuidanceMode(s: string): GuidanceMode {
  if ((GUIDANCE_MODES as readonly string[]).includes(s)) return s as GuidanceMode;
  throw new EngineError(`--guidance: unknown mode '${s}' (expected one of ${GUIDANCE_MODES.join(', ')})`);
}

export function resolveGuidance(o: GuidanceOptions, family: string | null): ResolvedGuidance {
  const finite = (v: number | undefined, what: string, min = -Infinity) => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v < min) throw new EngineError(`${what} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${v}`);
    return v;
  };
  switch (o.mode) {
    case 'none':
      return { mode: 'none' };
    case 'nasa': {
      const familyAlpha = NASA_ALPHA[family ?? ''] ?? 0.2;
      let alpha = o.alpha ?? familyAlpha;
      // A schedule without a default (e.g. `--alpha down=0.3`) falls back to the family's.
      if (typeof alpha === 'object' && !Number.isFinite(alpha.default)) alpha = { ...alpha, default: familyAlpha };
      checkAlpha(alpha);
      return { mode: 'nasa', alpha };
    }
    case 'cfg':
      return { mode: 'cfg', scale: finite(o.scale, '--scale (cfg guidance scale)') ?? 1.5 };
    case 'nag': {
      if (typeof o.alpha === 'object') throw new EngineError('--alpha: nag takes one alpha, not a per-block schedule');
      const alpha = finite(o.alpha, '--alpha (nag blend)', 0) ?? 0.5;
      if (alpha > 1) throw new EngineError(`--alpha (nag blend) must be in [0, 1], got ${alpha}`);
      const tau = finite(o.tau, '--tau (nag)', 0) ?? 2.5;
      if (tau <= 0) throw new EngineError(`--tau (nag) must be > 0, got ${tau}`);
      return { mode: 'nag', scale: finite(o.scale, '--scale (nag)', 1) ?? 4, tau, alpha };
    }
    case 'vsf':
      return { mode: 'vsf', scale: finite(o.scale, '--scale (vsf)', 0) ?? 3, offset: finite(o.offset, '--offset (vsf)') ?? 0.1 };
  }
}

function checkAlpha(a: LayerSchedule): void {
  const vals = typeof a === 'number' ? [a] : [a.default, a.down, a.mid, a.up, ...(a.layers ?? [])];
  for (const v of vals) {
    if (v === undefined || v === null) continue;
    if (!Number.isFinite(v) || v < 0) throw new EngineError(`--alpha must be a finite number >= 0, got ${v}`);
  }
}

/** Parses --alpha: a number, `down=0.1,mid=0.2,up=0.3[,default=0.2]`, or a JSON list/object. */
export function parseAlpha(s: string): LayerSchedule {
  const t = s.trim();
  if (/^[-+0-9.eE]+$/.test(t)) {
    const v = Number(t);
    if (!Number.isFinite(v)) throw new EngineError(`--alpha: '${s}' is not a number`);
    return v;
  }
  if (t.startsWith('[')) {
    const list = parseJson(t);
    if (!Array.isArray(list) || list.some((v) => v !== null && typeof v !== 'number')) throw new EngineError(`--alpha: '${s}' must be a JSON list of numbers (null = default)`);
    return { default: NaN, layers: list };
  }
  if (t.startsWith('{')) return parseJson(t) as LayerSchedule;
  const out: Record<string, number> = {};
  for (const part of t.split(',')) {
    const m = /^\s*(default|down|mid|up)\s*=\s*([-+0-9.eE]+)\s*$/.exec(part);
    if (!m || !Number.isFinite(Number(m[2]))) throw new EngineError(`--alpha: cannot read '${part}' (expected a number, 'down=A,mid=B,up=C', or a JSON list)`);
    out[m[1]] = Number(m[2]);
  }
  return { default: out.default ?? NaN, ...out } as LayerSchedule;
}

function parseJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    throw new EngineError(`--alpha: '${t}' is not valid JSON`);
  }
}
