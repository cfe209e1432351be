import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A fresh temp directory, removed when the test ends. */
export function tmpDir(t: Teardown, prefix = 'grok-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
