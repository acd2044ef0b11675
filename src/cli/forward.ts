// `forward`: run one model component on tensors from a safetensors file and write its
// outputs to another, named as the reference forward() arguments and outputs, for
// parity checks against PyTorch.
import { EngineError } from '../errors.ts';
import { parseAlpha, resolveGuidance } from '../guidance/resolve.ts';
import type { NasaSettings } from '../guidance/types.ts';
import { toFloat32 } from '../io/dtype.ts';
import { SafetensorsReader, type SourceDType } from '../io/safetensors.ts';
import { writeHostTensors } from '../io/host.ts';
import type { HostTensor, InputSpec } from '../models/api/common.ts';
import { describeSignature } from '../models/api/common.ts';
import { loadComponent, type AnyModel, type TaesdMethod } from '../models/index.ts';
import { parseArgs } from './args.ts';
import { TILING_OPTS, tilingFromArgs } from './vae_args.ts';

const USAGE = `usage: npx tsx src/cli.ts forward <component-folder> --inputs in.safetensors --out out.safetensors [options]

  <component-folder>   a diffusers/transformers component folder: config.json + weights
                       (diffusion_pytorch_model.safetensors, model.safetensors, sharded, variants)
  --inputs FILE        input tensors, named as the reference forward() arguments:
                         UNet2DConditionModel: sample, timestep ([], [1] or [B]), encoder_hidden_states,
                           SDXL: text_embeds, time_ids; with --guidance nasa: negative_encoder_hidden_states
                         CLIPTextModel(WithProjection): input_ids (I64 or I32)
                         CLIPModel: pixel_values (preprocessed) and/or input_ids, attention_mask (optional)
                         T5EncoderModel: input_ids, attention_mask (optional; I64 or I32)
                         PixArtTransformer2DModel: hidden_states, timestep, encoder_hidden_states (raw T5
                           output), encoder_attention_mask (1 keep, 0 pad), resolution [B,2], aspect_ratio [B,1];
                           with --guidance nasa: negative_encoder_hidden_states, negative_encoder_attention_mask
                         FluxTransformer2DModel: hidden_states (packed), encoder_hidden_states, pooled_projections,
                           timestep (sigma), img_ids, txt_ids, guidance (guidance_embeds only); with --guidance
                           nasa: negative_encoder_hidden_states, negative_txt_ids (optional, default zeros)
                         AutoencoderKL: sample (encode) or z (decode; the UNSCALED latent)
                         AutoencoderTiny (TAESD): sample (encode, forward) or z (decode)
  --out FILE           where to write the outputs (F32):
                         UNet: sample; CLIP: last_hidden_state, pooler_output | text_embeds,
                         hidden_states.0..N, pooled_index; CLIPModel: image_embeds, text_embeds,
                         logits_per_image, logits_per_text; VAE: mean, logvar (encode) or sample (decode);
                         T5: last_hidden_state; PixArt: sample (all out_channels, learned sigma included);
                         FLUX: sample (packed velocity);
                         TAESD: latents (encode), sample (decode), forward = the uint8 round trip:
                         latents, scaled_latents, latents_uint8, sample
  --method M           forward | encode | decode (VAE; default: decode for z, encode for sample)
  --vae-tiling         AutoencoderKL: tile like diffusers' enable_tiling() (default: only when the
                       whole pass would not fit the adapter's buffer limits)
  --tile-sample-size N --tile-latent-size M --tile-overlap F
                       AutoencoderKL: exactly these tiles (tile_sample_min_size, tile_latent_min_size,
                       tile_overlap_factor; defaults from the config: sample_size, sample_size/f, 0.25)
  --dtype D            f32 (default) | f16 compute
  --variant V          read <weights>.<V>.safetensors (e.g. fp16)
  --guidance nasa      UNet, PixArt, FLUX: NASA negative-prompt attention
  --alpha A            NASA alpha: a number, 'down=0.1,mid=0.2,up=0.3', or JSON {"default":0.2,"up":0.3,"layers":[...]}
                       (required for a UNet; PixArt, FLUX: default 0.5)
  --debug              also write intermediates as debug.<module path> (VAE: one untiled pass)
  -h, --help           this text`;

export async function run(argv: string[]): Promise<void> {
  const { positional, opts } = parseArgs('forward', argv, {
    inputs: { type: 'string' }, out: { type: 'string' }, method: { type: 'string' }, dtype: { type: 'string' },
    variant: { type: 'string' }, guidance: { type: 'string' }, alpha: { type: 'string' }, debug: { type: 'boolean' },
    ...TILING_OPTS, help: { alias: 'h', type: 'boolean' },
  });
  if (opts.help) { console.log(USAGE); return; }
  const [dir, ...extra] = positional;
  if (!dir) throw new EngineError(`forward: missing <component-folder>\n${USAGE}`);
  if (extra.length) throw new EngineError(`forward: unexpected argument '${extra[0]}'`);
  if (!opts.inputs) throw new EngineError('forward: --inputs <file.safetensors> is required');
  if (!opts.out) throw new EngineError('forward: --out <file.safetensors> is required');
  const dtype = (opts.dtype ?? 'f32') as string;
  if (dtype !== 'f32' && dtype !== 'f16') throw new EngineError(`forward: --dtype must be f32 or f16, got '${dtype}'`);

  const t0 = performance.now();
  const m = loadComponent(dir, { dtype, variant: opts.variant as string | undefined });
  const method = pickMethod(m, opts.method as string | undefined, opts.inputs as string);
  const guidance = parseGuidance(m, dir, opts.guidance as string | undefined, opts.alpha as string | undefined);
  const tiling = tilingFromArgs('forward', opts, m.kind === 'vae' ? m.model.config : null, m.model.className);
  if (tiling && m.kind === 'vae') m.model.tiler.mode = tiling;
  const specs = signature(m, method, !!guidance);
  const inputs = readInputs(opts.inputs as string, specs);
  const debug = opts.debug === true;

  let out: Record<string, HostTensor>;
  if (m.kind === 'unet') out = await m.model.forward(inputs as any, { guidance, debug });
  else if (m.kind === 'clip' || m.kind === 't5' || m.kind === 'clipmodel') out = await m.model.forward(inputs as any, { debug });
  else if (m.kind === 'pixart' || m.kind === 'flux') out = await m.model.forward(inputs as any, { guidance, debug });
  else if (m.kind === 'taesd') out = await m.model[method as TaesdMethod](inputs as any, { debug });
  else out = method === 'encode' ? await m.model.encode(inputs as any, { debug }) : await m.model.decode(inputs as any, { debug });
  writeHostTensors(opts.out as string, out);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  const list = Object.entries(out).filter(([k]) => !k.startsWith('debug.')).map(([k, v]) => `${k} [${v.shape.join(', ')}]`).join(', ');
  console.log(`${m.model.className} ${method} (${dtype}${guidance ? `, nasa alpha ${JSON.stringify(guidance.alpha)}` : ''}): wrote ${list} to ${opts.out} in ${secs} s`);
}

/** --guidance nasa --alpha A for a UNet, PixArt or FLUX component (a UNet folder alone does not say its family, so it needs --alpha). */
function parseGuidance(m: AnyModel, dir: string, mode?: string, alpha?: string): NasaSettings | null {
  if (mode === undefined) {
    if (alpha !== undefined) throw new EngineError('forward: --alpha needs --guidance nasa');
    return null;
  }
  if (mode !== 'nasa') throw new EngineError(`forward: --guidance must be 'nasa', got '${mode}'`);
  if (m.kind !== 'unet' && m.kind !== 'pixart' && m.kind !== 'flux') throw new EngineError(`forward: --guidance applies to UNet2DConditionModel, PixArtTransformer2DModel and FluxTransformer2DModel, ${dir} holds ${m.model.className}`);
  if (alpha === undefined && m.kind === 'unet') throw new EngineError('forward: --guidance nasa needs --alpha');
  return resolveGuidance({ mode, alpha: alpha === undefined ? undefined : parseAlpha(alpha) }, m.kind === 'unet' ? null : m.kind) as NasaSettings;
}

function pickMethod(m: AnyModel, method: string | undefined, inputsFile: string): string {
  if (m.kind !== 'vae' && m.kind !== 'taesd') {
    if (method !== undefined && method !== 'forward') throw new EngineError(`forward: --method ${method} does not apply to ${m.model.className} (only 'forward')`);
    return 'forward';
  }
  const methods = m.kind === 'taesd' ? ['encode', 'decode', 'forward'] : ['encode', 'decode'];
  if (method !== undefined && methods.includes(method)) return method;
  if (method !== undefined) throw new EngineError(`forward: ${m.model.className} methods are ${methods.join(', ').replace(/, (\w+)$/, ' and $1')}, got '${method}'`);
  const names = SafetensorsReader.open(inputsFile).names();
  if (names.includes('z')) return 'decode';
  if (names.includes('sample')) return 'encode';
  throw new EngineError(`forward: ${inputsFile} has neither 'z' (decode) nor 'sample' (encode); ${m.model.className} expects ${describeSignature(m.model.signature('decode'))} for decode or ${describeSignature(m.model.signature('encode'))} for encode`);
}

function signature(m: AnyModel, method: string, guided: boolean): InputSpec[] {
  if (m.kind === 'unet') return m.model.signature(guided);
  if (m.kind === 'clip' || m.kind === 't5' || m.kind === 'clipmodel') return m.model.signature();
  if (m.kind === 'pixart' || m.kind === 'flux') return m.model.signature(guided);
  if (m.kind === 'taesd') return m.model.signature(method as TaesdMethod);
  return m.model.signature(method as 'encode' | 'decode');
}

const INT_DTYPES = new Set<SourceDType>(['I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL']);

/** Reads every tensor; ints become Int32Array where the model takes ids, floats otherwise. */
function readInputs(file: string, specs: InputSpec[]): Record<string, HostTensor> {
  const r = SafetensorsReader.open(file);
  const out: Record<string, HostTensor> = {};
  for (const name of r.names()) {
    const src = r.source(name);
    const spec = specs.find((s) => s.name === name);
    const values = toFloat32(src);
    if (spec?.kind === 'int') {
      if (!INT_DTYPES.has(src.dtype)) throw new EngineError(`${file}: tensor '${name}' is ${src.dtype}; token ids must be an integer dtype (I64 or I32)`);
      for (const v of values) if (!Number.isSafeInteger(v) || v > 0x7fffffff || v < -0x80000000) throw new EngineError(`${file}: tensor '${name}' value ${v} does not fit int32`);
      out[name] = { shape: [...src.shape], data: Int32Array.from(values) };
    } else {
      out[name] = { shape: [...src.shape], data: Float32Array.from(values) };
    }
  }
  return out;
}

