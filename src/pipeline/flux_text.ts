// Prompt -> FLUX conditioning as FluxPipeline.encode_prompt does it (diffusers 0.31):
//   CLIP (tokenizer / text_encoder): ids padded to 77 -> pooler_output (the final-layer-norm
//     state at the EOS token, no projection) = pooled_projections (B, 768 for CLIP-L);
//   T5 (tokenizer_2 / text_encoder_2): ids + </s> padded to max_sequence_length, encoded
//     WITHOUT an attention mask (padding is attended, as FLUX was trained) ->
//     encoder_hidden_states (B, S, 4096 for T5-XXL).
// Prompts and negatives go through each encoder as one batch.
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/pipelines/flux/pipeline_flux.py
import { EngineError } from '../errors.ts';
import type { ClipTextEncoder, HostTensor, T5Encoder } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';

export interface FluxTextEncoders {
  clipTokenizer: Tokenizer;
  clip: ClipTextEncoder;
  t5Tokenizer: Tokenizer;
  t5: T5Encoder;
}

export interface FluxText {
  /** (n, S) T5 ids and (n, 77) CLIP ids, for debugging and tests. */
  t5Ids: HostTensor;
  clipIds: HostTensor;
  /** encoder_hidden_states (n, S, d_model). */
  states: HostTensor;
  /** pooled_projections (n, clip hidden size). */
  pooled: HostTensor;
}

function tokenize(tok: Tokenizer, texts: string[], S: number): HostTensor {
  const ids = new Int32Array(texts.length * S);
  texts.forEach((t, i) => ids.set(tok.encode(t, { maxLength: S }).ids, i * S));
  return { shape: [texts.length, S], data: ids };
}

export async function encodeFluxText(e: FluxTextEncoders, texts: string[], maxSequenceLength: number): Promise<FluxText> {
  if (!Number.isInteger(maxSequenceLength) || maxSequenceLength < 1 || maxSequenceLength > 512) {
    throw new EngineError(`--max-sequence-length must be an integer in 1..512, got ${maxSequenceLength}`);
  }
  const clipIds = tokenize(e.clipTokenizer, texts, e.clipTokenizer.maxLength);
  const clipOut = await e.clip.forward({ input_ids: clipIds });
  if (!clipOut.pooler_output) throw new EngineError(`text_encoder: FLUX needs a CLIPTextModel (pooler_output); this is ${e.clip.className}`);
  const t5Ids = tokenize(e.t5Tokenizer, texts, maxSequenceLength);
  const states = (await e.t5.forward({ input_ids: t5Ids })).last_hidden_state;
  return { t5Ids, clipIds, states, pooled: clipOut.pooler_output };
}
