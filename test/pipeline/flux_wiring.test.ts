// FluxPipeline's loop around the transformer, on the flux-schnell-tiny folder with the
// real text encoders and VAE and a transformer that REPLAYS the velocities the real
// FluxPipeline recorded (debug.<mode>.step<i>.transformer_output), after checking every
// input it is given against the goldens (latents so far, t/1000, T5 states, CLIP pooled,
// ids, the negative text stream and the guidance settings). Final latents and images must
// match the goldens in f32; CFG's batch order and velocity combine, -dev's
// embedded guidance and the bad-input paths are checked here too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../src/io/open.ts';
import type { FluxInputs, FluxRunOptions, HostTensor } from '../../src/models/index.ts';
import { FluxPipeline, type FluxDenoiser } from '../../src/pipeline/flux.ts';
import { atol, expectClose, get, note, rejects } from '../models/fixtures.ts';
import { c, folder, maxSequenceLength, MODES, negatives, prompts } from './flux_case.ts';
import { assertClose } from '../util/compare.ts';

const S = maxSequenceLength;

const exact = (what: string, got: HostTensor, exp: HostTensor) => {
  assert.equal(got.shape, exp.shape, `${what} shape`);
  assert.equal([...got.data], [...exp.data], what);
};

/** Plays back one recorded mode, checking what the pipeline hands the transformer. */
class Replay implements FluxDenoiser {
  mode = 'none';
  dtype: 'f32' | 'f16' = 'f32';
  step = 0;
  respond: ((x: FluxInputs) => Float32Array) | null = null;
  seen: { inputs: FluxInputs; guidance: FluxRunOptions['guidance'] }[] = [];
  constructor(readonly config: { in_channels: number; guidance_embeds: boolean }) {}

  async forward(x: FluxInputs, opts: FluxRunOptions = {}): Promise<Record<string, HostTensor>> {
    this.seen.push({ inputs: x, guidance: opts.guidance });
    if (this.respond) return { sample: { shape: x.hidden_states.shape, data: this.respond(x) } };
    const m = this.mode, i = this.step++, d = this.dtype;
    const prev = i === 0 ? 'latents' : `debug.${m}.step${i - 1}.latents`;
    assertClose(`${m} step ${i} hidden_states`, x.hidden_states.data, get(c, prev).data, i === 0 ? 0 : atol(c, prev, d));
    exact(`${m} step ${i} timestep`, x.timestep as HostTensor, get(c, `debug.${m}.step${i}.transformer_timestep`));
    expectClose(c, `${m} encoder_hidden_states`, x.encoder_hidden_states, 'prompt_embeds', d);
    expectClose(c, `${m} pooled_projections`, x.pooled_projections, 'pooled_prompt_embeds', d);
    exact('img_ids', x.img_ids, get(c, 'debug.latent_image_ids'));
    exact('txt_ids', x.txt_ids, get(c, 'debug.text_ids'));
    assert.is(x.guidance, undefined, 'schnell: no embedded guidance');
    if (m.startsWith('nasa')) {
      assert.equal(opts.guidance, { mode: 'nasa', alpha: 0.5 });
      expectClose(c, `${m} negative_encoder_hidden_states`, x.negative_encoder_hidden_states!, 'negative_prompt_embeds', d);
      exact('negative_txt_ids', x.negative_txt_ids!, get(c, 'debug.text_ids'));
    } else {
      assert.is(opts.guidance, null);
      assert.is(x.negative_encoder_hidden_states, undefined);
    }
    return { sample: get(c, `debug.${m}.step${i}.transformer_output`) };
  }
  destroy(): void {}
}

let replay: Replay;
const load = (dir: string, dtype: 'f32' | 'f16', guidanceEmbeds?: boolean) =>
  FluxPipeline.fromSource(openModel(dir), { dtype }, (_where, comp) => {
    replay = new Replay({ in_channels: comp.config.in_channels, guidance_embeds: guidanceEmbeds ?? comp.config.guidance_embeds });
    return replay;
  });

// f32 only: the f16 run of the whole pipeline is test/pipeline/flux.test.ts.
for (const dtype of ['f32'] as const) {
  test(`FluxPipeline loop reproduces the goldens around the recorded transformer (${dtype}, all modes)`, async () => {
    const pipe = load(folder, dtype);
    try {
      const errs: string[] = [];
      for (const [mode, o] of Object.entries(MODES)) {
        Object.assign(replay, { mode, dtype, step: 0, seen: [] });
        const r = await pipe.generate({ prompts, negatives: o.guidance!.mode === 'none' ? null : negatives, latents: get(c, 'latents'), maxSequenceLength: S, ...o });
        assert.is(replay.step, o.steps, 'one transformer call per step');
        assert.is(r.scheduler, 'FlowMatchEulerDiscreteScheduler');
        assert.is(r.width, 64);
        const el = expectClose(c, `latents.${mode}`, r.latents, `latents.${mode}`, dtype);
        const ei = expectClose(c, `image.${mode}`, r.image, `image.${mode}`, dtype);
        errs.push(`${mode} latents ${el.toExponential(2)} image ${ei.toExponential(2)}`);
      }
      note(`flux pipeline (recorded transformer) ${dtype}: ${errs.join('; ')}`);
    } finally {
      pipe.destroy();
    }
  });
}

test('CFG: one batch [negatives; prompts], v = v- + k (v+ - v-), then the Euler step', async () => {
  const pipe = load(folder, 'f32');
  try {
    const n = get(c, 'latents').data.length;
    // A velocity that tells the halves apart: -1 for the unconditional half, +3 for the conditional.
    replay.respond = (x) => Float32Array.from({ length: 2 * n }, (_, k) => (k < n ? -1 : 3));
    const r = await pipe.generate({ prompts, negatives, latents: get(c, 'latents'), maxSequenceLength: S, guidance: { mode: 'cfg', scale: 2 } });
    const x = replay.seen[0].inputs;
    assert.equal(x.hidden_states.shape, [4, 16, 64]);
    assert.equal((x.timestep as HostTensor).shape, [4]);
    const half = (t: HostTensor, k: number) => ({ shape: [2, ...t.shape.slice(1)], data: t.data.slice(k * t.data.length / 2, (k + 1) * t.data.length / 2) as Float32Array });
    expectClose(c, 'cfg uncond states', half(x.encoder_hidden_states, 0), 'negative_prompt_embeds', 'f32');
    expectClose(c, 'cfg cond states', half(x.encoder_hidden_states, 1), 'prompt_embeds', 'f32');
    expectClose(c, 'cfg uncond pooled', half(x.pooled_projections, 0), 'debug.negative_pooled_prompt_embeds', 'f32');
    expectClose(c, 'cfg cond pooled', half(x.pooled_projections, 1), 'pooled_prompt_embeds', 'f32');
    // v = -1 + 2 (3 - -1) = 7; one step from sigma 1 to 0: x - 7.
    assert.equal([...r.latents.data], [...get(c, 'latents').data].map((v) => Math.fround(v - 7)));
  } finally {
    pipe.destroy();
  }
});

test('FLUX.1-dev (guidance_embeds): embedded guidance 3.5 by default or --guidance-scale, T5 at 512 tokens', async () => {
  const pipe = load(folder, 'f32', true);
  try {
    replay.respond = (x) => new Float32Array(x.hidden_states.data.length);
    await pipe.generate({ prompts: [prompts[0]], seed: 1, width: 32, height: 32 });
    let x = replay.seen[0].inputs;
    assert.equal(x.guidance, { shape: [1], data: Float32Array.of(3.5) });
    assert.equal(x.encoder_hidden_states.shape, [1, 512, 16]);
    assert.equal(x.hidden_states.shape, [1, 4, 64], '32x32 image: 4x4 latent, 2x2 tokens');
    replay.seen = [];
    await pipe.generate({ prompts: [prompts[0]], seed: 1, width: 32, height: 32, guidanceScale: 5, maxSequenceLength: 8 });
    x = replay.seen[0].inputs;
    assert.equal([...(x.guidance as HostTensor).data], [5]);
    assert.equal(x.encoder_hidden_states.shape, [1, 8, 16]);
  } finally {
    pipe.destroy();
  }
});

test('bad input: missing T5 folder, no T5 component, width not a multiple of 16, wrong latents, schnell with --guidance-scale', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-bad-'));
  try {
    const noT5 = path.join(tmp, 'no-t5');
    fs.mkdirSync(noT5);
    for (const e of fs.readdirSync(folder)) if (e !== 'text_encoder_2') fs.symlinkSync(path.join(folder, e), path.join(noT5, e));
    assert.throws(() => load(noT5, 'f32'), (e: Error) => e.name === 'EngineError' && /component 'text_encoder_2' \(T5EncoderModel\) has no folder .*no-t5.text_encoder_2/.test(e.message));
    const unlisted = path.join(tmp, 'unlisted');
    fs.mkdirSync(unlisted);
    for (const e of fs.readdirSync(folder)) if (e !== 'text_encoder_2' && e !== 'model_index.json') fs.symlinkSync(path.join(folder, e), path.join(unlisted, e));
    const index = JSON.parse(fs.readFileSync(path.join(folder, 'model_index.json'), 'utf8'));
    delete index.text_encoder_2;
    fs.writeFileSync(path.join(unlisted, 'model_index.json'), JSON.stringify(index));
    assert.throws(() => load(unlisted, 'f32'), (e: Error) => e.name === 'EngineError' && /unlisted: no 'text_encoder_2' component \(the T5 text encoder/.test(e.message));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const pipe = load(folder, 'f32');
  try {
    replay.respond = (x) => new Float32Array(x.hidden_states.data.length);
    await rejects(() => pipe.generate({ prompts: ['a'], width: 56, height: 64 }), /--width 56 is not divisible by 16 \(VAE factor 8 x 2x2 latent packing\)/);
    await rejects(() => pipe.generate({ prompts: ['a'], latents: { shape: [1, 16, 8, 8], data: new Float32Array(1024) } }), /FLUX latents are packed \(B, L, 64\)/);
    await rejects(() => pipe.generate({ prompts: ['a'], width: 64, height: 64, latents: { shape: [1, 4, 64], data: new Float32Array(256) } }), /expected \[1,16,64\] for 1 prompt/);
    await rejects(() => pipe.generate({ prompts: ['a'], width: 32, height: 32, guidanceScale: 3 }), /--guidance-scale: .* has no guidance embedder/);
    await rejects(() => pipe.generate({ prompts: ['a'], width: 32, height: 32, maxSequenceLength: 0 }), /--max-sequence-length must be an integer in 1\.\.512/);
    assert.is(replay.seen.length, 0, 'no transformer call on bad input');
  } finally {
    pipe.destroy();
  }
});

test.run();
