// Latent scaling (src/models/latents.ts) against torch: values printed by torch 1.13 (CPU,
// float32) for x = [1, -2, 0.5, 3.25, -0.0078125]:
//   x / 0.3611 + 0.1159     (FLUX's VAE: scaling 0.3611, shift 0.1159, before decode)
//   (x - 0.1159) * 0.3611   (after encode)
//   x / 0.18215             (SD: no shift)
// torch rounds the factors to float32 first; the engine keeps them double (what the pipeline
// fixtures were matched with), so each value must be within 1 float32 ulp of torch's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { latentsToZ, zToLatents } from '../../src/models/latents.ts';

const x = [1, -2, 0.5, 3.25, -0.0078125];
const bits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0];
function withinUlp(what: string, got: Float32Array, torch: number[]): void {
  torch.forEach((t, i) => assert.ok(Math.abs(bits(got[i]) - bits(t)) <= 1, `${what}[${i}]: ${got[i]} vs torch ${t}`));
}

test('decode side: latents / scaling_factor + shift_factor, within 1 ulp of torch', () => {
  withinUlp('flux decode', latentsToZ(x, { scaling_factor: 0.3611, shift_factor: 0.1159 }), [2.885215997695923, -5.422731876373291, 1.5005580186843872, 9.116177558898926, 0.09426472336053848]);
  withinUlp('sd decode', latentsToZ(x, { scaling_factor: 0.18215, shift_factor: null }), [5.489980697631836, -10.979961395263672, 2.744990348815918, 17.842437744140625, -0.04289047420024872]);
});

test('encode side: (z - shift_factor) * scaling_factor, within 1 ulp of torch; round trip within float32 rounding', () => {
  const flux = { scaling_factor: 0.3611, shift_factor: 0.1159 };
  withinUlp('flux encode', zToLatents(x, flux), [0.3192484974861145, -0.7640514969825745, 0.1386985033750534, 1.131723403930664, -0.04467258229851723]);
  const back = zToLatents(latentsToZ(x, flux), flux);
  back.forEach((v, i) => assert.ok(Math.abs(v - x[i]) <= 1e-6 * Math.max(1, Math.abs(x[i])), `round trip [${i}]: ${v} vs ${x[i]}`));
});

test.run();
