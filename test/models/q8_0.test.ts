// q8_0 weights on whole models: each fixture converted with `convert --dtype q8_0` (its
// Linear weights become GGML Q8_0 blocks, everything else stays F32), loaded through the
// normal folder path and run in f32 and f16 against the f32 diffusers goldens. The cost
// of quantization is the measured error; the bound is stated relative to the output's
// largest magnitude (q8_0 keeps ~8 bits per weight: ~0.5% relative weight error).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convert } from '../../src/io/convert.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { openFluxFile } from '../../src/io/fluxfile.ts';
import { Flux, PixArt, UNet, type HostTensor } from '../../src/models/index.ts';
import { get, loadCase, unetInputs } from './fixtures.ts';

const lines: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-q8-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// Max and mean |got - expected|, and the max relative to max |expected|.
function errors(got: HostTensor, exp: HostTensor) {
  assert.equal(got.shape, exp.shape);
  let max = 0, sum = 0, scale = 0;
  for (let i = 0; i < exp.data.length; i++) {
    const d = Math.abs(got.data[i] - exp.data[i]);
    if (!(d <= max)) max = d; // NaN propagates
    sum += d;
    scale = Math.max(scale, Math.abs(exp.data[i]));
  }
  return { max, mean: sum / exp.data.length, rel: max / scale };
}

function quantized(dir: string, name: string): string {
  const out = path.join(tmp, name);
  const r = convert(dir, out, { dtype: 'Q8_0' });
  const q = (r.quantized ?? []).length, kept = (r.notQuantized ?? []).length;
  assert.ok(q > 0, `${name}: nothing quantized`);
  lines.push(`${name}: ${q} linear weights in q8_0, ${kept} kept in F32 (rows not whole 32-value blocks)`);
  const file = fs.readdirSync(out).find((f) => f.endsWith('.safetensors'))!;
  const st = SafetensorsReader.open(path.join(out, file));
  assert.ok(st.names().some((n) => st.source(n).dtype === 'Q8_0'), 'the converted file holds q8_0 tensors');
  return out;
}

const MAX_REL = 0.05; // of the output's largest magnitude
test('unet-sd21 with q8_0 linear weights, f32 and f16', async () => {
  const c = loadCase('unet-sd21');
  const dir = quantized(c.modelDir, 'unet-sd21');
  for (const dtype of ['f32', 'f16'] as const) {
    const unet = UNet.load(dir, { dtype });
    try {
      const out = await unet.forward({ ...unetInputs(c), timestep: get(c, 'timesteps').data[0] });
      const e = errors(out.sample, get(c, 'sample_t999'));
      lines.push(`unet-sd21 q8_0 ${dtype}: max |diff| ${e.max.toExponential(2)} (${(e.rel * 100).toFixed(2)}% of max |out|), mean ${e.mean.toExponential(2)}`);
      assert.ok(e.rel <= MAX_REL, lines[lines.length - 1]);
    } finally {
      unet.destroy();
    }
  }
});

test('pixart transformer with q8_0 linear weights, f32 and f16', async () => {
  const c = loadCase('pixart');
  const dir = quantized(path.join(c.dir, 'transformer'), 'pixart');
  const x = {
    hidden_states: get(c, 'sample'), timestep: get(c, 'timestep'), encoder_hidden_states: get(c, 't5_last_hidden_state'),
    encoder_attention_mask: get(c, 'attention_mask'), resolution: get(c, 'resolution'), aspect_ratio: get(c, 'aspect_ratio'),
  };
  for (const dtype of ['f32', 'f16'] as const) {
    const m = PixArt.load(dir, { dtype });
    try {
      const e = errors((await m.forward(x)).sample, get(c, 'transformer_output'));
      lines.push(`pixart q8_0 ${dtype}: max |diff| ${e.max.toExponential(2)} (${(e.rel * 100).toFixed(2)}% of max |out|), mean ${e.mean.toExponential(2)}`);
      assert.ok(e.rel <= MAX_REL, lines[lines.length - 1]);
    } finally {
      m.destroy();
    }
  }
});

test('flux-transformer with q8_0 linear weights: diffusers folder, and a BFL single file -> GGUF Q8_0', async () => {
  const c = loadCase('flux-transformer');
  const x = {
    hidden_states: get(c, 'hidden_states'), encoder_hidden_states: get(c, 'encoder_hidden_states'),
    pooled_projections: get(c, 'pooled_projections'), timestep: get(c, 'timestep'), img_ids: get(c, 'img_ids'), txt_ids: get(c, 'txt_ids'),
  };
  const dir = quantized(c.modelDir, 'flux-transformer');
  for (const dtype of ['f32', 'f16'] as const) {
    const m = Flux.load(dir, { dtype });
    try {
      const e = errors((await m.forward(x)).sample, get(c, 'sample'));
      lines.push(`flux-transformer q8_0 ${dtype}: max |diff| ${e.max.toExponential(2)} (${(e.rel * 100).toFixed(2)}% of max |out|), mean ${e.mean.toExponential(2)}`);
      assert.ok(e.rel <= MAX_REL, lines[lines.length - 1]);
    } finally {
      m.destroy();
    }
  }
  // The same model as people download it: one BFL file, quantized in the same format
  // (fused qkv / linear1 rows are whole blocks, so the split views read q8_0 directly).
  const bfl = path.join(tmp, 'flux-bfl.safetensors');
  convert(c.modelDir, bfl, { to: 'single-file', dtype: 'Q8_0' });
  const f = openFluxFile(bfl, { config: c.modelDir });
  assert.is(f.store.source('single_transformer_blocks.0.attn.to_q.weight').dtype, 'Q8_0');
  const m = Flux.fromComponent(bfl, f);
  try {
    const e = errors((await m.forward(x)).sample, get(c, 'sample'));
    lines.push(`flux-transformer BFL q8_0 single file f32: max |diff| ${e.max.toExponential(2)}, mean ${e.mean.toExponential(2)}`);
    assert.ok(e.rel <= MAX_REL, lines[lines.length - 1]);
  } finally {
    m.destroy();
  }
});

test.after(() => { if (process.env.MODEL_TEST_VERBOSE) console.log(lines.join('\n')); });
test.run();
