// The guidance vocabulary's checks (src/guidance/resolve.ts, types.ts): every key of the
// options and of an alpha schedule is validated, the family's defaults come from one table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GUIDANCE_FAMILIES, SITE_LAYOUTS } from '../../src/guidance/families.ts';
import { checkSettings, parseAlpha, resolveGuidance, scheduleAt } from '../../src/guidance/resolve.ts';
import { siteOf, type GuidanceOptions } from '../../src/guidance/types.ts';

const throws = (f: () => unknown, re: RegExp) => {
  let msg = '';
  try {
    f();
  } catch (e: any) {
    msg = e.message;
  }
  assert.match(msg, re);
};

test('defaults come from the family table', () => {
  assert.equal(resolveGuidance({ mode: 'nasa' }, 'sd1'), { mode: 'nasa', alpha: 0.1 });
  assert.equal(resolveGuidance({ mode: 'nasa' }, 'pixart'), { mode: 'nasa', alpha: GUIDANCE_FAMILIES.pixart.defaults.nasa.alpha });
  assert.equal(resolveGuidance({ mode: 'nasa' }, null), { mode: 'nasa', alpha: 0.2 }, 'unknown UNet family: SD2 row');
  assert.equal(resolveGuidance({ mode: 'nag' }, 'sd2'), { mode: 'nag', scale: 4, tau: 2.5, alpha: 0.5 });
  assert.equal(resolveGuidance({ mode: 'nasa', alpha: parseAlpha('up=0.3') }, 'sd1'), { mode: 'nasa', alpha: { up: 0.3, default: 0.1 } });
});

test('every schedule key is checked: unknown parts, parts of another architecture, negative values', () => {
  throws(() => resolveGuidance({ mode: 'nasa', alpha: parseAlpha('dwn=0.3') }, 'sd2'), /unknown schedule key 'dwn' \(this model's keys: default, layers, down, mid, up\)/);
  throws(() => resolveGuidance({ mode: 'nasa', alpha: { default: 0.2, down: 0.1 } }, 'pixart'), /unknown schedule key 'down'.*blocks/);
  throws(() => resolveGuidance({ mode: 'nasa', alpha: { default: 0.5, blocks: -1 } }, 'pixart'), /nasa alpha\.blocks must be a finite number >= 0, got -1/);
  throws(() => resolveGuidance({ mode: 'nasa', alpha: { layers: [0.1, -2] } }, 'sd1'), /nasa alpha\.layers\[1\] must be a finite number >= 0/);
  throws(() => resolveGuidance({ mode: 'nasa', alpha: Number.NaN }, 'sd1'), /nasa alpha must be a finite number >= 0/);
});

test('unknown options and options of another mode are rejected', () => {
  throws(() => resolveGuidance({ mode: 'nasa', alfa: 0.2 } as GuidanceOptions, 'sd1'), /unknown option 'alfa'/);
  throws(() => resolveGuidance({ mode: 'nasa', tau: 2 }, 'sd1'), /--tau does not apply to --guidance nasa \(it takes --alpha\)/);
  throws(() => resolveGuidance({ mode: 'nope' as 'none' }, 'sd1'), /unknown mode 'nope'/);
  throws(() => resolveGuidance({ mode: 'nag', alpha: 2 }, 'sd1'), /nag blend\) must be a finite number in \[0, 1\]/);
  // Settings handed straight to a model (library API) are checked the same way.
  throws(() => checkSettings({ mode: 'vsf', scale: 3, offset: 0.1, tau: 1 } as never, ['blocks']), /guidance vsf: unknown setting 'tau' \(vsf takes scale, offset\)/);
  throws(() => checkSettings({ mode: 'nasa', alpha: { default: 0.2, up: 0.1 } }, ['blocks']), /unknown schedule key 'up'/);
});

test('sites: a layout maps module prefixes to parts; an unknown prefix is an error, not a guess', () => {
  const s = siteOf('up_blocks.2.attentions.1.transformer_blocks.0.attn2', 7, SITE_LAYOUTS.unet);
  assert.equal(s, { part: 'up', block: 2, index: 7, path: 'up_blocks.2.attentions.1.transformer_blocks.0.attn2', attention: 'cross' });
  assert.is(siteOf('single_transformer_blocks.3.attn', 22, SITE_LAYOUTS.mmdit, 'joint').part, 'single');
  throws(() => siteOf('middle_block.1.attn2', 0, SITE_LAYOUTS.unet), /prefix 'middle_block' is not in this model's site layout/);
  assert.is(scheduleAt({ default: 0.2, up: 1, layers: [null, 0.5] }, s), 1);
  assert.is(scheduleAt({ default: 0.2, up: 1, layers: [null, 0.5] }, { ...s, index: 1 }), 0.5);
});

test.run();
