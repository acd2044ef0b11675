// FLUX latents as FluxPipeline lays them out: the VAE's (B, C, h, w) latent is cut into
// 2x2 patches, one token per patch with its 4C values, and each token gets a position id
// (0, row, col) for the transformer's 3-axis RoPE; the text tokens get all-zero ids.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/flux/pipeline_flux.py
//   (_pack_latents, _unpack_latents, _prepare_latent_image_ids, encode_prompt's text_ids)
import type { HostTensor } from '../models/index.ts';

/**
 * _pack_latents: (B, C, h, w) -> (B, (h/2)(w/2), 4C), i.e.
 * view(B, C, h/2, 2, w/2, 2).permute(0, 2, 4, 1, 3, 5): token (i, j), channel c*4 + dy*2 + dx.
 */
export function packLatents(x: ArrayLike<number>, B: number, C: number, h: number, w: number): Float32Array {
  const out = new Float32Array(B * C * h * w);
  const gh = h / 2, gw = w / 2, D = 4 * C;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < gh; i++)
      for (let j = 0; j < gw; j++)
        for (let c = 0; c < C; c++)
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              out[((b * gh + i) * gw + j) * D + c * 4 + dy * 2 + dx] = x[((b * C + c) * h + 2 * i + dy) * w + 2 * j + dx];
            }
  return out;
}

/** _unpack_latents: the inverse, (B, (h/2)(w/2), 4C) -> (B, C, h, w). */
export function unpackLatents(x: ArrayLike<number>, B: number, C: number, h: number, w: number): Float32Array {
  const out = new Float32Array(B * C * h * w);
  const gh = h / 2, gw = w / 2, D = 4 * C;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < gh; i++)
      for (let j = 0; j < gw; j++)
        for (let c = 0; c < C; c++)
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              out[((b * C + c) * h + 2 * i + dy) * w + 2 * j + dx] = x[((b * gh + i) * gw + j) * D + c * 4 + dy * 2 + dx];
            }
  return out;
}

/** _prepare_latent_image_ids: ((h/2)(w/2), 3) rows (0, i, j), row-major over the token grid. */
export function latentImageIds(h: number, w: number): HostTensor {
  const gh = h / 2, gw = w / 2;
  const data = new Float32Array(gh * gw * 3);
  for (let i = 0; i < gh; i++)
    for (let j = 0; j < gw; j++) {
      data[(i * gw + j) * 3 + 1] = i;
      data[(i * gw + j) * 3 + 2] = j;
    }
  return { shape: [gh * gw, 3], data };
}

/** encode_prompt's text_ids: zeros (S, 3) (text tokens share one position). */
export function textIds(S: number): HostTensor {
  return { shape: [S, 3], data: new Float32Array(S * 3) };
}
