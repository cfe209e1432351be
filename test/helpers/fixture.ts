import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures in the source tree (tests run from dist/test/...). */
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
export const REPO_ROOT = path.resolve(FIXTURES, '../..');
/** The commands as installed: esbuild's bundles of the compiled entry points (package.json "bin"). */
export const BIN = {
  manifest: path.join(REPO_ROOT, 'dist/bin/grok-manifest.js'),
  origin: path.join(REPO_ROOT, 'dist/bin/grok-origin.js'),
  pull: path.join(REPO_ROOT, 'dist/bin/grok-pull.js'),
  fsck: path.join(REPO_ROOT, 'dist/bin/grok-fsck.js'),
  dumbPull: path.join(REPO_ROOT, 'dist/bin/grok-dumb-pull.js'),
  bundle: path.join(REPO_ROOT, 'dist/bin/grok-bundle.js'),
  'pi-piper': path.join(REPO_ROOT, 'dist/bin/grok-pi-piper.js'),
  'pi-indexer': path.join(REPO_ROOT, 'dist/bin/grok-pi-indexer.js'),
};

/** Builds grokmirror's reference collection (same shas every time) under `top`. */
export function makeGrokmirrorFixture(top: string): void {
  execFileSync('bash', [path.join(FIXTURES, 'grokmirror-2x/make-repos.sh'), top], { stdio: 'ignore' });
}

export function expectedManifest(name: 'manifest.expected.json' | 'manifest.ignore-meta.expected.json'): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'grokmirror-2x', name), 'utf8')) as Record<string, unknown>;
}
