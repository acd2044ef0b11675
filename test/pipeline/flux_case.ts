// The flux-schnell-tiny case shared by the FLUX pipeline tests: the case, its folder and
// text, and each recorded mode as generate() options.
import * as path from 'node:path';
import type { GenerateOptions } from '../../src/pipeline/common.ts';
import { loadCase } from '../models/fixtures.ts';

export const c = loadCase('flux-schnell-tiny.case');
export const folder = path.resolve(c.dir, c.json.model_folder);
export const prompts: string[] = c.json.prompts;
export const negatives: string[] = c.json.negative_prompts;
export const maxSequenceLength: number = c.json.scalars.max_sequence_length;

/** Recorded modes: none at 1, 2, 4 steps; NASA 0.5 at 1 and 4 steps. */
export const MODES: Record<string, Partial<GenerateOptions> & { steps: number }> = Object.fromEntries(
  Object.entries<{ guidance: 'none' | 'nasa'; steps: number; alpha?: number }>(c.json.modes).map(([name, m]) => [
    name, { steps: m.steps, guidance: m.guidance === 'nasa' ? { mode: 'nasa', alpha: m.alpha } : { mode: 'none' } },
  ]),
);
