// Sampling schedulers, built from a model folder's scheduler/scheduler_config.json the way
// diffusers 0.31 builds them (`SchedulerClass.from_config` + `set_timesteps`), and stepped on
// CPU in float32 with diffusers' operation order (latents are small: B*4*h*w floats).
//
// Supported `_class_name`s:
//   EulerDiscreteScheduler           SD-Turbo (timestep_spacing "trailing": 1 step at t=999)
//   EulerAncestralDiscreteScheduler  SDXL-Turbo (identical to Euler for 1 step; draws noise)
//   LCMScheduler                     LCM / DMD2 (custom timesteps such as [399] supported)
//   DDPMScheduler                    x0 prediction from epsilon at t=999 in one step
//   DDIMScheduler                    eta = 0
//   FlowMatchEulerDiscreteScheduler  FLUX.1 / SD3 flow matching (sigmas and mu from the pipeline)
// A pipeline uses one like this (diffusers' StableDiffusionPipeline.__call__):
//   x = noise * s.initNoiseSigma
//   for i in 0..s.numSteps-1:
//     out = unet(s.scaleModelInput(x, i), s.timesteps[i], text)      (x / s.inputDivisor(i))
//     x = s.step(out, i, x, noise).prevSample   (noise: the same generator that made `noise`)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.ts';
import { ConfigReader } from './schedulers/schedule.ts';
import { EulerAncestralDiscrete, EulerDiscrete } from './schedulers/euler.ts';
import { DDIM, DDPM, LCM } from './schedulers/alpha.ts';
import { FlowMatchEulerDiscrete } from './schedulers/flowmatch.ts';

export interface StepOutput {
  /** The latent for the next step (after the last step: the final latent). */
  prevSample: Float32Array;
  /** The model's clean-latent estimate at this step (LCM: the boundary-condition `denoised`). */
  predOriginalSample: Float32Array;
}

/** Draws `numel` unit-Gaussian values from the run's generator (diffusers' randn_tensor). */
export type NoiseFn = (numel: number) => Float32Array;

export interface Scheduler {
  readonly className: string;
  /** The config file it was built from (for errors and metadata). */
  readonly file: string;
  readonly numSteps: number;
  /** Timestep the denoiser receives at step i (float32-exact values, e.g. 999). */
  readonly timesteps: readonly number[];
  /** Unit noise is multiplied by this before the first step (diffusers' prepare_latents). */
  readonly initNoiseSigma: number;
  /** scale_model_input(x, i) = x / inputDivisor(i) (float32 division; 1 for DDPM/DDIM/LCM). */
  inputDivisor(i: number): number;
  scaleModelInput(sample: Float32Array, i: number): Float32Array;
  /** Whether step(i) draws noise from the generator (multi-step ancestral/LCM/DDPM). */
  usesNoise(i: number): boolean;
  step(modelOutput: Float32Array, i: number, sample: Float32Array, noise?: NoiseFn): StepOutput;
}

export interface SchedulerOptions {
  /** num_inference_steps; ignored when `timesteps` is given. */
  steps: number;
  /** Custom descending integer timesteps (diffusers' `timesteps=`): Euler, LCM, DDPM. */
  timesteps?: readonly number[];
  /** Flow matching: the pipeline's sigmas (FluxPipeline: linspace(1, 1/n, n)), float64. */
  sigmas?: readonly number[];
  /** Flow matching with use_dynamic_shifting: the image-size shift (calculate_shift). */
  mu?: number;
}

type Ctor = new (file: string, c: ConfigReader, opts: SchedulerOptions) => Scheduler;
const CLASSES: Record<string, Ctor> = {
  EulerDiscreteScheduler: EulerDiscrete,
  EulerAncestralDiscreteScheduler: EulerAncestralDiscrete,
  LCMScheduler: LCM,
  DDPMScheduler: DDPM,
  DDIMScheduler: DDIM,
  FlowMatchEulerDiscreteScheduler: FlowMatchEulerDiscrete,
};
export const SUPPORTED_SCHEDULERS: readonly string[] = Object.keys(CLASSES);

/** Short names for overriding the folder's class (diffusers: `NewClass.from_config(old.config)`). */
export const SCHEDULER_ALIASES: Record<string, string> = {
  euler: 'EulerDiscreteScheduler', 'euler-a': 'EulerAncestralDiscreteScheduler', lcm: 'LCMScheduler', ddpm: 'DDPMScheduler', ddim: 'DDIMScheduler',
  flowmatch: 'FlowMatchEulerDiscreteScheduler',
};

export function readSchedulerConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError(code === 'ENOENT' ? `${path}: no such file (a diffusers folder has scheduler/scheduler_config.json)` : `${path}: cannot read (${(e as Error).message})`);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new EngineError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new EngineError(`${path}: expected a JSON object`);
  return cfg as Record<string, unknown>;
}

/**
 * Build and set up a scheduler from a parsed config. `className` overrides the config's
 * `_class_name` (keys the new class does not know are ignored, missing keys take that
 * class's defaults, as diffusers' from_config does).
 */
export function createScheduler(config: Record<string, unknown>, file: string, opts: SchedulerOptions, className?: string): Scheduler {
  const name = className ?? config._class_name;
  if (typeof name !== 'string') throw new EngineError(`${file}: missing '_class_name' (expected one of ${SUPPORTED_SCHEDULERS.join(', ')})`);
  const ctor = CLASSES[SCHEDULER_ALIASES[name] ?? name];
  if (!ctor) {
    throw new EngineError(`${file}: scheduler class '${name}' is not supported (supported: ${SUPPORTED_SCHEDULERS.join(', ')}; ` +
      `one-step models want EulerDiscreteScheduler with timestep_spacing "trailing")`);
  }
  return new ctor(file, new ConfigReader(file, config), opts);
}

/** The scheduler of a diffusers model folder (`<folder>/scheduler/scheduler_config.json`). */
export function loadScheduler(modelFolder: string, opts: SchedulerOptions, className?: string): Scheduler {
  const file = join(modelFolder, 'scheduler', 'scheduler_config.json');
  return createScheduler(readSchedulerConfig(file), file, opts, className);
}
