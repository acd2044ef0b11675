// Schedulers vs the sd21-turbo-tiny fixture (recorded Euler schedules and every step's UNet
// input/output/latents of the real StableDiffusionPipeline), numpy's timestep arithmetic
// (values printed by numpy, see each test), the other classes' formulas (diffusers' own DDPM / DDIM /
// LCM numbers are in scheduler_reference.test.ts), and config errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler, loadScheduler, type Scheduler } from '../../src/pipeline/scheduler.ts';
import { EngineError } from '../../src/errors.ts';
import { assertClose } from '../util/compare.ts';
import { FIXTURES, readCase, readFixtureTensors } from '../util/fixture.ts';

const MODEL = join(FIXTURES, 'sd21-turbo-tiny');
const CASE = readCase(join(FIXTURES, 'sd21-turbo-tiny.case'));
const IO = readFixtureTensors(join(FIXTURES, 'sd21-turbo-tiny.case', 'io.safetensors'));
const T = (name: string) => Float32Array.from(IO.get(name)!.data);
const SD_CFG = { _class_name: 'EulerDiscreteScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, timestep_spacing: 'trailing' };
const hexOf = (x: number) => Buffer.from(new Float32Array([x]).buffer).toString('hex');
const ulps = (a: number, b: number) => Math.abs(new Int32Array(new Float32Array([a]).buffer)[0] - new Int32Array(new Float32Array([b]).buffer)[0]);
const isErr = (re: RegExp) => (e: unknown) => e instanceof EngineError && re.test(e.message);

test('Euler trailing 1/2/4 steps: timesteps exact; sigmas bit-exact but sigma_max within 2 ulps of the fixture', () => {
  for (const [n, rec] of Object.entries<any>(CASE.scalars.euler_schedules)) {
    const s = loadScheduler(MODEL, { steps: Number(n) }) as Scheduler & { sigmas: Float32Array };
    assert.is(s.className, 'EulerDiscreteScheduler');
    assert.equal([...s.timesteps], rec.timesteps, `timesteps for ${n} steps`);
    // The fixture's torch 1.13 built betas with a vectorised linspace (a fused multiply-add
    // per 8-lane chunk); torch >= 2 uses the scalar loop this engine follows. Only sigma(t=999)
    // moves: 14.614645 there, 14.614647 here (2 float32 ulps).
    assert.ok(ulps(s.sigmas[0], rec.sigmas[0]) <= 2, `sigma_max ${s.sigmas[0]} vs ${rec.sigmas[0]}`);
    assert.is(s.sigmas[0], Math.fround(14.614646911621094));
    assert.equal(Array.from(s.sigmas.subarray(1), hexOf), rec.sigmas_float32_hex.slice(1), `sigmas for ${n} steps`);
    assert.ok(ulps(s.initNoiseSigma, CASE.scalars.init_noise_sigma) <= 2, 'init_noise_sigma');
    assert.is(s.initNoiseSigma, s.sigmas[0], 'trailing: init_noise_sigma = sigma_max');
  }
  const one = readCase(join(FIXTURES, 'pipeline-sd21-onestep')).scalars;
  const s = createScheduler(one.scheduler_config, 'pipeline-sd21-onestep', { steps: 1 }, 'EulerDiscreteScheduler');
  assertClose('scale_model_input factor', [1 / s.inputDivisor(0)], [one.scale_model_input_factor], 0, 1e-6);
});

test('Euler steps reproduce every recorded step of the real pipeline (none / NASA, 1, 2 and 4 steps)', () => {
  for (const mode of ['none', 'nasa_a0p2', 'none_steps2', 'nasa_a0p2_steps2', 'none_steps4', 'nasa_a0p2_steps4']) {
    const n = CASE.modes[mode].steps;
    const s = loadScheduler(MODEL, { steps: n });
    let x: Float32Array = T('latents').map((v) => v * s.initNoiseSigma);
    assertClose(`${mode} initial latents`, x, T('debug.initial_latents'), CASE.outputs['latents.none'].atol_f32);
    for (let i = 0; i < n; i++) {
      const inName = `debug.${mode}.step${i}.unet_sample`;
      assertClose(`${mode} step ${i} UNet input`, s.scaleModelInput(x, i), T(inName), CASE.outputs[inName].atol_f32);
      assert.not.ok(s.usesNoise(i));
      x = s.step(T(`debug.${mode}.step${i}.unet_output`), i, x).prevSample;
      const ref = i === n - 1 ? `latents.${mode}` : `debug.${mode}.step${i}.latents`;
      assertClose(`${mode} latents after step ${i}`, x, T(ref), CASE.outputs[ref].atol_f32);
    }
  }
});

test('Euler step with CFG-combined epsilon reproduces latents.cfg_g1p5', () => {
  const s = loadScheduler(MODEL, { steps: 1 });
  const x = T('latents').map((v) => v * s.initNoiseSigma);
  const out = T('debug.cfg_g1p5.step0.unet_output'), half = out.length / 2; // rows [uncond; text]
  const eps = Float32Array.from({ length: half }, (_, k) => out[k] + Math.fround(1.5 * Math.fround(out[half + k] - out[k])));
  assertClose('latents.cfg_g1p5', s.step(eps, 0, x).prevSample, T('latents.cfg_g1p5'), CASE.outputs['latents.cfg_g1p5'].atol_f32);
});

test('timestep spacing follows numpy (values printed by numpy 2.x for N = 1000, steps_offset 1)', () => {
  const ts = (spacing: string, n: number, cls = 'EulerDiscreteScheduler') => [...createScheduler({ ...SD_CFG, _class_name: cls, timestep_spacing: spacing }, 'cfg', { steps: n }).timesteps];
  assert.equal(ts('trailing', 3), [999, 666, 332]);
  assert.equal(ts('trailing', 16), [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61], 'round half to even');
  assert.equal(ts('trailing', 7), [999, 856, 713, 570, 428, 285, 142]);
  assert.equal(ts('linspace', 7), [999, 832.5, 666, 499.5, 333, 166.5, 0], 'Euler keeps fractional float32 timesteps');
  assert.equal(ts('linspace', 7, 'DDPMScheduler'), [999, 832, 666, 500, 333, 166, 0], 'DDPM rounds them half to even');
  assert.equal(ts('leading', 4), [751, 501, 251, 1]);
  assert.equal(ts('leading', 1), [1], 'leading + 1 step gives t = 1 (why SD-Turbo uses trailing)');
  const lead = createScheduler({ ...SD_CFG, timestep_spacing: 'leading' }, 'cfg', { steps: 4 }) as Scheduler & { sigmas: Float32Array };
  assert.is(lead.initNoiseSigma, Math.fround(Math.sqrt(Math.fround(Math.fround(lead.sigmas[0] ** 2) + 1))), 'leading: sqrt(sigma_max^2 + 1)');
});

test('prediction types: v_prediction and sample give the x0 of diffusers formulas; one Euler step lands on x0', () => {
  const x = Float32Array.from([3, -2, 0.5, 10]), out = Float32Array.from([0.1, -0.4, 1.2, 0.05]);
  for (const pt of ['epsilon', 'v_prediction', 'sample']) {
    const s = createScheduler({ ...SD_CFG, prediction_type: pt }, 'cfg', { steps: 1 }) as Scheduler & { sigmas: Float32Array };
    const sg = s.sigmas[0];
    const want = Array.from(x, (v, k) => pt === 'epsilon' ? v - sg * out[k] : pt === 'sample' ? out[k] : out[k] * (-sg / Math.sqrt(sg * sg + 1)) + v / (sg * sg + 1));
    const r = s.step(out, 0, x);
    assertClose(`${pt} x0`, r.predOriginalSample, want, 0, 1e-6);
    assertClose(`${pt} prev (sigma_next = 0)`, r.prevSample, want, 1e-5, 1e-5);
  }
});

test('EulerAncestral: same as Euler for one step but draws noise; multi-step adds noise * sigma_up', () => {
  const x = Float32Array.from([3, -2, 0.5, 10]), out = Float32Array.from([0.1, -0.4, 1.2, 0.05]);
  const e = createScheduler(SD_CFG, 'cfg', { steps: 1 });
  const a = createScheduler({ ...SD_CFG, _class_name: 'EulerAncestralDiscreteScheduler' }, 'cfg', { steps: 1 });
  let draws = 0;
  const noise = (n: number) => { draws++; return new Float32Array(n).fill(1); };
  assert.equal(Array.from(a.step(out, 0, x, noise).prevSample), Array.from(e.step(out, 0, x).prevSample));
  assert.is(draws, 1, 'diffusers draws noise even when sigma_up = 0');
  const a2 = createScheduler({ ...SD_CFG, _class_name: 'EulerAncestralDiscreteScheduler' }, 'cfg', { steps: 2 }) as Scheduler & { sigmas: Float32Array };
  const [s0, s1] = a2.sigmas;
  const up = Math.sqrt((s1 * s1 * (s0 * s0 - s1 * s1)) / (s0 * s0)), down = Math.sqrt(s1 * s1 - up * up);
  const want = Array.from(x, (v, k) => v + out[k] * (down - s0) + up);
  assertClose('ancestral step 0', a2.step(out, 0, x, noise).prevSample, want, 1e-5, 1e-5);
  assert.throws(() => a2.step(out, 0, x), isErr(/needs a noise generator/));
});

test('LCM: default 4-step schedule, custom [399] one-step (DMD2) returns the boundary-condition x0', () => {
  const lcm = { _class_name: 'LCMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
  assert.equal([...createScheduler(lcm, 'lcm', { steps: 4 }).timesteps], [999, 759, 499, 259]);
  assert.equal([...createScheduler(lcm, 'lcm', { steps: 1 }).timesteps], [999]);
  const s = createScheduler(lcm, 'lcm', { steps: 1, timesteps: [399] });
  assert.equal([...s.timesteps], [399]);
  assert.is(s.initNoiseSigma, 1);
  assert.is(s.inputDivisor(0), 1);
  assert.not.ok(s.usesNoise(0));
  const x = Float32Array.from([1, -1, 0.3]), eps = Float32Array.from([0.5, 0.2, -0.1]);
  const ddpm = createScheduler({ ...lcm, _class_name: 'DDPMScheduler', clip_sample: false }, 'ddpm', { steps: 1, timesteps: [399] });
  const x0 = ddpm.step(eps, 0, x, (n) => new Float32Array(n)).predOriginalSample; // the same alphas: (x - sqrt(1-a) eps) / sqrt(a)
  const st = 3990, cSkip = 0.25 / (st * st + 0.25), cOut = st / Math.sqrt(st * st + 0.25);
  assertClose('LCM denoised', s.step(eps, 0, x).prevSample, Array.from(x0, (v, k) => cOut * v + cSkip * x[k]), 1e-6, 1e-6);
  const four = createScheduler(lcm, 'lcm', { steps: 4, timesteps: [999, 749, 499, 249] });
  assert.ok(four.usesNoise(0) && !four.usesNoise(3));
  assert.throws(() => four.step(eps, 0, x), isErr(/needs a noise generator/));
});

test('DDPM / DDIM one step at t=999 give the x0 prediction (DDPM adds sqrt(1e-20) * noise)', () => {
  const base = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', clip_sample: false, timestep_spacing: 'trailing' };
  const x = Float32Array.from([1, -1, 0.3]), eps = Float32Array.from([0.5, 0.2, -0.1]);
  const ddpm = createScheduler({ ...base, _class_name: 'DDPMScheduler' }, 'ddpm', { steps: 1 });
  const ddim = createScheduler({ ...base, _class_name: 'DDIMScheduler', set_alpha_to_one: true }, 'ddim', { steps: 1 });
  assert.equal([...ddpm.timesteps], [999]);
  assert.ok(ddpm.usesNoise(0));
  const p = ddpm.step(eps, 0, x, (n) => new Float32Array(n).fill(1));
  assertClose('DDPM prev = x0 + 1e-10', p.prevSample, Array.from(p.predOriginalSample, (v) => v + 1e-10), 1e-7, 0);
  const d = ddim.step(eps, 0, x);
  assert.equal(Array.from(d.prevSample), Array.from(d.predOriginalSample));
  assert.equal(Array.from(d.predOriginalSample), Array.from(p.predOriginalSample));
  const clipped = createScheduler({ ...base, _class_name: 'DDIMScheduler', clip_sample: true }, 'ddim', { steps: 1 });
  assert.ok(clipped.step(eps, 0, Float32Array.from([50, -50, 0])).predOriginalSample.every((v) => Math.abs(v) <= 1));
});

test('config errors name the file and the key; unknown classes list the supported ones', () => {
  const f = 'm/scheduler/scheduler_config.json';
  assert.throws(() => createScheduler({ ...SD_CFG, _class_name: 'PNDMScheduler' }, f, { steps: 1 }), isErr(/scheduler_config\.json: scheduler class 'PNDMScheduler' is not supported \(supported: EulerDiscreteScheduler/));
  assert.throws(() => createScheduler({ beta_start: 0.1 }, f, { steps: 1 }), isErr(/missing '_class_name'/));
  assert.throws(() => createScheduler({ ...SD_CFG, beta_schedule: 'sigmoidal' }, f, { steps: 1 }), isErr(/scheduler_config\.json: "beta_schedule" = "sigmoidal" is not supported \(supported: "linear", "scaled_linear", "squaredcos_cap_v2"\)/));
  assert.throws(() => createScheduler({ ...SD_CFG, prediction_type: 'flow' }, f, { steps: 1 }), isErr(/"prediction_type" = "flow" is not supported/));
  assert.throws(() => createScheduler({ ...SD_CFG, timestep_spacing: 'middle' }, f, { steps: 1 }), isErr(/"timestep_spacing" = "middle" is not supported/));
  assert.throws(() => createScheduler({ ...SD_CFG, num_train_timesteps: 0 }, f, { steps: 1 }), isErr(/"num_train_timesteps" must be an integer >= 1/));
  assert.throws(() => createScheduler({ ...SD_CFG, beta_end: '0.012' }, f, { steps: 1 }), isErr(/"beta_end" must be a number, got "0\.012"/));
  assert.throws(() => createScheduler({ ...SD_CFG, use_exponential_sigmas: true }, f, { steps: 1 }), isErr(/"use_exponential_sigmas" = true is not supported \(exponential sigmas are not implemented\)/));
  assert.throws(() => createScheduler({ ...SD_CFG, trained_betas: [0.1, 0.2] }, f, { steps: 1 }), isErr(/"trained_betas" has 2 values, expected num_train_timesteps = 1000/));
  assert.throws(() => createScheduler(SD_CFG, f, { steps: 0 }), isErr(/steps must be a positive integer/));
  assert.throws(() => createScheduler(SD_CFG, f, { steps: 1001 }), isErr(/cannot take 1001 steps/));
  assert.throws(() => createScheduler(SD_CFG, f, { steps: 1, timesteps: [249, 499] }), isErr(/strictly descending/));
  assert.throws(() => createScheduler(SD_CFG, f, { steps: 1, timesteps: [1000] }), isErr(/not an integer in \[0, 999\]/));
  assert.throws(() => createScheduler(SD_CFG, f, { steps: 2 }).step(new Float32Array(1), 2, new Float32Array(1)), isErr(/step 2 out of range 0\.\.1/));
  const dir = mkdtempSync(join(tmpdir(), 'sched-'));
  try {
    assert.throws(() => loadScheduler(dir, { steps: 1 }), isErr(/scheduler_config\.json: no such file/));
    mkdirSync(join(dir, 'scheduler'));
    writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), '{"_class_name": ');
    assert.throws(() => loadScheduler(dir, { steps: 1 }), isErr(/scheduler_config\.json: not valid JSON/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('class override (from_config semantics) and Karras sigmas', () => {
  const s = loadScheduler(MODEL, { steps: 1 }, 'euler-a');
  assert.is(s.className, 'EulerAncestralDiscreteScheduler');
  assert.equal([...s.timesteps], [999]);
  const k = createScheduler({ ...SD_CFG, use_karras_sigmas: true, timestep_spacing: 'leading' }, 'cfg', { steps: 4 }) as Scheduler & { sigmas: Float32Array };
  // Karras: sigma_max down to sigma_min on a rho = 7 ramp; timesteps mapped back through log-sigma
  assert.ok(k.sigmas[0] > k.sigmas[1] && k.sigmas[1] > k.sigmas[2] && k.sigmas[2] > k.sigmas[3] && k.sigmas[4] === 0);
  assert.ok(k.timesteps[0] > k.timesteps[1] && k.timesteps[3] >= 0);
  const rho = 7, lo = k.sigmas[3] ** (1 / rho), hi = k.sigmas[0] ** (1 / rho);
  assertClose('karras ramp', k.sigmas.subarray(0, 4), [0, 1, 2, 3].map((i) => (hi + (i / 3) * (lo - hi)) ** rho), 0, 1e-6);
});

test.run();
