// `npm test`: runs every test/**/*.test.ts with uvu and fails unless every test passed.
// uvu alone exits 0 when a `before` hook throws (its tests count as not passed, with no
// error), so the totals it prints are checked here; the closing line is the plain
// "N passed, N failed" summary.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// uvu's package exports hide bin.js from require.resolve; its path is stable.
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const args = [uvu, '-r', 'tsx', 'test', '\\.test\\.ts$', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(plain) ?? [])[1] ?? NaN);
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped') || 0;
  const failed = Number.isFinite(total) && Number.isFinite(passed) ? total - passed - skipped : NaN;
  if (!Number.isFinite(failed)) {
    console.log(`tests: uvu printed no totals (exit ${code})`);
    process.exit(code || 1);
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code !== 0 || failed > 0 ? 1 : 0);
});
