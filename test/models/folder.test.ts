// The three components of a folder written by diffusers' own save_pretrained
// (sd21-turbo-tiny: real CLIP vocabulary, SD2.1 UNet, 4-level VAE), against the
// intermediates of the real StableDiffusionPipeline run (sd21-turbo-tiny.case): prompt
// embeddings, the step-0 UNet output plain and with NASA, and the decoded image; then the
// same from the fp16 variant files (diffusers variant='fp16').
import * as path from 'node:path';
import { test } from 'uvu';
import { ClipTextEncoder, UNet, Vae, type HostTensor } from '../../src/models/index.ts';
import { expectClose, FIX, get, loadCase } from './fixtures.ts';

const c = loadCase('sd21-turbo-tiny.case');
const folder = path.join(FIX, 'sd21-turbo-tiny');

async function check(variant: string | undefined, atolOf: 'f32' | 'f16') {
  const te = ClipTextEncoder.load(path.join(folder, 'text_encoder'), { variant });
  const unet = UNet.load(path.join(folder, 'unet'), { variant });
  const vae = Vae.load(path.join(folder, 'vae'), { variant });
  try {
    const pos = (await te.forward({ input_ids: get(c, 'input_ids') })).last_hidden_state;
    const neg = (await te.forward({ input_ids: get(c, 'negative_input_ids') })).last_hidden_state;
    expectClose(c, 'prompt_embeds', pos, 'prompt_embeds', atolOf);
    expectClose(c, 'negative_prompt_embeds', neg, 'negative_prompt_embeds', atolOf);
    const x = { sample: get(c, 'debug.none.step0.unet_sample'), timestep: 999, encoder_hidden_states: get(c, 'prompt_embeds') };
    expectClose(c, 'unet step 0', (await unet.forward(x)).sample, 'debug.none.step0.unet_output', atolOf);
    const nasa = await unet.forward({ ...x, negative_encoder_hidden_states: get(c, 'negative_prompt_embeds') }, { guidance: { mode: 'nasa', alpha: 0.2 } });
    expectClose(c, 'unet step 0 nasa 0.2', nasa.sample, 'debug.nasa_a0p2.step0.unet_output', atolOf);
    const dec = await vae.decode({ z: vae.latentsToZ(get(c, 'latents.none')) });
    const image: HostTensor = { shape: dec.sample.shape, data: Float32Array.from(dec.sample.data, (v) => Math.min(1, Math.max(0, v / 2 + 0.5))) };
    expectClose(c, 'image', image, 'image.none', atolOf);
  } finally {
    te.destroy();
    unet.destroy();
    vae.destroy();
  }
}

test('sd21-turbo-tiny components (F32 files) match the pipeline intermediates', () => check(undefined, 'f32'));
test('sd21-turbo-tiny components from the fp16 variant files, f32 compute', () => check('fp16', 'f16'));

test.run();
