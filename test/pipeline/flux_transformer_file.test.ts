// A FluxPipeline folder with its transformer from a single file (generate --transformer,
// loadPipeline(..., { transformer })): flux-schnell-tiny's transformer rewritten in the BFL
// layout as .safetensors and as an F32 GGUF (the test GGUF writer) gives the folder's own
// image bit for bit; a Q8_0 GGUF runs and stays close. Bad uses fail with one line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bflTensors } from '../../src/io/names/flux.ts';
import { readAll, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { FileStore } from '../../src/io/store.ts';
import { loadPipeline } from '../../src/pipeline/index.ts';
import { quantizeQ8_0 } from '../../src/tensor/q8_0.ts';
import { GGML, writeGguf } from '../io/gguf_writer.ts';
import { FIX, scratch, throwsEngine, TINY } from '../io/helpers.ts';
import { folder } from './flux_case.ts';

const tmp = scratch('flux-transformer-file');
const store = new FileStore(path.join(folder, 'transformer', 'diffusion_pytorch_model.safetensors'));
const tensors = bflTensors(store, 'model.diffusion_model.');
const shapeOf = (t: (typeof tensors)[number]) => [t.parts.reduce((a, p) => a + p.shape[0], 0), ...t.parts[0].shape.slice(1)];
const f32Of = (t: (typeof tensors)[number]) => {
  assert.ok(t.parts.every((p) => p.dtype === 'F32'), `${t.name}: the fixture is f32`);
  return new Float32Array(Uint8Array.from(Buffer.concat(t.parts.map((p) => Buffer.from(readAll(p))))).buffer);
};

const bfl = path.join(tmp, 'flux1-tiny.safetensors');
{
  const w = new SafetensorsWriter(bfl, tensors.map((t) => ({ name: t.name, dtype: t.parts[0].dtype, shape: shapeOf(t) })));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const d of w.order) w.writeTensor(d.name, byName.get(d.name)!.parts.map(readAll));
  w.close();
}
function gguf(file: string, q8: boolean): string {
  writeGguf(file, tensors.map((t) => {
    const shape = shapeOf(t), f32 = f32Of(t), quant = q8 && shape.length === 2 && shape[1] % 32 === 0;
    return { name: t.name.replace('model.diffusion_model.', ''), type: quant ? GGML.Q8_0 : GGML.F32, shape, data: quant ? quantizeQ8_0(f32) : new Uint8Array(f32.buffer) };
  }), { 'general.architecture': 'flux' });
  return file;
}
const ggufF32 = gguf(path.join(tmp, 'flux1-tiny-f32.gguf'), false);
const ggufQ8 = gguf(path.join(tmp, 'flux1-tiny-q8_0.gguf'), true);

async function image(transformer?: string): Promise<Float32Array> {
  const pipe = loadPipeline(folder, { dtype: 'f32', transformer });
  try {
    const r = await pipe.generate({ prompts: ['a cabin in the woods'], negatives: ['fog'], guidance: { mode: 'nasa' }, width: 32, height: 32, maxSequenceLength: 8 });
    return r.image.data as Float32Array;
  } finally {
    pipe.destroy();
  }
}

test('--transformer BFL .safetensors / F32 GGUF: the folder\'s image exactly; Q8_0 GGUF close', async () => {
  const ref = await image();
  for (const f of [bfl, ggufF32]) {
    const got = await image(f);
    assert.is(got.length, ref.length);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got[i] - ref[i]));
    console.log(`  ${path.basename(f)}: max |diff| vs folder ${max}`);
    assert.is(max, 0, path.basename(f));
  }
  const q = await image(ggufQ8);
  let max = 0;
  for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(q[i] - ref[i]));
  console.log(`  q8_0 GGUF: max |diff| vs folder ${max.toExponential(2)}`);
  assert.ok(Number.isFinite(max) && max > 0 && max < 0.05, `q8_0 image diff ${max}`);
});

test('--transformer: bad uses fail with one line', () => {
  throwsEngine(() => loadPipeline(folder, { transformer: path.join(tmp, 'missing.gguf') }), '--transformer: ', 'missing.gguf is not a file');
  throwsEngine(() => loadPipeline(folder, { transformer: path.join(FIX, 'sd21-turbo-tiny.single.safetensors') }), 'not a FLUX transformer in the BFL layout');
  throwsEngine(() => loadPipeline(TINY, { transformer: bfl }), '--transformer: ', "replaces a FluxPipeline's transformer only");
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
