// AutoencoderKL against the diffusers goldens: encode (mean, logvar) and decode, f32 and
// f16, plus the low-variance probes (GroupNorm eps 1e-6); intermediates (debug.*) first.
// Then the f16 overflow fallback: a decoder input that overflows f16 must still decode to
// the f32 result, stage by stage, saying so, never returning inf/NaN.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toFloat32 } from '../../src/io/dtype.ts';
import { openComponent } from '../../src/io/folder.ts';
import { readAll, SafetensorsReader, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { Vae, type HostTensor } from '../../src/models/index.ts';
import { closeReport } from '../util/compare.ts';
import { expectClose, expectDebug, get, loadCase, note, rejects } from './fixtures.ts';

const c = loadCase('vae');

for (const dtype of ['f32', 'f16'] as const) {
  test(`vae ${dtype}: encode and decode`, async () => {
    const vae = Vae.load(c.modelDir, { dtype });
    try {
      const enc = await vae.encode({ sample: get(c, 'image') }, { debug: true });
      const dbgE = expectDebug(c, enc, 'debug.', dtype);
      const errs = [`mean ${expectClose(c, 'encode mean', enc.mean, 'encode_mean', dtype).toExponential(1)}`];
      errs.push(`logvar ${expectClose(c, 'encode logvar', enc.logvar, 'encode_logvar', dtype).toExponential(1)}`);
      const dec = await vae.decode({ z: get(c, 'z') }, { debug: true });
      const dbgD = expectDebug(c, dec, 'debug.', dtype);
      assert.ok(dbgE.length >= 5 && dbgD.length >= 6, `intermediates compared: ${[...dbgE, ...dbgD].join(', ')}`);
      errs.push(`decode ${expectClose(c, 'decode', dec.sample, 'decode_sample', dtype).toExponential(1)}`);
      const encL = await vae.encode({ sample: get(c, 'image_lowvar') }, { debug: true });
      expectClose(c, 'encode mean lowvar', encL.mean, 'encode_mean_lowvar', dtype);
      expectClose(c, 'encode logvar lowvar', encL.logvar, 'encode_logvar_lowvar', dtype);
      const decL = await vae.decode({ z: get(c, 'z_lowvar') }, { debug: true });
      errs.push(`decode lowvar ${expectClose(c, 'decode lowvar', decL.sample, 'decode_sample_lowvar', dtype).toExponential(1)}`);
      note(`vae ${dtype}: max |diff| ${errs.join(', ')}`);
    } finally {
      vae.destroy();
    }
  });
}

/**
 * A latent that fits f16 (|z| <= ~6e4) but overflows inside the decoder's first stage:
 * per-channel signs that line z up with the largest effective conv_in filter (through
 * post_quant_conv), computed from this fixture's weights.
 */
function overflowingLatent(z0: HostTensor): HostTensor {
  const st = openComponent(c.modelDir).store;
  const pq = toFloat32(st.source('post_quant_conv.weight')); // [L, L, 1, 1]
  const ci = toFloat32(st.source('decoder.conv_in.weight')); // [C, L, 3, 3]
  const L = z0.shape[1], C = ci.length / (L * 9);
  let best: number[] = [], bestSum = 0;
  for (let o = 0; o < C; o++) {
    const a = new Array(L).fill(0);
    for (let cz = 0; cz < L; cz++) for (let i = 0; i < L; i++) {
      let k = 0;
      for (let t = 0; t < 9; t++) k += ci[(o * L + i) * 9 + t];
      a[cz] += k * pq[i * L + cz];
    }
    const sum = a.reduce((x, y) => x + Math.abs(y), 0);
    if (sum > bestSum) [bestSum, best] = [sum, a.map(Math.sign)];
  }
  assert.ok(bestSum > 1.5, `no filter amplifies enough to overflow (${bestSum})`);
  const hw = z0.shape[2] * z0.shape[3];
  return { shape: z0.shape, data: Float32Array.from(z0.data, (v, i) => 60000 * best[Math.floor(i / hw) % L] + v) };
}

test('vae f16: decoder overflow falls back to f32 for the offending stage, with a note', async () => {
  const v32 = Vae.load(c.modelDir, { dtype: 'f32' });
  const z0 = get(c, 'z');
  const inputs = { 'overflow inside the first stage': overflowingLatent(z0), 'z beyond the f16 range': { shape: z0.shape, data: Float32Array.from(z0.data, (v) => v * 1e5) } };
  try {
    for (const [what, z] of Object.entries(inputs)) {
      const v16 = Vae.load(c.modelDir, { dtype: 'f16' });
      const notes: string[] = [];
      v16.warn = (m) => notes.push(m);
      try {
        const want = (await v32.decode({ z })).sample;
        const got = (await v16.decode({ z })).sample;
        assert.ok(got.data.every(Number.isFinite), `${what}: f16 decode returned inf/NaN`);
        assert.ok(notes.length >= 1 && /^vae decode: .*decoder\.mid_block .*f32/.test(notes[0]), `${what}: notes: ${JSON.stringify(notes)}`);
        const r = closeReport(got.data, want.data, 0.05, 0.01);
        assert.ok(r.worstExcess <= 0, `${what}: f16-with-fallback vs f32: max |diff| ${r.maxAbs} at [${r.maxAt}] (got ${got.data[r.worstAt]}, f32 ${want.data[r.worstAt]})`);
        note(`vae f16 ${what}: ${notes.join(' | ')}; max |diff| vs f32 ${r.maxAbs.toExponential(1)}`);
        // The next call of the same shape goes straight to the stages that needed f32, quietly.
        notes.length = 0;
        const again = (await v16.decode({ z })).sample;
        assert.equal(notes, [], `${what}: second call warned again`);
        assert.equal(Array.from(again.data), Array.from(got.data), `${what}: second call differs`);
      } finally {
        v16.destroy();
      }
    }
  } finally {
    v32.destroy();
  }
});

test('vae: bad inputs', async () => {
  const vae = Vae.load(c.modelDir);
  try {
    const z = get(c, 'z');
    const nan = { shape: z.shape, data: Float32Array.from(z.data) };
    nan.data[5] = NaN;
    await rejects(() => vae.decode({ z: nan }), /decode: the output holds inf\/NaN in f32/);
    await rejects(() => vae.decode({ z: { shape: [1, 3, 8, 8], data: new Float32Array(192) } }), /input 'z' has shape \[1, 3, 8, 8\], expected \[B, 4, h, w\]/);
    await rejects(() => vae.encode({ sample: { shape: [1, 3, 15, 16], data: new Float32Array(720) } }), /image is 15x16; height and width must be divisible by 2/);
    await rejects(() => vae.decode({ sample: z } as any), /unexpected input 'sample'; expected inputs: z \[B, 4, h, w\] float/);
  } finally {
    vae.destroy();
  }
});

test('vae: old attention names (query/key/value/proj_attn, 1x1-conv shaped) load as to_q/to_k/to_v/to_out.0', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-vae-legacy-'));
  try {
    const r = SafetensorsReader.open(path.join(c.modelDir, 'model.safetensors'));
    const rename = (n: string) => n.replace(/attentions\.0\.to_q\./, 'attentions.0.query.').replace(/attentions\.0\.to_k\./, 'attentions.0.key.')
      .replace(/attentions\.0\.to_v\./, 'attentions.0.value.').replace(/attentions\.0\.to_out\.0\./, 'attentions.0.proj_attn.');
    const decls = r.names().map((n) => {
      const src = r.source(n), name = rename(n);
      const conv = name !== n && name.endsWith('.weight');
      return { name, dtype: src.dtype, shape: conv ? [...src.shape, 1, 1] : src.shape, from: n };
    });
    assert.ok(decls.filter((d) => d.name !== d.from).length === 16, 'renamed 2 mid blocks x 4 linears x (weight, bias)');
    const w = new SafetensorsWriter(path.join(dir, 'diffusion_pytorch_model.safetensors'), decls);
    for (const d of w.order) w.writeTensor(d.name, [readAll(r.source(decls.find((x) => x.name === d.name)!.from))]);
    w.close();
    fs.copyFileSync(path.join(c.modelDir, 'config.json'), path.join(dir, 'config.json'));
    const vae = Vae.load(dir);
    try {
      expectClose(c, 'decode (old names)', (await vae.decode({ z: get(c, 'z') })).sample, 'decode_sample', 'f32');
      expectClose(c, 'encode mean (old names)', (await vae.encode({ sample: get(c, 'image') })).mean, 'encode_mean', 'f32');
    } finally {
      vae.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
