// PixArtTransformer2DModel against the diffusers goldens of the pixart case: plain and NASA
// (alpha 0 / 0.2 / 0.5 / 1, the negative prompt with its own mask) in f32 and f16, module
// intermediates first; NAG / VSF with the text mask; alpha schedules; batches; the sin-cos
// positions on non-square grids; the legacy Transformer2DModel config; the `forward`
// command for T5EncoderModel and PixArtTransformer2DModel; bad inputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as forward } from '../../src/cli/forward.ts';
import { runForward as runCli, writeInputs as writeTensors } from '../util/forward_cli.ts';
import { loadComponent, PixArt, type HostTensor, type PixArtInputs } from '../../src/models/index.ts';
import { sincos2d } from '../../src/models/pixart_blocks.ts';
import { assertClose } from '../util/compare.ts';
import { expectClose, expectDebug, get, loadCase, note, rejects } from './fixtures.ts';

const c = loadCase('pixart');
const DIR = path.join(c.dir, 'transformer');
const x: PixArtInputs = {
  hidden_states: get(c, 'sample'), timestep: get(c, 'timestep'), encoder_hidden_states: get(c, 't5_last_hidden_state'),
  encoder_attention_mask: get(c, 'attention_mask'), resolution: get(c, 'resolution'), aspect_ratio: get(c, 'aspect_ratio'),
};
const negative = { negative_encoder_hidden_states: get(c, 't5_negative_last_hidden_state'), negative_encoder_attention_mask: get(c, 'negative_attention_mask') };
const golden = (a: number) => `transformer_output_nasa_alpha_${String(a).replace('.', 'p')}`;
const alphas: number[] = c.json.scalars.alphas;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-pixart-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

for (const dtype of ['f32', 'f16'] as const) {
  test(`PixArtTransformer2DModel ${dtype}: plain and NASA alpha ${alphas.join(' / ')}`, async () => {
    const m = PixArt.load(DIR, { dtype });
    try {
      const plain = await m.forward(x, { debug: true });
      const seen = expectDebug(c, plain, 'debug.transformer.', dtype);
      assert.ok(seen.length >= 9, `intermediates compared: ${seen.join(', ')}`);
      const errs = [`plain ${expectClose(c, 'plain', plain.sample, 'transformer_output', dtype).toExponential(1)}`];
      for (const alpha of alphas) {
        const out = await m.forward({ ...x, ...negative }, { guidance: { mode: 'nasa', alpha }, debug: alpha === 0.5 });
        if (alpha === 0.5) assert.equal(expectDebug(c, out, 'debug.', dtype).filter((n) => n.includes('negative')), ['debug.negative_caption_projection']);
        errs.push(`nasa ${alpha} ${expectClose(c, `nasa alpha=${alpha}`, out.sample, golden(alpha), dtype).toExponential(1)}`);
      }
      note(`pixart ${dtype}: max |diff| ${errs.join(', ')}`);
    } finally {
      m.destroy();
    }
  });
}

test('PixArt guidance: NAG, VSF and alpha schedules use the prompt mask and the negative mask', async () => {
  const m = PixArt.load(DIR);
  try {
    const g = { ...x, ...negative };
    // NAG with scale 1 extrapolates nothing: exactly the masked plain attention.
    expectClose(c, 'nag scale 1', (await m.forward(g, { guidance: { mode: 'nag', scale: 1, tau: 2.5, alpha: 0.5 } })).sample, 'transformer_output', 'f32');
    // VSF with a huge offset gives the negative keys no weight: the masked plain attention.
    expectClose(c, 'vsf offset 1e4', (await m.forward(g, { guidance: { mode: 'vsf', scale: 3, offset: 1e4 } })).sample, 'transformer_output', 'f32');
    const vsf = (await m.forward(g, { guidance: { mode: 'vsf', scale: 3, offset: 0.1 } })).sample;
    const d = Math.max(...vsf.data.map((v, i) => Math.abs(v - get(c, 'transformer_output').data[i])));
    assert.ok(d > 1e-2, `vsf with offset 0.1 must change the output (max |diff| ${d})`);
    // Per-layer schedules: every block at 0.5 via layers, via 'blocks'.
    expectClose(c, 'alpha layers', (await m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 0, layers: [0.5, 0.5] } } })).sample, golden(0.5), 'f32');
    expectClose(c, 'alpha blocks', (await m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 1, blocks: 0.2 } } })).sample, golden(0.2), 'f32');
    await rejects(() => m.forward(g, { guidance: { mode: 'nasa', alpha: { default: 0, layers: [1, 1, 1] } } }), /nasa alpha\.layers has 3 entries but the model has 2 cross-attention layers/);
    // The mask matters: without it the padded tokens are attended and the output moves.
    const unmasked = await m.forward({ ...x, encoder_attention_mask: undefined });
    const du = Math.max(...unmasked.sample.data.map((v, i) => Math.abs(v - get(c, 'transformer_output').data[i])));
    assert.ok(du > 1e-2, `ignoring the text mask must change the output (max |diff| ${du})`);
  } finally {
    m.destroy();
  }
});

test('PixArt batch of 2: each row as alone (no mixing of conditions across the batch)', async () => {
  const m = PixArt.load(DIR);
  try {
    const other: PixArtInputs = {
      hidden_states: { shape: [1, 4, 8, 8], data: x.hidden_states.data.map((v) => -0.5 * v) },
      timestep: { shape: [1], data: Float32Array.of(500) },
      encoder_hidden_states: get(c, 't5_negative_last_hidden_state'), encoder_attention_mask: get(c, 'negative_attention_mask'),
      resolution: { shape: [1, 2], data: Float32Array.of(48, 96) }, aspect_ratio: { shape: [1, 1], data: Float32Array.of(0.5) },
    };
    const cat = (k: keyof PixArtInputs) => {
      const a = x[k] as HostTensor, b = other[k] as HostTensor;
      const data = a.data instanceof Int32Array ? Int32Array.from([...a.data, ...b.data]) : Float32Array.from([...a.data, ...b.data]);
      return { shape: [2, ...a.shape.slice(1)], data };
    };
    const both = await m.forward({
      hidden_states: cat('hidden_states'), timestep: cat('timestep'), encoder_hidden_states: cat('encoder_hidden_states'),
      encoder_attention_mask: cat('encoder_attention_mask'), resolution: cat('resolution'), aspect_ratio: cat('aspect_ratio'),
    });
    const n = both.sample.data.length / 2;
    expectClose(c, 'row 0', { shape: [1, 8, 8, 8], data: both.sample.data.slice(0, n) }, 'transformer_output', 'f32');
    assertClose('row 1', both.sample.data.slice(n), (await m.forward(other)).sample.data, 1e-5, 1e-4);
  } finally {
    m.destroy();
  }
});

test('2D sin-cos positions: column in the first half, row in the second, rescaled to base_size', () => {
  const D = 16, q = D / 4, base = 4;
  const t = sincos2d(D, 4, 8, base, 1); // 4 rows x 8 columns: columns step by base/8 = 0.5
  const emb1d = (p: number) => [...Array.from({ length: q }, (_, k) => Math.sin(p / 10000 ** (k / q))), ...Array.from({ length: q }, (_, k) => Math.cos(p / 10000 ** (k / q)))];
  const at = (r: number, col: number) => Array.from(t.slice((r * 8 + col) * D, (r * 8 + col + 1) * D));
  assertClose('token (r=3, c=5)', at(3, 5), [...emb1d(2.5), ...emb1d(3)], 1e-6, 0);
  assertClose('interpolation 2 halves positions', Array.from(sincos2d(D, 4, 8, base, 2).slice((3 * 8 + 5) * D, (3 * 8 + 6) * D)), [...emb1d(1.25), ...emb1d(1.5)], 1e-6, 0);
});

test('PixArt runs a non-square latent, and loads the legacy Transformer2DModel config', async () => {
  const dir = path.join(tmp, 'legacy');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(DIR, 'model.safetensors'), path.join(dir, 'diffusion_pytorch_model.safetensors'));
  const cfg = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, _class_name: 'Transformer2DModel' }));
  const m = loadComponent(dir);
  try {
    assert.is(m.kind, 'pixart');
    const px = m.model as PixArt;
    expectClose(c, 'legacy class', (await px.forward(x)).sample, 'transformer_output', 'f32');
    const wide = await px.forward({ ...x, hidden_states: { shape: [1, 4, 8, 12], data: Float32Array.from({ length: 384 }, (_, i) => Math.sin(i)) } });
    assert.equal(wide.sample.shape, [1, 8, 8, 12]);
    assert.ok(wide.sample.data.every(Number.isFinite));
  } finally {
    m.model.destroy();
  }
});

test('PixArt rejects bad inputs with what the model expects', async () => {
  const m = PixArt.load(DIR);
  try {
    const { resolution, ...noRes } = x;
    await rejects(() => m.forward(noRes), /PixArtTransformer2DModel forward: missing input 'resolution'; expected inputs: hidden_states \[B, 4, H, W\] float; timestep \[\] \| \[1\] \| \[B\] float; encoder_hidden_states \[B, S, 32\] float; encoder_attention_mask \[B, S\] int \(optional\); resolution \[B, 2\] float; aspect_ratio \[B, 1\] float/);
    await rejects(() => m.forward({ ...x, hidden_states: { shape: [1, 3, 8, 8], data: new Float32Array(192) } }), /input 'hidden_states' has shape \[1, 3, 8, 8\], expected \[B, 4, H, W\]/);
    await rejects(() => m.forward({ ...x, hidden_states: { shape: [1, 4, 9, 8], data: new Float32Array(288) } }), /hidden_states is 9x8; height and width must be multiples of patch_size 2/);
    await rejects(() => m.forward({ ...x, encoder_hidden_states: { shape: [1, 20, 48], data: new Float32Array(960) } }), /input 'encoder_hidden_states' has shape \[1, 20, 48\], expected \[B, S, 32\]/);
    await rejects(() => m.forward({ ...x, encoder_attention_mask: { shape: [1, 19], data: new Int32Array(19) } }), /input 'encoder_attention_mask' has shape \[1, 19\], expected \[B, S\] with B=1, H=8, W=8, S=20/);
    const bad = Int32Array.from(x.encoder_attention_mask!.data);
    bad[3] = 2;
    await rejects(() => m.forward({ ...x, encoder_attention_mask: { shape: [1, 20], data: bad } }), /input 'encoder_attention_mask' must hold 0 \(padding\) or 1 \(token\), found 2 at flat index 3/);
    await rejects(() => m.forward({ ...x, resolution: { shape: [1, 2], data: Float32Array.of(NaN, 64) } }), /input 'resolution' has a non-finite value/);
    await rejects(() => m.forward(x, { guidance: { mode: 'nasa', alpha: 0.5 } }), /PixArtTransformer2DModel forward \(nasa\): missing input 'negative_encoder_hidden_states'/);
    await rejects(() => m.forward({ ...x, ...negative, negative_encoder_attention_mask: { shape: [1, 7], data: new Int32Array(7) } }, { guidance: { mode: 'nasa', alpha: 0.5 } }),
      /input 'negative_encoder_attention_mask' has shape \[1, 7\], expected \[B, S_neg\] with B=1, H=8, W=8, S=20, S_neg=20/);
    await rejects(() => m.forward({ ...x, ...negative }), /unexpected input 'negative_encoder_hidden_states'/);
  } finally {
    m.destroy();
  }
  const cfgDir = path.join(tmp, 'badcfg');
  fs.mkdirSync(cfgDir, { recursive: true });
  fs.copyFileSync(path.join(DIR, 'model.safetensors'), path.join(cfgDir, 'model.safetensors'));
  const cfg = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ ...cfg, activation_fn: 'geglu' }));
  await rejects(async () => PixArt.load(cfgDir), /"activation_fn" = "geglu" is not supported \(supported: "gelu-approximate"\)/);
  fs.writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ ...cfg, num_layers: 3 }));
  await rejects(async () => PixArt.load(cfgDir), /missing tensor 'transformer_blocks\.2\.norm1|missing tensor 'transformer_blocks\.2\.attn1\.to_q\.weight'/);
});

// ---- the forward command ------------------------------------------------------------------

const writeInputs = (file: string, tensors: Record<string, HostTensor>) => writeTensors(path.join(tmp, file), tensors);
const runForward = (args: string[], name: string) => runCli(args, path.join(tmp, name));

test('forward: T5EncoderModel and PixArtTransformer2DModel (plain, NASA, default alpha 0.5)', async () => {
  const te = path.join(c.dir, 'text_encoder');
  const t5 = await runForward([te, '--inputs', writeInputs('t5.safetensors', { input_ids: get(c, 'input_ids'), attention_mask: get(c, 'attention_mask') })], 't5-out.safetensors');
  assert.equal(Object.keys(t5), ['last_hidden_state']);
  expectClose(c, 'forward t5', t5.last_hidden_state, 't5_last_hidden_state', 'f32');

  const base = { ...x, timestep: x.timestep as HostTensor } as Record<string, HostTensor>;
  const plain = await runForward([DIR, '--inputs', writeInputs('px.safetensors', base), '--dtype', 'f16'], 'px-out.safetensors');
  assert.equal(Object.keys(plain), ['sample']);
  expectClose(c, 'forward pixart f16', plain.sample, 'transformer_output', 'f16');
  const inp = writeInputs('pxn.safetensors', { ...base, ...negative });
  expectClose(c, 'forward nasa 0.2', (await runForward([DIR, '--inputs', inp, '--guidance', 'nasa', '--alpha', '0.2'], 'n1.safetensors')).sample, golden(0.2), 'f32');
  expectClose(c, 'forward nasa default', (await runForward([DIR, '--inputs', inp, '--guidance', 'nasa'], 'n2.safetensors')).sample, golden(0.5), 'f32');
  await rejects(() => forward([DIR, '--inputs', writeInputs('pxm.safetensors', base), '--guidance', 'nasa', '--out', path.join(tmp, 'x.safetensors')]), /missing input 'negative_encoder_hidden_states'/);
  await rejects(() => forward([te, '--inputs', writeInputs('t5g.safetensors', { input_ids: get(c, 'input_ids') }), '--guidance', 'nasa', '--alpha', '1', '--out', path.join(tmp, 'x.safetensors')]),
    /--guidance applies to UNet2DConditionModel, PixArtTransformer2DModel and FluxTransformer2DModel, .* holds T5EncoderModel/);
});

test.run();
