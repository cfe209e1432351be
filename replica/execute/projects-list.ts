/**
 * projects.list for gitweb/cgit: one repository per line, trimtop removed, no leading "/". Archived
 * repositories are left out unless asked for ([pull] projectslist_archived): still served, not listed.
 */
import type { GrokConfig } from '../../shared/config/config.js';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Manifest } from '../../shared/manifest/entry.js';

export interface ProjectsListOptions {
  readonly trimtop: string;
  readonly symlinks: boolean;
  readonly archived: boolean;
}

export function projectsListOptions(config: GrokConfig): ProjectsListOptions {
  return { trimtop: config.pull.projectslist_trimtop, symlinks: config.pull.projectslist_symlinks, archived: config.pull.projectslist_archived };
}

export function projectsList(m: Manifest, opts: ProjectsListOptions): string {
  const trim = opts.trimtop.replace(/\/+$/, '');
  const lines = new Set<string>();
  const add = (key: string) => {
    let p = key;
    if (trim && (p === trim || p.startsWith(`${trim}/`))) p = p.slice(trim.length);
    lines.add(p.replace(/^\/+/, ''));
  };
  for (const [k, e] of m) {
    if (e.archived === true && !opts.archived) continue;
    add(k);
    if (opts.symlinks) for (const s of e.symlinks ?? []) add(s);
  }
  return [...lines].sort().map((l) => `${l}\n`).join('');
}

export async function writeProjectsList(file: string, m: Manifest, opts: ProjectsListOptions): Promise<void> {
  await atomicWrite(file, projectsList(m, opts));
}
