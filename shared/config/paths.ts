/**
 * Config paths that must not coincide. Each command writes its own files (the log, the manifest and
 * its lock and last-fetch state, projects.list, the socket, grok-fsck's status file); two keys naming
 * one file make one command destroy another's (a log written over the manifest corrupts it, a socket
 * path over the status file deletes it). The toplevel and the objstore directory hold repositories:
 * none of those files may be one of them or lie in the objstore, and the toplevel may not lie in the
 * objstore (nor be it). Checked once, when the config is read; paths are absolute and normalised by then.
 */
import path from 'node:path';
import type { SectionConfig } from './schema.js';

type Typed = { readonly core: SectionConfig<'core'>; readonly pull: SectionConfig<'pull'>; readonly fsck: SectionConfig<'fsck'>; readonly origin: SectionConfig<'origin'> };

interface Named {
  readonly key: string;
  readonly path: string;
}

const within = (dir: string, p: string) => p.startsWith(dir === '/' ? '/' : `${dir}/`);
const beside = (file: string, name: string) => path.join(path.dirname(file), `.${path.basename(file)}.${name}`);

/** Why the config's paths clash ("file:line: [a] b ... [c] d (file:line)"), or null. Pure. */
export function pathClash(c: Typed, locations: Readonly<Record<string, string>>): string | null {
  const where = (key: string) => locations[key] ?? '';
  const files: Named[] = [
    { key: '[core] manifest', path: c.core.manifest },
    { key: '[core] log', path: c.core.log },
    { key: '[pull] projectslist', path: c.pull.projectslist },
    { key: '[pull] socket', path: c.pull.socket },
    { key: '[fsck] statusfile', path: c.fsck.statusfile },
  ].filter((f) => f.path !== '');
  // The files kept beside the manifest: another key naming one of them is as bad as naming the manifest.
  const derived: Named[] = c.core.manifest
    ? [
        { key: '[core] manifest (its lock file)', path: beside(c.core.manifest, 'lock') },
        { key: '[core] manifest (its last-fetch state file)', path: beside(c.core.manifest, 'remote') },
      ]
    : [];
  const dirs: Named[] = [
    { key: '[core] toplevel', path: c.core.toplevel },
    { key: '[core] objstore', path: c.core.objstore },
    { key: '[fsck] preload_bundle_outdir', path: c.fsck.preload_bundle_outdir },
    { key: '[origin] bundle_dir', path: c.origin.bundle_dir },
    { key: '[origin] preload_bundle_dir', path: c.origin.preload_bundle_dir },
  ].filter((d) => d.path !== '');
  const clash = (a: Named, b: Named, how: string) => {
    const keyOf = (n: Named) => n.key.replace(/ \(.*\)$/, '');
    const other = where(keyOf(b));
    return `${where(keyOf(a))}: ${a.key} ${JSON.stringify(a.path)} ${how} ${b.key}${other ? ` (${other})` : ''}; each must have a path of its own`;
  };
  const top = dirs[0]!;
  const obj = dirs.find((d) => d.key === '[core] objstore');
  if (obj && (obj.path === top.path || within(obj.path, top.path))) return clash(top, obj, obj.path === top.path ? 'is also' : 'lies inside');
  for (const d of dirs.filter((x) => x !== top && x !== obj)) {
    for (const repoDir of [top, obj]) {
      if (repoDir && d.path === repoDir.path) return clash(d, repoDir, 'is also');
    }
  }
  for (let i = 0; i < files.length; i++) {
    const a = files[i]!;
    for (const b of [...files.slice(i + 1), ...derived]) if (a.path === b.path) return clash(a, b, 'is also');
    for (const d of dirs) {
      if (a.path === d.path) return clash(a, d, 'is also');
      if (d.key === '[core] objstore' && within(d.path, a.path)) return clash(a, d, 'lies inside');
    }
  }
  return null;
}
