// The scaling between a denoiser's latents and the VAE's own latent z, as diffusers'
// pipelines apply it: before decode `z = latents / scaling_factor + shift_factor`, after
// encode `latents = (z - shift_factor) * scaling_factor`. SD/SDXL have no shift; FLUX's
// VAE has one (scaling 0.3611, shift 0.1159). Float32 ops in torch's order, the factors
// rounded to float32 first as torch does with Python scalars (bit-exact, test/models/latents.test.ts).
export interface LatentScaling {
  scaling_factor: number;
  shift_factor: number | null;
}

/** Denoiser latents -> the z the VAE decoder takes. */
export function latentsToZ(latents: ArrayLike<number>, c: LatentScaling): Float32Array {
  const s = Math.fround(c.scaling_factor), sh = Math.fround(c.shift_factor ?? 0);
  const z = new Float32Array(latents.length);
  for (let i = 0; i < z.length; i++) z[i] = Math.fround(latents[i] / s) + sh;
  return z;
}

/** The VAE encoder's z (its mean or a sample) -> denoiser latents. */
export function zToLatents(z: ArrayLike<number>, c: LatentScaling): Float32Array {
  const s = Math.fround(c.scaling_factor), sh = Math.fround(c.shift_factor ?? 0);
  const x = new Float32Array(z.length);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(z[i] - sh) * s;
  return x;
}
