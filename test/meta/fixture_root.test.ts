// `npm test` must not depend on ../shared/fixtures silently: with the fixture root missing,
// a fixture test file stops with one line naming the folder and a failing exit status
// (not a pass, not a stack trace). Checked on real fixture test files in child processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const missing = join(mkdtempSync(join(tmpdir(), 'nofix-')), 'fixtures');

function run(file: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

test('a missing fixture root fails fixture test files with one line, no stack, no passes', () => {
  try {
    // One file reads fixtures at import time (scheduler), one through test/models/fixtures.ts.
    for (const file of ['test/pipeline/scheduler.test.ts', 'test/models/vae.test.ts']) {
      const r = run(file, { ENGINE_FIXTURES: missing });
      const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim());
      assert.is(r.status, 1, `${file}: exit status ${r.status}\n${r.stdout}${r.stderr}`);
      assert.equal(lines.length, 1, `${file}: expected one line, got:\n${lines.join('\n')}`);
      assert.match(lines[0], /^fixtures: no fixture folder at .*nofix-.*fixtures \(from ENGINE_FIXTURES\); the fixture tests cannot run$/);
    }
  } finally {
    rmSync(join(missing, '..'), { recursive: true, force: true });
  }
});

test('the same file runs and passes when ENGINE_FIXTURES points at the real fixtures', () => {
  const r = run('test/tokenizers/bpe.test.ts', {});
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Passed:\s+[1-9]/);
});

test.run();
