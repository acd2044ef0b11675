// Tiled AutoencoderKL (diffusers' enable_tiling) against the vae-tiled goldens: 16 px /
// 4 latent tiles with 0.25 overlap over a 40x40 image / 10x10 latent (4x4 tiles, edge
// tiles smaller), encode (moments blended, then logvar clamped) and decode, f32 and f16,
// through the API and the `forward` flags. Then when tiling kicks in by itself (a decode
// over the buffer limit), and bad tile sizes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run as forward } from '../../src/cli/forward.ts';
import { readHostTensor, writeHostTensors } from '../../src/io/host.ts';
import { EngineError } from '../../src/errors.ts';
import { Vae } from '../../src/models/index.ts';
import { blendH, blendV, geometry, tileStarts } from '../../src/models/vae_tiling.ts';
import { closeReport } from '../util/compare.ts';
import { expectClose, get, loadCase, note, rejects } from './fixtures.ts';

const c = loadCase('vae-tiled');
const SPEC = { sampleSize: 16, latentSize: 4, overlap: 0.25 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-vae-tiled-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('tile geometry and blend weights are diffusers\'', () => {
  const s = c.json.scalars;
  const d = geometry(SPEC, 4, 'decode'), e = geometry(SPEC, 4, 'encode');
  assert.equal([d.stride, d.blend, d.rowLimit], [s.tiled_decode['overlap_size (stride, latent px)'], s.tiled_decode['blend_extent (image px)'], s.tiled_decode['row_limit (image px)']]);
  assert.equal([e.stride, e.blend, e.rowLimit], [s.tiled_encode['overlap_size (stride, image px)'], s.tiled_encode['blend_extent (latent px)'], s.tiled_encode['row_limit (latent px)']]);
  assert.equal(tileStarts(10, d.stride), s.tiled_decode.tile_starts_rows);
  assert.equal(tileStarts(40, e.stride), s.tiled_encode.tile_starts_cols);
  // blend_v with extent 4: row y of b = a[-4 + y] (1 - y/4) + b[y] y/4; row 0 is all a.
  const a = { shape: [1, 1, 4, 1], data: Float32Array.of(1, 2, 3, 4) }, b = { shape: [1, 1, 4, 1], data: Float32Array.of(10, 10, 10, 10) };
  blendV(a, b, 4);
  assert.equal(Array.from(b.data), [1, 2 * 0.75 + 2.5, 3 * 0.5 + 5, 4 * 0.25 + 7.5]);
  const l = { shape: [1, 1, 1, 2], data: Float32Array.of(8, 4) }, r = { shape: [1, 1, 1, 3], data: Float32Array.of(0, 0, 6) };
  blendH(l, r, 4); // extent clipped to the narrower tile (2)
  assert.equal(Array.from(r.data), [8, 2, 6]);
});

for (const dtype of ['f32'] as const) { // f16: through `forward` below
  test(`vae-tiled ${dtype}: encode (blended moments) and decode`, async () => {
    const vae = Vae.load(c.modelDir, { dtype });
    vae.tiler.mode = SPEC;
    try {
      const enc = await vae.encode({ sample: get(c, 'image') });
      const errs = [`mean ${expectClose(c, 'tiled mean', enc.mean, 'encode_mean', dtype).toExponential(1)}`];
      errs.push(`logvar ${expectClose(c, 'tiled logvar', enc.logvar, 'encode_logvar', dtype).toExponential(1)}`);
      const dec = await vae.decode({ z: get(c, 'z') });
      errs.push(`decode ${expectClose(c, 'tiled decode', dec.sample, 'decode_sample', dtype).toExponential(1)}`);
      // Tiling really changed the result: the untiled goldens differ by far more than the tolerance.
      const untiled = closeReport(dec.sample.data, get(c, 'debug.untiled.decode_sample').data, 0, 0);
      assert.ok(untiled.maxAbs > 0.1, `tiled decode is as close to the untiled golden (${untiled.maxAbs}) as to the tiled one`);
      vae.tiler.mode = 'off';
      expectClose(c, 'untiled decode (mode off)', (await vae.decode({ z: get(c, 'z') })).sample, 'debug.untiled.decode_sample', dtype);
      note(`vae-tiled ${dtype}: max |diff| ${errs.join(', ')}`);
    } finally {
      vae.destroy();
    }
  });
}

test('vae-tiled through `forward --tile-sample-size 16 --tile-latent-size 4 --tile-overlap 0.25`, f32 and f16', async () => {
  const log = console.log;
  console.log = () => {};
  try {
    const inE = path.join(tmp, 'e.safetensors'), inD = path.join(tmp, 'd.safetensors');
    writeHostTensors(inE, { sample: get(c, 'image') });
    writeHostTensors(inD, { z: get(c, 'z') });
    const tiles = ['--tile-sample-size', '16', '--tile-latent-size', '4', '--tile-overlap', '0.25'];
    for (const dtype of ['f32', 'f16'] as const) {
      const oe = path.join(tmp, `oe-${dtype}.safetensors`), od = path.join(tmp, `od-${dtype}.safetensors`);
      await forward([c.modelDir, '--inputs', inE, '--method', 'encode', '--dtype', dtype, ...tiles, '--out', oe]);
      await forward([c.modelDir, '--inputs', inD, '--dtype', dtype, ...tiles, '--out', od]);
      const errs = ['mean', 'logvar'].map((n) => `${n} ${expectClose(c, `forward ${n} ${dtype}`, readHostTensor(oe, n), `encode_${n}`, dtype).toExponential(1)}`);
      errs.push(`decode ${expectClose(c, `forward decode ${dtype}`, readHostTensor(od, 'sample'), 'decode_sample', dtype).toExponential(1)}`);
      note(`vae-tiled forward ${dtype}: max |diff| ${errs.join(', ')}`);
    }
    // --vae-tiling alone: the config's sample_size (16) gives the same tiles.
    const o = path.join(tmp, 'on.safetensors');
    await forward([c.modelDir, '--inputs', inD, '--vae-tiling', '--out', o]);
    expectClose(c, 'forward --vae-tiling', readHostTensor(o, 'sample'), 'decode_sample', 'f32');
    await rejects(() => forward([c.modelDir, '--inputs', inD, '--tile-sample-size', '2', '--out', o]), /--tile-sample-size 2 is smaller than the VAE's latent downsampling 4/);
    await rejects(() => forward([c.modelDir, '--inputs', inD, '--tile-sample-size', '16', '--tile-latent-size', '8', '--out', o]), /--tile-sample-size 16 must be --tile-latent-size 8 x the VAE's downsampling 4 \(= 32\)/);
    await rejects(() => forward([c.modelDir, '--inputs', inD, '--tile-sample-size', '24', '--out', o]), /tile 24 px \/ 6 latent with overlap 0.25 gives a decode stride of 4 and a crop of 18, which do not line up/);
    await rejects(() => forward([c.modelDir, '--inputs', inD, '--tile-overlap', '1', '--out', o]), /--tile-overlap must be in \[0, 1\), got 1/);
  } finally {
    console.log = log;
  }
});

test('auto tiling: only when the whole decode exceeds the buffer limit; shrinks tiles to fit; says so', async () => {
  const vae = Vae.load(c.modelDir);
  const notes: string[] = [];
  vae.tiler.warn = (m) => notes.push(m);
  try {
    const z = get(c, 'z');
    const whole = vae.tiler.largest('decode', z.shape, 'f32');
    const tile = vae.tiler.largest('decode', [1, 4, 4, 4], 'f32');
    assert.ok(whole.bytes === 16 * 40 * 40 * 4 && tile.bytes === 16 * 16 * 16 * 4, `largest activations ${whole.what}, ${tile.what}`);
    vae.tiler.limitBytes = whole.bytes; // fits: one pass
    assert.is(await vae.tiler.plan('decode', z.shape, 'f32'), null);
    expectClose(c, 'auto, fits', (await vae.decode({ z })).sample, 'debug.untiled.decode_sample', 'f32');
    vae.tiler.limitBytes = whole.bytes - 1; // does not: enable_tiling()'s 16 px tiles
    assert.equal(await vae.tiler.plan('decode', z.shape, 'f32'), SPEC);
    expectClose(c, 'auto, tiled', (await vae.decode({ z })).sample, 'decode_sample', 'f32');
    assert.ok(notes.some((m) => /upsample \[1, 16, 40, 40\] f32 \(100\.0 KiB\) exceeds the adapter's 100\.0 KiB buffer limit; decoding in tiles/.test(m)), notes.join('\n'));
    vae.tiler.limitBytes = tile.bytes / 2; // not even one tile fits
    await rejects(() => vae.decode({ z }), /vae decode \[1, 4, 10, 10\] f32 cannot fit even tiled: the smallest tile tried still needs upsample \[1, 16, 16, 16\] f32 \(16\.0 KiB\) over the adapter's 8\.0 KiB buffer limit; try --dtype f16/);
    vae.tiler.mode = SPEC;
    await rejects(() => vae.decode({ z }), /a 16 px tile needs .* over the adapter's 8\.0 KiB buffer limit; use a smaller --tile-sample-size/);
  } finally {
    vae.destroy();
  }
});

test('f16: a pass whose f32 fallback stage does not fit the buffer limit is redone in tiles sized for f32', async () => {
  const vae = Vae.load(c.modelDir, { dtype: 'f16' });
  const notes: string[] = [];
  vae.tiler.warn = (m) => notes.push(m);
  try {
    const z = get(c, 'z');
    // Whole f16 decode fits (51 KiB), whole f32 does not (102 KiB): no tiles planned for f16.
    vae.tiler.limitBytes = 60_000;
    assert.is(await vae.tiler.plan('decode', z.shape, 'f16'), null);
    const calls: string[] = [];
    const out = await vae.tiler.run('decode', z, 'f16', async (t) => {
      calls.push(t.shape.slice(2).join('x'));
      // What Executable.compile says when an overflowing stage re-runs in f32 at full size.
      if (t.shape[2] === 10) throw new EngineError(`decoder.up_blocks.1:upsample: tensor [1, 16, 40, 40] f32 needs 102400 bytes, over the adapter's maxStorageBufferBindingSize 60000`);
      return (await vae.decode({ z: t }, { whole: true })).sample;
    });
    assert.equal(calls[0], '10x10');
    assert.is(calls.length, 17, `one whole try + 16 tiles: ${calls.join(', ')}`);
    expectClose(c, 'redone in tiles', out, 'decode_sample', 'f16');
    assert.ok(notes.some((m) => /a stage fell back to f32 .* redoing it in 16 px tiles sized for f32/.test(m)), notes.join('\n'));
    // Any other error is not retried.
    await rejects(() => vae.tiler.run('decode', z, 'f16', async () => { throw new EngineError('something else'); }), /something else/);
  } finally {
    vae.destroy();
  }
});

test.run();
