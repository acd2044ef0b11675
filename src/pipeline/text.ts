// Prompt -> UNet conditioning, as diffusers' encode_prompt does it: ids padded to 77, one
// encoder run over [prompts; negatives]. SD1/SD2 condition on last_hidden_state; SDXL on
// the penultimate hidden states of both encoders concatenated, plus the second encoder's
// projected pooled output and the size/crop time_ids.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py
import type { HostTensor } from '../models/index.ts';
import { joinBatch } from './common.ts';
import type { TextToImagePipeline } from './pipeline.ts';

export interface TextConditioning {
  /** UNet inputs for the prompts: encoder_hidden_states (+ SDXL text_embeds, time_ids). */
  inputs: { encoder_hidden_states: HostTensor; text_embeds?: HostTensor; time_ids?: HostTensor };
  /** Negative text states for attention-space guidance (NASA / NAG / VSF). */
  negative?: HostTensor;
  /** CFG batch [negatives; prompts] of every UNet text input. */
  cfgInputs?: { encoder_hidden_states: HostTensor; text_embeds?: HostTensor; time_ids?: HostTensor };
}

export async function encodeText(
  p: TextToImagePipeline, prompts: string[], negatives: string[] | null, size: { height: number; width: number },
  zeroNegatives = false,
): Promise<TextConditioning> {
  const B = prompts.length;
  const texts = negatives ? [...prompts, ...negatives] : prompts;
  const sdxl = p.textEncoders.length === 2;
  const states: HostTensor[] = [];
  let pooled: HostTensor | null = null;
  for (let e = 0; e < p.textEncoders.length; e++) {
    const tok = p.tokenizers[e], enc = p.textEncoders[e];
    const S = tok.maxLength;
    const ids = new Int32Array(texts.length * S);
    texts.forEach((t, i) => ids.set(tok.encode(t, { maxLength: S }).ids, i * S));
    const out = await enc.forward({ input_ids: { shape: [texts.length, S], data: ids } });
    if (sdxl) {
      const layers = Object.keys(out).filter((k) => k.startsWith('hidden_states.')).length;
      states.push(out[`hidden_states.${layers - 2}`]);
      if (out.text_embeds) pooled = out.text_embeds;
    } else states.push(out.last_hidden_state);
  }
  const all = states.length === 1 ? states[0] : concatLast(states);
  const cond: TextConditioning = { inputs: { encoder_hidden_states: rows(all, 0, B) } };
  let timeIds: HostTensor | undefined;
  if (sdxl) {
    // (original_size, crops_coords_top_left, target_size) = ((h, w), (0, 0), (h, w)).
    const one = [size.height, size.width, 0, 0, size.height, size.width];
    timeIds = { shape: [B, 6], data: Float32Array.from({ length: 6 * B }, (_, i) => one[i % 6]) };
    cond.inputs.text_embeds = rows(pooled!, 0, B);
    cond.inputs.time_ids = timeIds;
  }
  if (negatives) {
    const zero = (t: HostTensor): HostTensor => (zeroNegatives ? { shape: t.shape, data: new Float32Array(t.data.length) } : t);
    const neg = zero(rows(all, B, 2 * B));
    cond.negative = neg;
    cond.cfgInputs = { encoder_hidden_states: stack(neg, cond.inputs.encoder_hidden_states) };
    if (sdxl) {
      cond.cfgInputs.text_embeds = stack(zero(rows(pooled!, B, 2 * B)), cond.inputs.text_embeds!);
      cond.cfgInputs.time_ids = stack(timeIds!, timeIds!);
    }
  }
  return cond;
}

/** Rows [from, to) of the batch dimension. */
export function rows(t: HostTensor, from: number, to: number): HostTensor {
  const per = t.data.length / t.shape[0];
  return { shape: [to - from, ...t.shape.slice(1)], data: t.data.slice(from * per, to * per) as Float32Array };
}

export function stack(a: HostTensor, b: HostTensor): HostTensor {
  return { shape: [a.shape[0] + b.shape[0], ...a.shape.slice(1)], data: joinBatch(a.data as Float32Array, b.data as Float32Array) };
}

/** Concatenates [..., D_i] tensors along the last dimension. */
function concatLast(ts: HostTensor[]): HostTensor {
  const lead = ts[0].data.length / ts[0].shape[ts[0].shape.length - 1];
  const widths = ts.map((t) => t.shape[t.shape.length - 1]);
  const D = widths.reduce((a, b) => a + b, 0);
  const data = new Float32Array(lead * D);
  for (let r = 0; r < lead; r++) {
    let off = 0;
    ts.forEach((t, k) => {
      data.set(t.data.subarray(r * widths[k], (r + 1) * widths[k]), r * D + off);
      off += widths[k];
    });
  }
  return { shape: [...ts[0].shape.slice(0, -1), D], data };
}
