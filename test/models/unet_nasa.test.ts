// NASA in every cross-attention layer of the UNet (the fused nasaAttention op behind
// Attention.forward) against the reference NASAAttnProcessor goldens, f32 and f16, at the
// alphas of each case; plus per-part / per-layer alpha schedules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UNet } from '../../src/models/index.ts';
import { expectClose, get, loadCase, note, rejects, unetInputs } from './fixtures.ts';

const alphaName = (a: number) => `sample_t999_nasa_alpha_${String(a).replace('.', 'p')}`;

for (const name of ['unet-sd15-nasa', 'unet-sd21-nasa']) {
  const c = loadCase(name);
  const t = get(c, 'timesteps').data[0];
  const alphas: number[] = c.json.oracle.spec.alphas;
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${name} ${dtype}`, async () => {
      const unet = UNet.load(c.modelDir, { dtype });
      try {
        const x = { ...unetInputs(c), timestep: t, negative_encoder_hidden_states: get(c, 'negative_encoder_hidden_states') };
        const plain = await unet.forward({ ...unetInputs(c), timestep: t });
        expectClose(c, 'plain', plain.sample, 'sample_t999', dtype);
        const errs: string[] = [];
        for (const alpha of alphas) {
          const out = await unet.forward(x, { guidance: { mode: 'nasa', alpha } });
          errs.push(`alpha ${alpha} ${expectClose(c, `nasa alpha=${alpha}`, out.sample, alphaName(alpha), dtype).toExponential(1)}`);
        }
        note(`${name} ${dtype}: max |diff| ${errs.join(', ')}`);
      } finally {
        unet.destroy();
      }
    });
  }
}

test('unet-sd15-nasa: per-part and per-layer alpha schedules', async () => {
  const c = loadCase('unet-sd15-nasa');
  const unet = UNet.load(c.modelDir);
  try {
    const sites = unet.model.crossAttnSites;
    // down_blocks.0 (CrossAttnDownBlock2D, 1 layer), the mid block, up_blocks.1 (CrossAttnUpBlock2D, 2 layers)
    assert.equal(sites.map((s) => `${s.part}${s.block}`), ['down0', 'mid0', 'up1', 'up1']);
    assert.equal(sites.map((s) => s.index), [0, 1, 2, 3]);
    assert.is(sites[3].path, 'up_blocks.1.attentions.1.transformer_blocks.0.attn2');
    const x = { ...unetInputs(c), timestep: get(c, 'timesteps').data[0], negative_encoder_hidden_states: get(c, 'negative_encoder_hidden_states') };
    const byPart = await unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 1, down: 0.2, mid: 0.2, up: 0.2 } } });
    expectClose(c, 'alpha by part', byPart.sample, alphaName(0.2), 'f32');
    const byLayer = await unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 0, layers: [0.2, 0.2, 0.2, 0.2] } } });
    expectClose(c, 'alpha by layer', byLayer.sample, alphaName(0.2), 'f32');
    // Precedence: layers[i] over the part value over the default (null falls through).
    const mixed = await unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 0.2, up: 1, mid: 1, layers: [null, 0.2, 0.2, 0.2] } } });
    expectClose(c, 'alpha layers over parts', mixed.sample, alphaName(0.2), 'f32');
    // Only the mid block guided: differs from both no guidance and guidance everywhere.
    const mid = await unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 0, mid: 1 } } });
    const d = (name: string) => Math.max(...Array.from(get(c, name).data, (v, i) => Math.abs(v - mid.sample.data[i])));
    assert.ok(d('sample_t999') > 1e-3 && d(alphaName(1)) > 1e-3, `mid-only schedule should differ from alpha 0 (${d('sample_t999')}) and alpha 1 everywhere (${d(alphaName(1))})`);
    await rejects(() => unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 0, layers: [1, 1, 1, 1, 1] } } }), /alpha\.layers has 5 entries but the model has 4 cross-attention layers/);
    await rejects(() => unet.forward(x, { guidance: { mode: 'nasa', alpha: { default: 0.2, blocks: -1 } } }), /unknown schedule key 'blocks' \(this model's keys: default, layers, down, mid, up\)/);
    await rejects(() => unet.forward({ ...unetInputs(c), timestep: 999 }, { guidance: { mode: 'nasa', alpha: 0.1 } }), /missing input 'negative_encoder_hidden_states'/);
  } finally {
    unet.destroy();
  }
});

test.run();
