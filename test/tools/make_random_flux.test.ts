// tools/make-random-flux.ts at the tiny configs of flux-schnell-tiny (the real-size run
// writes ~34 GB and is never run in tests): every written tensor has the name, shape and
// dtype of the diffusers-written fixture, and the folder loads and runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { q8Decision } from '../../src/io/quantize.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { loadPipeline, type GenerateOptions } from '../../src/pipeline/index.ts';
import { FLUX_SCHNELL_PIPELINE, writeRandomFlux } from '../../tools/make-random-flux.ts';
import { caseDir } from '../models/fixtures.ts';

const fixture = caseDir('flux-schnell-tiny');

/** The folder loads and gives a finite 32x32 image. */
async function generatesFinite(dir: string, o: Partial<GenerateOptions>): Promise<void> {
  const pipe = loadPipeline(dir, { dtype: 'f32' });
  try {
    const r = await pipe.generate({ prompts: ['a cabin'], width: 32, height: 32, maxSequenceLength: 8, ...o });
    assert.equal(r.image.shape, [1, 3, 32, 32]);
    assert.ok([...r.image.data].every(Number.isFinite));
  } finally {
    pipe.destroy();
  }
}

test('tiny random FluxPipeline folder: same tensors as the diffusers-written fixture, bf16; it loads and generates', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'random-flux-'));
  try {
    const params = writeRandomFlux(out, { tokenizers: fixture, configsFrom: fixture, dtype: 'BF16' });
    for (const [comp, file] of Object.entries({ text_encoder: 'model.safetensors', text_encoder_2: 'model.safetensors', vae: 'diffusion_pytorch_model.safetensors', transformer: 'diffusion_pytorch_model.safetensors' })) {
      const mine = SafetensorsReader.open(path.join(out, comp, file)), ref = SafetensorsReader.open(path.join(fixture, comp, file));
      try {
        assert.equal(mine.names().sort(), ref.names().sort(), `${comp}: tensor names`);
        let n = 0;
        for (const name of mine.names()) {
          assert.equal(mine.source(name).shape, ref.source(name).shape, `${comp}/${name}`);
          assert.is(mine.source(name).dtype, 'BF16');
          n += mine.source(name).shape.reduce((a, b) => a * b, 1);
        }
        assert.is(n, params[comp]);
      } finally {
        mine.close();
        ref.close();
      }
      assert.equal(JSON.parse(fs.readFileSync(path.join(out, comp, 'config.json'), 'utf8')), JSON.parse(fs.readFileSync(path.join(fixture, comp, 'config.json'), 'utf8')));
    }
    assert.ok(fs.existsSync(path.join(out, 'tokenizer_2', 'tokenizer.json')) && fs.existsSync(path.join(out, 'tokenizer', 'vocab.json')));
    assert.is(JSON.parse(fs.readFileSync(path.join(out, 'model_index.json'), 'utf8'))._class_name, 'FluxPipeline');
    await generatesFinite(out, {});
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('tiny random FluxPipeline folder in q8_0: Linear weights are q8_0 blocks, the rest f16; it loads and generates', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'random-flux-q8-'));
  try {
    writeRandomFlux(out, { tokenizers: fixture, configsFrom: fixture, dtype: 'Q8_0' });
    for (const comp of ['transformer', 'text_encoder_2']) {
      const file = comp === 'transformer' ? 'diffusion_pytorch_model.safetensors' : 'model.safetensors';
      const r = SafetensorsReader.open(path.join(out, comp, file));
      try {
        const dtypes = new Map(r.names().map((n) => [n, r.source(n).dtype]));
        const q8 = [...dtypes].filter(([, d]) => d === 'Q8_0').map(([n]) => n);
        assert.ok(q8.length > 0, `${comp}: some q8_0 tensors`);
        for (const [n, d] of dtypes) {
          assert.is(d, q8Decision({ name: n, dtype: 'F32', shape: r.source(n).shape }).quantize ? 'Q8_0' : 'F16', `${comp}/${n}`);
        }
      } finally {
        r.close();
      }
    }
    await generatesFinite(out, { negatives: ['fog'], guidance: { mode: 'nasa' } });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('real FLUX.1-schnell configs are the published ones (sizes only; nothing written)', () => {
  const t = FLUX_SCHNELL_PIPELINE.transformer, e = FLUX_SCHNELL_PIPELINE.text_encoder_2;
  assert.equal([t.num_layers, t.num_single_layers, t.num_attention_heads, t.attention_head_dim, t.joint_attention_dim], [19, 38, 24, 128, 4096]);
  assert.equal([e.d_model, e.d_ff, e.num_layers, e.num_heads], [4096, 10240, 24, 64]);
});

test('bad arguments: a tokenizer folder without tokenizer_2 fails before writing anything', () => {
  const out = path.join(os.tmpdir(), `random-flux-bad-${process.pid}`);
  assert.throws(() => writeRandomFlux(out, { tokenizers: path.join(fixture, 'vae') }), /has no tokenizer\/ folder/);
  assert.not.ok(fs.existsSync(out));
});

test.run();
