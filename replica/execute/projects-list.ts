/** projects.list for gitweb/cgit: one repository per line, trimtop removed, no leading "/". */
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Manifest } from '../../shared/manifest/entry.js';

export function projectsList(m: Manifest, opts: { trimtop: string; symlinks: boolean }): string {
  const trim = opts.trimtop.replace(/\/+$/, '');
  const lines = new Set<string>();
  const add = (key: string) => {
    let p = key;
    if (trim && (p === trim || p.startsWith(`${trim}/`))) p = p.slice(trim.length);
    lines.add(p.replace(/^\/+/, ''));
  };
  for (const [k, e] of m) {
    add(k);
    if (opts.symlinks) for (const s of e.symlinks ?? []) add(s);
  }
  return [...lines].sort().map((l) => `${l}\n`).join('');
}

export async function writeProjectsList(file: string, m: Manifest, opts: { trimtop: string; symlinks: boolean }): Promise<void> {
  await atomicWrite(file, projectsList(m, opts));
}
