// The FLUX pipeline's parts against the real FluxPipeline's goldens
// (../shared/fixtures/flux-schnell-tiny.case): FlowMatchEuler schedules and every recorded
// step, 2x2 packing and position ids, the text side (CLIP pooled + T5 without mask) and
// the 16-channel VAE decode with shift_factor, in f32 and f16.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'node:path';
import { ClipTextEncoder, latentImageIds, packLatents, T5Encoder, unpackLatents, Vae } from '../../src/models/index.ts';
import { decodeLatents } from '../../src/pipeline/common.ts';
import { encodeFluxText, type FluxTextEncoders } from '../../src/pipeline/flux_text.ts';
import { createScheduler } from '../../src/pipeline/scheduler.ts';
import { calculateShift, fluxSchedule, type FlowMatchEulerDiscrete } from '../../src/pipeline/schedulers/flowmatch.ts';
import { loadTokenizer } from '../../src/tokenizers/index.ts';
import { atol, expectClose, get, note } from '../models/fixtures.ts';
import { c, folder, MODES } from './flux_case.ts';
import { assertClose } from '../util/compare.ts';

const sched = c.json.scalars.flow_match_schedules as Record<string, { timesteps: number[]; sigmas_float32_hex: string[]; transformer_timestep_arg: number[] }>;
const schedConfig = c.json.oracle.spec.scheduler as Record<string, unknown>;
const hexOf = (x: number) => Buffer.from(new Float32Array([x]).buffer).toString('hex');
const flow = (config: Record<string, unknown>, steps: number, L = 16) =>
  createScheduler({ _class_name: 'FlowMatchEulerDiscreteScheduler', ...config }, 'test config', { steps, ...fluxSchedule(config, 'test config', steps, L) }) as FlowMatchEulerDiscrete;

test('FlowMatchEuler as FluxPipeline sets it (1, 2, 4 steps): timesteps, sigmas bit-exact, transformer timestep', () => {
  for (const [n, rec] of Object.entries(sched)) {
    const s = flow(schedConfig, Number(n));
    assert.equal([...s.timesteps], rec.timesteps, `timesteps for ${n} steps`);
    assert.equal(Array.from(s.sigmas, hexOf), rec.sigmas_float32_hex, `sigmas for ${n} steps`);
    assert.equal(s.timesteps.map((t) => Math.fround(t / 1000)), rec.transformer_timestep_arg);
    assert.is(s.initNoiseSigma, 1);
  }
  const mu = fluxSchedule(schedConfig, 'x', 1, c.json.scalars.image_seq_len).mu;
  assert.ok(Math.abs(mu - c.json.scalars.mu_calculate_shift_unused) < 1e-12, `mu ${mu}`);
});

test('FlowMatchEuler shifts: static shift 3 and FLUX.1-dev dynamic shifting (values derived from the 0.31 formulas)', () => {
  // shift 3 (SD3): sigma' = 3 s / (1 + 2 s); sigmas 1, 0.5 -> 1, 0.75.
  const s3 = flow({ shift: 3 }, 2);
  assert.equal([...s3.sigmas], [1, 0.75, 0]);
  assert.equal([...s3.timesteps], [1000, 750]);
  // FLUX.1-dev (shift 3 ignored, dynamic): mu(4096 tokens) = max_shift 1.15 exactly;
  // time_shift(mu, 1, 0.5) = e^1.15 / (e^1.15 + 1) = 3.1581929 / 4.1581929 = 0.7595109 (1024x1024: L = 4096).
  const dev = { shift: 3, use_dynamic_shifting: true, base_shift: 0.5, max_shift: 1.15, base_image_seq_len: 256, max_image_seq_len: 4096 };
  assert.ok(Math.abs(calculateShift(4096, 256, 4096, 0.5, 1.15) - 1.15) < 1e-12);
  assert.ok(Math.abs(calculateShift(256, 256, 4096, 0.5, 1.15) - 0.5) < 1e-12);
  const d = flow(dev, 2, 4096);
  assert.is(d.sigmas[0], 1);
  assert.ok(Math.abs(d.sigmas[1] - 0.7595109) < 1e-6, `dev sigma ${d.sigmas[1]}`);
  assert.is(d.sigmas[1], Math.fround(Math.exp(1.15) / (Math.exp(1.15) + 1)));
  // Without pipeline sigmas: linspace(1000 sigma_max, 1000 sigma_min, n) / 1000 of the training
  // schedule (sigma_min = float32(1/1000)): sigmas 1, 0.5005, 0.001 -> float32, timesteps = sigma * 1000 in float32.
  const plain = createScheduler({ _class_name: 'FlowMatchEulerDiscreteScheduler' }, 'x', { steps: 3 }) as FlowMatchEulerDiscrete;
  assert.equal([...plain.sigmas], [1, Math.fround(0.5005), Math.fround(0.001), 0]);
  assert.equal([...plain.timesteps], [1000, Math.fround(Math.fround(0.5005) * 1000), 1]);
});

test('FlowMatchEuler bad settings fail clearly', () => {
  const bad: [Record<string, unknown>, object, RegExp][] = [
    [{ use_dynamic_shifting: true }, { steps: 1 }, /must pass mu/],
    [{}, { steps: 1, timesteps: [999] }, /does not take custom timesteps/],
    [{ invert_sigmas: true }, { steps: 1 }, /invert_sigmas/],
    [{}, { steps: 1, sigmas: [1.5] }, /sigmas must be/],
  ];
  for (const [cfg, opts, re] of bad) {
    assert.throws(() => createScheduler({ _class_name: 'FlowMatchEulerDiscreteScheduler', ...cfg }, 'x', opts as any), re);
  }
});

test('Euler steps on the recorded velocities reproduce every recorded latent (all modes)', () => {
  for (const [mode, { steps: n }] of Object.entries(MODES)) {
    const s = flow(schedConfig, n);
    let x: Float32Array = Float32Array.from(get(c, "latents").data);
    for (let i = 0; i < n; i++) {
      assert.equal([...get(c, `debug.${mode}.step${i}.transformer_timestep`).data], [Math.fround(s.timesteps[i] / 1000), Math.fround(s.timesteps[i] / 1000)]);
      x = s.step(get(c, `debug.${mode}.step${i}.transformer_output`).data as Float32Array, i, x).prevSample;
      const ref = i === n - 1 ? `latents.${mode}` : `debug.${mode}.step${i}.latents`;
      assertClose(`${mode} step ${i}`, x, get(c, ref).data, atol(c, ref, 'f32'));
    }
  }
});

test('2x2 packing and image ids match FluxPipeline exactly', () => {
  const u = get(c, 'latents_unpacked');
  const [, , h, w] = u.shape;
  const packed = packLatents(u);
  assert.equal(packed.shape, get(c, 'latents').shape);
  assert.equal([...packed.data], [...get(c, 'latents').data]);
  assert.equal([...unpackLatents(packed, h, w).data], [...u.data]);
  const ids = latentImageIds(h, w);
  assert.equal(ids.shape, get(c, 'debug.latent_image_ids').shape);
  assert.equal([...ids.data], [...get(c, 'debug.latent_image_ids').data]);
});

for (const dtype of ['f32', 'f16'] as const) {
  test(`text side (${dtype}): CLIP + T5 token ids exact, pooled and T5 embeddings within tolerance`, async () => {
    const e: FluxTextEncoders = {
      clipTokenizer: loadTokenizer(path.join(folder, 'tokenizer')), t5Tokenizer: loadTokenizer(path.join(folder, 'tokenizer_2')),
      clip: ClipTextEncoder.load(path.join(folder, 'text_encoder'), { dtype }), t5: T5Encoder.load(path.join(folder, 'text_encoder_2'), { dtype }),
    };
    e.t5Tokenizer.onWarning = () => {}; // prompt 1 is cut at 32 tokens, as in the goldens
    try {
      const texts = [...c.json.prompts, ...c.json.negative_prompts];
      const t = await encodeFluxText(e, texts, c.json.scalars.max_sequence_length);
      const half = (x: { shape: number[]; data: ArrayLike<number> }, k: number) => {
        const per = x.data.length / x.shape[0];
        return { shape: [2, ...x.shape.slice(1)], data: Float32Array.from(Array.prototype.slice.call(x.data, k * 2 * per, (k + 1) * 2 * per)) };
      };
      assert.equal([...half(t.clipIds, 0).data], [...get(c, 'clip_input_ids').data]);
      assert.equal([...half(t.clipIds, 1).data], [...get(c, 'negative_clip_input_ids').data]);
      assert.equal([...half(t.t5Ids, 0).data], [...get(c, 't5_input_ids').data]);
      assert.equal([...half(t.t5Ids, 1).data], [...get(c, 'negative_t5_input_ids').data]);
      const errs = [
        expectClose(c, 'pooled', half(t.pooled, 0), 'pooled_prompt_embeds', dtype),
        expectClose(c, 'negative pooled', half(t.pooled, 1), 'debug.negative_pooled_prompt_embeds', dtype),
        expectClose(c, 'T5', half(t.states, 0), 'prompt_embeds', dtype),
        expectClose(c, 'negative T5', half(t.states, 1), 'negative_prompt_embeds', dtype),
      ];
      note(`flux text ${dtype}: max |diff| pooled ${errs[0]}, neg pooled ${errs[1]}, t5 ${errs[2]}, neg t5 ${errs[3]}`);
    } finally {
      e.clip.destroy();
      e.t5.destroy();
    }
  });

  test(`16-channel VAE decode of the final latents, latents / scaling + shift (${dtype})`, async () => {
    const vae = Vae.load(path.join(folder, 'vae'), { dtype });
    try {
      assert.is(vae.model.post_quant_conv, null, 'FLUX VAE: use_post_quant_conv false');
      const errs: string[] = [];
      for (const mode of Object.keys(MODES)) {
        const x = get(c, `latents.${mode}`).data;
        const [B, C, h, w] = get(c, `debug.${mode}.vae_input`).shape;
        const u = unpackLatents({ shape: [B, h * w / 4, 4 * C], data: x }, h, w).data as Float32Array;
        expectClose(c, `${mode} vae input`, vae.latentsToZ({ shape: [B, C, h, w], data: u }), `debug.${mode}.vae_input`, 'f32');
        const img = await decodeLatents(vae, u, [B, C, h, w]);
        errs.push(`${mode} ${expectClose(c, `${mode} image`, img, `image.${mode}`, dtype).toExponential(2)}`);
      }
      note(`flux vae ${dtype}: image max |diff| ${errs.join(', ')}`);
    } finally {
      vae.destroy();
    }
  });
}

test.run();
