// The scaling between a denoiser's latents and the VAE's own latent z, as diffusers'
// pipelines apply it: before decode `z = latents / scaling_factor + shift_factor`, after
// encode `latents = (z - shift_factor) * scaling_factor`. SD/SDXL have no shift; FLUX's
// VAE has one (scaling 0.3611, shift 0.1159). torch rounds the Python-float factors to
// float32 before the float32 ops; here they stay double, as the fixture-checked pipeline has
// always done, so z can differ from torch's by 1 float32 ulp (test/models/latents.test.ts).
export interface LatentScaling {
  scaling_factor: number;
  shift_factor: number | null;
}

/** Denoiser latents -> the z the VAE decoder takes. */
export function latentsToZ(latents: ArrayLike<number>, c: LatentScaling): Float32Array {
  const s = c.scaling_factor, sh = c.shift_factor ?? 0;
  const z = new Float32Array(latents.length);
  for (let i = 0; i < z.length; i++) z[i] = Math.fround(latents[i] / s) + sh;
  return z;
}

/** The VAE encoder's z (its mean or a sample) -> denoiser latents. */
export function zToLatents(z: ArrayLike<number>, c: LatentScaling): Float32Array {
  const s = c.scaling_factor, sh = c.shift_factor ?? 0;
  const x = new Float32Array(z.length);
  for (let i = 0; i < x.length; i++) x[i] = (z[i] - sh) * s;
  return x;
}
