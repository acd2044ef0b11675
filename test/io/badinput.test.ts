// Every bad input named in the weights issue gives one EngineError line naming the file
// (and the tensor) and what was wrong; the CLI turns it into exit code 1 without a stack.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openComponent, openPipeline } from '../../src/io/folder.ts';
import { SafetensorsReader } from '../../src/io/safetensors.ts';
import { openSingleFile } from '../../src/io/singlefile.ts';
import { FIX, TINY, TINY_SINGLE, rawFile, scratch, throwsEngine } from './helpers.ts';

const dir = scratch('bad');
const open = (p: string) => () => SafetensorsReader.open(p);
const t = (dtype: string, shape: unknown, off: unknown) => ({ dtype, shape, data_offsets: off });

test('empty file and files shorter than the length prefix', () => {
  const empty = path.join(dir, 'empty.safetensors');
  fs.writeFileSync(empty, '');
  throwsEngine(open(empty), empty, 'empty file');
  const short = path.join(dir, 'short.safetensors');
  fs.writeFileSync(short, Buffer.from([1, 2, 3]));
  throwsEngine(open(short), short, 'truncated');
});

test('PyTorch pickles (.ckpt zip or raw pickle) are refused by their magic bytes', () => {
  const zip = path.join(dir, 'model.ckpt');
  fs.writeFileSync(zip, Buffer.from('PK\x03\x04rest of a zip file', 'latin1'));
  throwsEngine(open(zip), zip, 'pickle', 'only .safetensors');
  const pkl = path.join(dir, 'model.bin');
  fs.writeFileSync(pkl, Buffer.from([0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0, 0]));
  throwsEngine(open(pkl), pkl, 'pickle');
});

test('truncated file: data section shorter than the header says', () => {
  const p = rawFile(dir, 'trunc.safetensors', { a: t('F32', [4], [0, 16]) }, 10);
  throwsEngine(open(p), p, "'a'", 'truncated');
});

test('header length larger than the file, or absurd (never allocated)', () => {
  const big = rawFile(dir, 'len.safetensors', { a: t('F32', [1], [0, 4]) }, 4, 1000n);
  throwsEngine(open(big), big, 'larger than the rest of the file');
  const absurd = rawFile(dir, 'absurd.safetensors', {}, 0, 1n << 62n);
  throwsEngine(open(absurd), absurd, 'absurd');
});

test('header not JSON, not UTF-8, or not an object', () => {
  throwsEngine(open(rawFile(dir, 'nojson.safetensors', '{"a": ', 0)), 'nojson.safetensors', 'not valid JSON');
  const bin = path.join(dir, 'utf.safetensors');
  fs.writeFileSync(bin, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
  throwsEngine(open(bin), bin, 'UTF-8');
  throwsEngine(open(rawFile(dir, 'arr.safetensors', '[1, 2]')), 'arr.safetensors', 'an array', 'expected an object');
  throwsEngine(open(rawFile(dir, 'null.safetensors', 'null')), 'null.safetensors', 'null');
  throwsEngine(open(rawFile(dir, 'str.safetensors', '"hello"')), 'str.safetensors', 'string');
  throwsEngine(open(rawFile(dir, 'entry.safetensors', { a: 5 })), "'a'", 'not an object');
});

test('offsets out of range, overlapping, with holes, or not matching dtype x shape', () => {
  throwsEngine(open(rawFile(dir, 'oor.safetensors', { a: t('F32', [2], [0, 8]), b: t('F32', [2], [8, 16]) }, 12)), 'oor.safetensors', "'b'", 'past the end');
  throwsEngine(open(rawFile(dir, 'ovl.safetensors', { a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, 12)), 'ovl.safetensors', "'a'", "'b'", 'overlap');
  throwsEngine(open(rawFile(dir, 'gap.safetensors', { a: t('F32', [1], [4, 8]) }, 8)), 'gap.safetensors', "'a'", 'unused bytes');
  throwsEngine(open(rawFile(dir, 'tail.safetensors', { a: t('F32', [1], [0, 4]) }, 9)), 'tail.safetensors', 'trailing');
  throwsEngine(open(rawFile(dir, 'size.safetensors', { a: t('F16', [2, 3], [0, 24]) }, 24)), 'size.safetensors', "'a'", 'F16 x [2,3] needs 12');
  throwsEngine(open(rawFile(dir, 'rev.safetensors', { a: t('F32', [1], [8, 4]) }, 8)), "'a'", 'end before');
  throwsEngine(open(rawFile(dir, 'offs.safetensors', { a: t('F32', [1], [0, 4, 8]) }, 4)), "'a'", 'data_offsets');
  throwsEngine(open(rawFile(dir, 'noffs.safetensors', { a: t('F32', [1], [-4, 0]) }, 4)), "'a'", 'data_offsets');
});

test('unknown dtype, bad shapes, duplicate names, bad metadata', () => {
  throwsEngine(open(rawFile(dir, 'dt.safetensors', { w: t('F128', [1], [0, 16]) }, 16)), 'dt.safetensors', "'w'", "unknown dtype 'F128'");
  throwsEngine(open(rawFile(dir, 'nodt.safetensors', { w: { shape: [1], data_offsets: [0, 4] } }, 4)), "'w'", 'missing dtype');
  throwsEngine(open(rawFile(dir, 'neg.safetensors', { w: t('F32', [2, -1], [0, 0]) })), 'neg.safetensors', "'w'", 'negative');
  throwsEngine(open(rawFile(dir, 'frac.safetensors', { w: t('F32', [1.5], [0, 6]) }, 6)), "'w'", 'non-integer');
  throwsEngine(open(rawFile(dir, 'strdim.safetensors', { w: t('F32', ['3'], [0, 12]) }, 12)), "'w'", 'non-integer');
  throwsEngine(open(rawFile(dir, 'noshape.safetensors', { w: t('F32', 3, [0, 12]) }, 12)), "'w'", 'shape must be an array');
  throwsEngine(open(rawFile(dir, 'huge.safetensors', { w: t('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }, 4)), "'w'", 'too many elements');
  const dup = rawFile(dir, 'dup.safetensors', '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8);
  throwsEngine(open(dup), dup, "'w'", 'twice');
  throwsEngine(open(rawFile(dir, 'meta.safetensors', { __metadata__: { a: 1 } })), '__metadata__', 'string');
});

test('a directory where a file is expected, and a file where a folder is expected', () => {
  throwsEngine(open(dir), dir, 'is a directory');
  throwsEngine(() => openComponent(path.join(TINY, 'unet', 'config.json')), 'config.json', 'is a file');
  const comp = path.join(dir, 'comp');
  fs.mkdirSync(path.join(comp, 'config.json'), { recursive: true });
  throwsEngine(() => openComponent(comp), 'config.json', 'is a directory');
  throwsEngine(open(path.join(dir, 'nope.safetensors')), 'nope.safetensors', 'no such file');
});

function copyComponent(name: string, from: string, edit?: (cfg: any) => any, raw?: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  for (const f of fs.readdirSync(from)) if (f.endsWith('.safetensors')) fs.copyFileSync(path.join(from, f), path.join(d, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(from, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(d, 'config.json'), raw ?? JSON.stringify(edit ? edit(cfg) : cfg));
  return d;
}

test('config.json invalid, or sizes disagreeing with the weights', () => {
  const vae = path.join(TINY, 'vae');
  throwsEngine(() => openComponent(copyComponent('badjson', vae, undefined, '{"block_out_channels": [8,')), 'badjson/config.json', 'invalid JSON');
  throwsEngine(() => openComponent(copyComponent('arrjson', vae, undefined, '[1]')), 'arrjson/config.json', 'expected a JSON object');
  throwsEngine(() => openComponent(copyComponent('vaeboc', vae, (c) => ({ ...c, block_out_channels: [8, 16, 32, 16] }))),
    'vaeboc/config.json', 'block_out_channels[2]=32', 'decoder.up_blocks.1.resnets.2.conv1.weight', 'diffusion_pytorch_model.safetensors', '[16, 16, 3, 3]');
  throwsEngine(() => openComponent(copyComponent('vaelat', vae, (c) => ({ ...c, latent_channels: 8 }))), 'vaelat/config.json', 'latent_channels=8');
  throwsEngine(() => openComponent(copyComponent('vaetypes', vae, (c) => ({ ...c, block_out_channels: 'x' }))), 'vaetypes/config.json', 'block_out_channels');
  const te = path.join(TINY, 'text_encoder');
  throwsEngine(() => openComponent(copyComponent('telayers', te, (c) => ({ ...c, num_hidden_layers: 3 }))), 'telayers/config.json', 'num_hidden_layers=3', 'text_model.encoder.layers.2.mlp.fc1.weight');
  throwsEngine(() => openComponent(copyComponent('teheads', te, (c) => ({ ...c, num_attention_heads: 5 }))), 'teheads/config.json', '5 heads');
  const unet = path.join(TINY, 'unet');
  throwsEngine(() => openComponent(copyComponent('unetcad', unet, (c) => ({ ...c, cross_attention_dim: 64 }))), 'unetcad/config.json', 'cross_attention_dim=64', 'attn2.to_k.weight', '[16, 32]');
  throwsEngine(() => openComponent(copyComponent('unetlpb', unet, (c) => ({ ...c, layers_per_block: 1 }))), 'unetlpb/config.json', 'layers_per_block=1');
  throwsEngine(() => openComponent(copyComponent('unetin', unet, (c) => ({ ...c, in_channels: 9 }))), 'unetin/config.json', 'in_channels=9', 'conv_in.weight');
});

test('single file with a --config folder that disagrees with it', () => {
  const ref = path.join(dir, 'ref');
  fs.mkdirSync(path.join(ref, 'text_encoder'), { recursive: true });
  for (const f of ['model_index.json', 'unet/config.json', 'vae/config.json', 'scheduler/scheduler_config.json']) {
    fs.mkdirSync(path.dirname(path.join(ref, f)), { recursive: true });
    fs.copyFileSync(path.join(TINY, f), path.join(ref, f));
  }
  const te = JSON.parse(fs.readFileSync(path.join(TINY, 'text_encoder/config.json'), 'utf8'));
  fs.writeFileSync(path.join(ref, 'text_encoder/config.json'), JSON.stringify({ ...te, intermediate_size: 64 }));
  throwsEngine(() => openSingleFile(TINY_SINGLE, { config: ref }), 'text_encoder/config.json', 'intermediate_size=64', "stored as", 'mlp.fc1.weight');
  throwsEngine(() => openSingleFile(path.join(FIX, 'unet-sdxl', 'model.safetensors')), 'model.safetensors', 'not a single-file');
  throwsEngine(() => openPipeline(path.join(FIX, 'vae')), 'model_index.json', 'no such file');
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
}

test('CLI: bad input exits 1 with one "error:" line and no stack trace', () => {
  const p = rawFile(dir, 'cli.safetensors', { a: t('F32', [4], [0, 16]) }, 3);
  for (const args of [['inspect', p], ['convert', p, path.join(dir, 'out.safetensors'), '--dtype', 'f16'], ['convert', TINY, path.join(dir, 'o'), '--dtype', 'f8']]) {
    const r = cli(...args);
    assert.is(r.status, 1, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    assert.is(lines.length, 1, `one line expected, got:\n${r.stderr}`);
    assert.match(lines[0], /^error: /);
    assert.not.match(r.stderr, /\n\s+at /);
  }
  assert.not.ok(fs.existsSync(path.join(dir, 'out.safetensors.partial')), 'failed conversion left a partial file');
});

test.run();
