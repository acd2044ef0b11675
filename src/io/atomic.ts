// Whole-file writes that never leave a half-written file behind: write a temporary file
// in the same folder, then rename it over the target (atomic on POSIX file systems), so a
// killed run or a full disk leaves either the old file or the new one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors.ts';

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new EngineError(`${file}: cannot write (${(e as Error).message})`);
  }
}
