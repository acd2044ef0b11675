// From what a user asks for (GuidanceOptions) to resolved settings (Guidance): every key
// checked, the family's defaults filled in. The same checks run again when settings reach
// a model's forward() directly from the library API (checkSettings), against the model's
// own sites, so the CLI and the API give the same clear errors.
import { EngineError } from '../errors.ts';
import { familyGuidance, layoutParts, SITE_LAYOUTS } from './families.ts';
import {
  GUIDANCE_MODES, type Guidance, type GuidanceMode, type GuidanceOptions, type GuidanceSite, type LayerSchedule,
  type ScheduleObject, type SitePart,
} from './types.ts';

/** The options each mode takes. */
const MODE_OPTIONS: Record<GuidanceMode, readonly (keyof GuidanceOptions)[]> = {
  none: [], nasa: ['alpha'], cfg: ['scale'], nag: ['scale', 'tau', 'alpha'], vsf: ['scale', 'offset'],
};
const OPTION_NAMES = ['alpha', 'scale', 'tau', 'offset'];

export function parseGuidanceMode(s: string): GuidanceMode {
  if ((GUIDANCE_MODES as readonly string[]).includes(s)) return s as GuidanceMode;
  throw new EngineError(`--guidance: unknown mode '${s}' (expected one of ${GUIDANCE_MODES.join(', ')})`);
}

/** Validates `o` for a model of `family` (null: a UNet of unknown family) and fills its defaults. */
export function resolveGuidance(o: GuidanceOptions, family: string | null): Guidance {
  const row = familyGuidance(family), d = row.defaults;
  const mode = parseGuidanceMode(o.mode);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'mode') continue;
    if (!OPTION_NAMES.includes(k)) throw new EngineError(`guidance: unknown option '${k}' (options: ${OPTION_NAMES.join(', ')})`);
    if (v !== undefined && !MODE_OPTIONS[mode].includes(k as keyof GuidanceOptions)) {
      const takes = MODE_OPTIONS[mode].length ? `it takes ${MODE_OPTIONS[mode].map((n) => `--${n}`).join(', ')}` : 'give a negative prompt and --guidance nasa|nag|vsf to use it';
      throw new EngineError(`--${k} does not apply to --guidance ${mode} (${takes})`);
    }
  }
  let g: Guidance;
  switch (mode) {
    case 'none':
      g = { mode };
      break;
    case 'nasa': {
      const a = o.alpha ?? d.nasa.alpha;
      // A schedule without a default (e.g. `--alpha down=0.3`) falls back to the family's.
      g = { mode, alpha: typeof a === 'object' && a !== null && a.default === undefined ? { ...a, default: d.nasa.alpha } : a };
      break;
    }
    case 'cfg':
      g = { mode, scale: o.scale ?? d.cfg.scale };
      break;
    case 'nag':
      g = { mode, scale: o.scale ?? d.nag.scale, tau: o.tau ?? d.nag.tau, alpha: (o.alpha ?? d.nag.alpha) as number };
      break;
    case 'vsf':
      g = { mode, scale: o.scale ?? d.vsf.scale, offset: o.offset ?? d.vsf.offset };
      break;
  }
  checkSettings(g, layoutParts(SITE_LAYOUTS[row.architecture]));
  return g;
}

/**
 * Checks resolved settings: every strength finite and in range, every schedule key a
 * part the model's layout has; with `sites`, `layers` no longer than the model's sites.
 */
export function checkSettings(g: Guidance, parts: readonly SitePart[], sites?: readonly GuidanceSite[]): void {
  const num = (v: unknown, what: string, min = -Infinity, max = Infinity) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      const range = min > -Infinity ? (max < Infinity ? ` in [${min}, ${max}]` : ` >= ${min}`) : '';
      throw new EngineError(`${what} must be a finite number${range}, got ${JSON.stringify(v)}`);
    }
  };
  if (typeof g !== 'object' || g === null) throw new EngineError(`guidance must be an object with a 'mode', got ${JSON.stringify(g)}`);
  const known = MODE_OPTIONS[g.mode as GuidanceMode];
  const extra = known ? Object.keys(g).filter((k) => k !== 'mode' && !known.includes(k as keyof GuidanceOptions)) : [];
  if (extra.length) throw new EngineError(`guidance ${g.mode}: unknown setting '${extra[0]}' (${g.mode} takes ${known.join(', ') || 'none'})`);
  switch (g.mode) {
    case 'none':
      return;
    case 'nasa':
      return checkSchedule(g.alpha, parts, sites, 'nasa alpha');
    case 'cfg':
      return num(g.scale, '--scale (cfg guidance scale)');
    case 'nag':
      if (typeof g.alpha === 'object') throw new EngineError('--alpha: nag takes one alpha, not a per-block schedule');
      num(g.alpha, '--alpha (nag blend)', 0, 1);
      num(g.tau, '--tau (nag)', 0);
      if (g.tau === 0) throw new EngineError('--tau (nag) must be > 0, got 0');
      return num(g.scale, '--scale (nag)', 1);
    case 'vsf':
      num(g.scale, '--scale (vsf)', 0);
      return num(g.offset, '--offset (vsf)');
    default:
      throw new EngineError(`unknown guidance mode '${(g as { mode: string }).mode}' (expected one of ${GUIDANCE_MODES.join(', ')})`);
  }
}

/** Every key of a schedule is `default`, `layers` or one of `parts`; every value finite and >= 0. */
export function checkSchedule(s: LayerSchedule, parts: readonly SitePart[], sites: readonly GuidanceSite[] | undefined, what: string): void {
  const value = (v: unknown, where: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new EngineError(`${what}${where} must be a finite number >= 0, got ${JSON.stringify(v)}`);
  };
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return value(s, '');
  const keys = ['default', 'layers', ...parts];
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (!keys.includes(k)) throw new EngineError(`${what}: unknown schedule key '${k}' (this model's keys: ${keys.join(', ')})`);
    if (k === 'layers') {
      if (!Array.isArray(v)) throw new EngineError(`${what}.layers must be a list of numbers (null = default), got ${JSON.stringify(v)}`);
      v.forEach((x, i) => x !== null && value(x, `.layers[${i}]`));
    } else value(v, `.${k}`);
  }
  if (s.default === undefined) throw new EngineError(`${what}: a schedule needs a 'default' value`);
  if (sites && s.layers && s.layers.length > sites.length) {
    throw new EngineError(`${what}.layers has ${s.layers.length} entries but the model has ${sites.length} cross-attention layers`);
  }
}

/** The schedule's value at `site`: layers[index], else the part's, else the default. */
export function scheduleAt(s: LayerSchedule, site: GuidanceSite): number {
  if (typeof s === 'number') return s;
  return (s.layers?.[site.index] ?? s[site.part] ?? s.default)!;
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
    return { layers: list };
  }
  if (t.startsWith('{')) {
    const o = parseJson(t);
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new EngineError(`--alpha: '${s}' must be a JSON object of schedule keys`);
    return o as ScheduleObject; // keys and values are checked against the model in resolveGuidance
  }
  const out: Record<string, number> = {};
  for (const part of t.split(',')) {
    const m = /^\s*(\w+)\s*=\s*([-+0-9.eE]+)\s*$/.exec(part);
    if (!m || !Number.isFinite(Number(m[2]))) throw new EngineError(`--alpha: cannot read '${part}' (expected a number, 'down=A,mid=B,up=C', or a JSON list)`);
    out[m[1]] = Number(m[2]);
  }
  return out as ScheduleObject;
}

function parseJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    throw new EngineError(`--alpha: '${t}' is not valid JSON`);
  }
}
