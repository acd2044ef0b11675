// Weight scopes: model members are checkpoint keys, so a missing or mis-shaped tensor
// fails at load time with its full name and the shape the config implies; unsupported
// config values fail naming the key. No GPU work happens in any of these.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readAll, SafetensorsReader, SafetensorsWriter } from '../../src/io/safetensors.ts';
import { ClipTextEncoder, UNet, Vae } from '../../src/models/index.ts';
import { caseDir } from './fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-weights-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * A copy of a component folder with tensors edited: null drops one, a shape re-declares
 * an existing one (same bytes) or adds a new zero tensor.
 */
function edited(from: string, name: string, edits: Record<string, number[] | null>, config?: (c: any) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const r = SafetensorsReader.open(path.join(from, 'model.safetensors'));
  const decls = r.names().filter((n) => edits[n] !== null).map((n) => ({ name: n, dtype: r.source(n).dtype, shape: edits[n] ?? r.source(n).shape }));
  for (const [n, shape] of Object.entries(edits)) if (shape && !r.has(n)) decls.push({ name: n, dtype: 'F32', shape });
  const w = new SafetensorsWriter(path.join(dir, 'model.safetensors'), decls);
  for (const d of w.order) w.writeTensor(d.name, [r.has(d.name) ? readAll(r.source(d.name)) : new Uint8Array(4 * d.shape.reduce((a, b) => a * b, 1))]);
  w.close();
  const cfg = JSON.parse(fs.readFileSync(path.join(from, 'config.json'), 'utf8'));
  config?.(cfg);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

function throwsEngine(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.is((e as Error).name, 'EngineError', (e as Error).stack);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

test('UNet: a missing tensor is named in full', () => {
  const attn2 = 'down_blocks.0.attentions.0.transformer_blocks.0.attn2';
  const dir = edited(caseDir('unet-sd15'), 'no-to_v', { [`${attn2}.to_v.weight`]: null });
  throwsEngine(() => UNet.load(dir), new RegExp(`missing tensor '${attn2.replace(/\./g, '\\.')}\\.to_v\\.weight' \\[32, 32\\]`));
});

test('UNet: a mis-shaped tensor is named with both shapes', () => {
  const ff = 'up_blocks.1.attentions.1.transformer_blocks.0.ff.net.2.weight';
  const dir = edited(caseDir('unet-sd15'), 'bad-ff', { [ff]: [128, 32] });
  throwsEngine(() => UNet.load(dir), new RegExp(`tensor '${ff.replace(/\./g, '\\.')}' in .* has shape \\[128, 32\\], expected \\[32, 128\\]`));
});

test('CLIP: a mis-shaped text_projection; VAE: unsupported config values', () => {
  const dir = edited(caseDir('clip-text-projection'), 'bad-proj', { 'text_projection.weight': [32, 16] });
  throwsEngine(() => ClipTextEncoder.load(dir), /text_projection\.weight.* has shape \[32, 16\], expected \[16, 32\]/);
  const vae = edited(caseDir('vae'), 'vae-act', {}, (c) => (c.act_fn = 'gelu'));
  throwsEngine(() => Vae.load(vae), /config\.json: "act_fn" = "gelu" is not supported \(supported: "silu"\)/);
  const unet = edited(caseDir('unet-sd15'), 'unet-class-embed', {}, (c) => (c.class_embed_type = 'timestep'));
  throwsEngine(() => UNet.load(unet), /"class_embed_type" = "timestep" is not supported \(only null\)/);
});

test('UNet: tensors the config does not use are reported on stderr', () => {
  const dir = edited(caseDir('unet-sd21'), 'extra', { 'mid_block.attentions.0.transformer_blocks.1.norm1.weight': [64] });
  const err = console.error, msgs: string[] = [];
  console.error = (m: string) => msgs.push(m);
  try {
    UNet.load(dir).destroy();
  } finally {
    console.error = err;
  }
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.match(msgs[0], /1 tensor\(s\) not used by the model, e\.g\. 'mid_block\.attentions\.0\.transformer_blocks\.1\.norm1\.weight'/);
});

test.run();
