// FluxTransformer2DModel against the diffusers goldens of flux-transformer (plain, two
// timesteps, module intermediates first) and flux-transformer-nasa (NASA on the MMDiT,
// alpha 0 / 0.1 / 0.5 / 1, the negative text stream's intermediates), in f32 and f16;
// FluxPipeline's 2x2 packing; bad configs and inputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as forward } from '../../src/cli/forward.ts';
import { Flux, latentImageIds, packLatents, unpackLatents, type FluxInputs, type HostTensor } from '../../src/models/index.ts';
import { runForward, writeInputs } from '../util/forward_cli.ts';
import { expectClose, expectDebug, get, loadCase, note, rejects } from './fixtures.ts';

const c = loadCase('flux-transformer');
const cn = loadCase('flux-transformer-nasa');
const DIR = c.modelDir;
const x: FluxInputs = {
  hidden_states: get(c, 'hidden_states'), encoder_hidden_states: get(c, 'encoder_hidden_states'),
  pooled_projections: get(c, 'pooled_projections'), timestep: get(c, 'timestep'), img_ids: get(c, 'img_ids'), txt_ids: get(c, 'txt_ids'),
};
const x2 = { ...x, timestep: get(c, 'timestep_2') };
const negative = { negative_encoder_hidden_states: get(cn, 'negative_encoder_hidden_states'), negative_txt_ids: get(cn, 'negative_txt_ids') };
const alphas: number[] = cn.json.scalars.alphas;
const tag = (a: number) => String(a).replace('.', 'p');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-flux-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('FluxPipeline packing: latent -> hidden_states and back, image ids', () => {
  const packed = packLatents(get(c, 'latent'));
  assert.equal(packed.shape, [1, 16, 64]);
  assert.equal(Array.from(packed.data), Array.from(get(c, 'hidden_states').data));
  assert.equal(Array.from(unpackLatents(packed, 8, 8).data), Array.from(get(c, 'latent').data));
  const ids = latentImageIds(8, 8);
  assert.equal(Array.from(ids.data), Array.from(get(c, 'img_ids').data));
});

for (const dtype of ['f32', 'f16'] as const) {
  test(`FluxTransformer2DModel ${dtype}: plain (2 timesteps) and NASA alpha ${alphas.join(' / ')}`, async () => {
    const m = Flux.load(DIR, { dtype });
    try {
      const plain = await m.forward(x, { debug: true });
      const seen = expectDebug(c, plain, 'debug.', dtype);
      assert.ok(seen.length >= 14, `intermediates compared: ${seen.join(', ')}`);
      const errs = [`sample ${expectClose(c, 'plain', plain.sample, 'sample', dtype).toExponential(1)}`];
      const plain2 = await m.forward(x2);
      errs.push(`sample_2 ${expectClose(c, 'plain t2', plain2.sample, 'sample_2', dtype).toExponential(1)}`);
      for (const alpha of alphas) {
        const g = { guidance: { mode: 'nasa' as const, alpha } };
        const out = await m.forward({ ...x, ...negative }, { ...g, debug: alpha === 0.5 });
        if (alpha === 0.5) assert.equal(expectDebug(cn, out, `debug.nasa_alpha_${tag(alpha)}.`, dtype).length, 4);
        errs.push(`nasa ${alpha} ${expectClose(cn, `nasa alpha=${alpha}`, out.sample, `sample_nasa_alpha_${tag(alpha)}`, dtype).toExponential(1)}`);
        const out2 = await m.forward({ ...x2, ...negative }, g);
        errs.push(`${expectClose(cn, `nasa alpha=${alpha} t2`, out2.sample, `sample_2_nasa_alpha_${tag(alpha)}`, dtype).toExponential(1)}`);
        if (alpha === 0) {
          // The definition: alpha = 0 is the plain model, bit for bit.
          const i = out.sample.data.findIndex((v, j) => v !== plain.sample.data[j]);
          assert.is(i, -1, `nasa alpha 0 differs from plain at ${i}: ${out.sample.data[i]} vs ${plain.sample.data[i]}`);
        }
      }
      note(`flux ${dtype}: max |diff| ${errs.join(', ')}`);
    } finally {
      m.destroy();
    }
  });
}

test('f16: an overflowing text stream is clipped to +-65504 as diffusers does, not inf -> NaN', async () => {
  const m = Flux.load(DIR, { dtype: 'f16' });
  try {
    const e = get(c, 'encoder_hidden_states');
    // x17000 keeps the input finite in f16 but drives the text residual past 65504 (without the guard every output is NaN).
    const out = await m.forward({ ...x, encoder_hidden_states: { shape: e.shape, data: e.data.map((v) => v * 17000) as Float32Array } }, { debug: true });
    const txt = out['debug.transformer_blocks.0.encoder_hidden_states'].data;
    assert.is(Math.max(...txt.map(Math.abs)), 65504);
    assert.ok(out.sample.data.every(Number.isFinite), 'sample is finite');
  } finally {
    m.destroy();
  }
});

test('FLUX NASA: per-block alpha schedules (double / single / layers)', async () => {
  const m = Flux.load(DIR);
  try {
    const g = { ...x, ...negative };
    expectClose(cn, 'alpha double+single', (await m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 0, double: 0.5, single: 0.5 } } })).sample, 'sample_nasa_alpha_0p5', 'f32');
    expectClose(cn, 'alpha layers', (await m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 1, layers: [0.1, 0.1, 0.1, 0.1] } } })).sample, 'sample_nasa_alpha_0p1', 'f32');
    // Default negative_txt_ids are zeros, as the fixture's.
    expectClose(cn, 'default negative ids', (await m.forward({ ...g, negative_txt_ids: undefined }, { guidance: { mode: 'nasa', alpha: 1 } })).sample, 'sample_nasa_alpha_1', 'f32');
    await rejects(() => m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 0, layers: [1, 1, 1, 1, 1] } } }), /nasa alpha\.layers has 5 entries but the model has 4 cross-attention layers/);
  } finally {
    m.destroy();
  }
});

test('FLUX NAG and VSF through the whole model: their neutral settings give the plain model', async () => {
  const m = Flux.load(DIR);
  try {
    const g = { ...x, ...negative };
    const maxDiff = (a: Float32Array | Int32Array) => Math.max(...a.map((v, i) => Math.abs(v - get(c, 'sample').data[i])));
    // NAG with scale 1 extrapolates nothing; VSF with a huge offset gives the negative keys no weight.
    expectClose(c, 'nag scale 1', (await m.forward(g, { guidance: { mode: 'nag', scale: 1, tau: 2.5, alpha: 0.5 } })).sample, 'sample', 'f32');
    expectClose(c, 'vsf offset 1e4', (await m.forward(g, { guidance: { mode: 'vsf', scale: 3, offset: 1e4 } })).sample, 'sample', 'f32');
    const nag = maxDiff((await m.forward(g, { guidance: { mode: 'nag', scale: 4, tau: 2.5, alpha: 0.5 } })).sample.data);
    const vsf = maxDiff((await m.forward(g, { guidance: { mode: 'vsf', scale: 3, offset: 0.1 } })).sample.data);
    assert.ok(nag > 1e-2 && vsf > 1e-2, `nag 4 and vsf 0.1 must change the output (max |diff| ${nag}, ${vsf})`);
  } finally {
    m.destroy();
  }
});

test('FluxTransformer2DModel rejects bad inputs naming what it expects', async () => {
  const m = Flux.load(DIR);
  try {
    const { pooled_projections, ...noPooled } = x;
    await rejects(() => m.forward(noPooled as FluxInputs), /FluxTransformer2DModel forward: missing input 'pooled_projections'; expected inputs: hidden_states \[B, N, 64\] float; encoder_hidden_states \[B, T, 32\] float; pooled_projections \[B, 24\] float/);
    await rejects(() => m.forward({ ...x, img_ids: { shape: [15, 3], data: new Float32Array(45) } }), /input 'img_ids' has shape \[15, 3\], expected \[N, 3\] or \[1, N, 3\] with B=1, N=16, T=8/);
    await rejects(() => m.forward({ ...x, guidance: 3.5 }), /unexpected input 'guidance'/);
    await rejects(() => m.forward(x, { guidance: { mode: 'nasa', alpha: 0.5 } }), /FluxTransformer2DModel forward \(nasa\): missing input 'negative_encoder_hidden_states'/);
    await rejects(() => m.forward({ ...x, txt_ids: { shape: [8, 3], data: new Float32Array(24).fill(NaN) } }), /input 'txt_ids' has a non-finite value/);
  } finally {
    m.destroy();
  }
});

test('a config that does not match the weights fails naming the tensor and the shape', async () => {
  const dir = path.join(tmp, 'badcfg');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(DIR, 'model.safetensors'), path.join(dir, 'diffusion_pytorch_model.safetensors'));
  const cfg = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8'));
  const write = (o: object) => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, ...o }));
  write({ joint_attention_dim: 4096 });
  await rejects(async () => Flux.load(dir), /tensor 'context_embedder\.weight' in .* has shape \[32, 32\], expected \[32, 4096\]/);
  write({ num_layers: 3 });
  await rejects(async () => Flux.load(dir), /missing tensor 'transformer_blocks\.2\.norm1\.linear\.weight' \[192, 32\]/);
  write({ guidance_embeds: true });
  await rejects(async () => Flux.load(dir), /missing tensor 'time_text_embed\.guidance_embedder\.linear_1\.weight' \[32, 256\]/);
  write({ axes_dims_rope: [4, 6, 8] });
  await rejects(async () => Flux.load(dir), /"axes_dims_rope" \[4,6,8\] sums to 18, expected attention_head_dim 16/);
  write({ patch_size: 2 });
  await rejects(async () => Flux.load(dir), /"patch_size" = 2 is not supported \(supported: 1\)/);
});

// ---- the forward command ------------------------------------------------------------------

test('forward: FluxTransformer2DModel plain (f16), NASA --alpha and default alpha, missing negative input', async () => {
  const base = { ...x, timestep: x.timestep as HostTensor } as Record<string, HostTensor>;
  const plain = await runForward([DIR, '--inputs', writeInputs(path.join(tmp, 'in.safetensors'), base), '--dtype', 'f16'], path.join(tmp, 'out.safetensors'));
  assert.equal(Object.keys(plain), ['sample']);
  expectClose(c, 'forward f16', plain.sample, 'sample', 'f16');
  const inp = writeInputs(path.join(tmp, 'neg.safetensors'), { ...base, ...negative });
  expectClose(cn, 'forward nasa 0.5', (await runForward([DIR, '--inputs', inp, '--guidance', 'nasa', '--alpha', '0.5'], path.join(tmp, 'n.safetensors'))).sample, 'sample_nasa_alpha_0p5', 'f32');
  // Without --alpha: the FLUX family default (0.5, src/guidance/families.ts).
  expectClose(cn, 'forward nasa default', (await runForward([DIR, '--inputs', inp, '--guidance', 'nasa'], path.join(tmp, 'n2.safetensors'))).sample, 'sample_nasa_alpha_0p5', 'f32');
  await rejects(() => forward([DIR, '--inputs', path.join(tmp, 'in.safetensors'), '--guidance', 'nasa', '--alpha', '1', '--out', path.join(tmp, 'x.safetensors')]), /missing input 'negative_encoder_hidden_states'/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'x.safetensors')), 'nothing written on error');
});

test.run();
