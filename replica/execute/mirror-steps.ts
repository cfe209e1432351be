/**
 * The things grok-pull does to one repository, each through the git module: make it (in a temporary
 * directory beside the target, renamed into place only when complete, so a half-made clone is never
 * visible at the final path), point its remote at the origin, set its parameters, fetch, record
 * what it now holds, and remove it.
 */
import { mkdirSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { atomicWriteSmallSync } from '../../shared/fs/atomic.js';
import { mirrorFetch, untrusted, type Git, type GitCommand } from '../../shared/git/index.js';
import { gitRateConfig, type TransferSettings } from '../source/transfer.js';
import { clampModified, type ManifestEntry } from '../../shared/manifest/entry.js';
import { isUnder, keyToPath } from '../../shared/manifest/keys.js';
import { remoteUrl } from '../plan.js';
import { writeFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { currentFingerprint } from '../../shared/repo/refs.js';
import { discard } from './trash.js';
import { workPath } from '../../shared/repo/work-names.js';

export interface MirrorStepsContext {
  readonly git: Git;
  readonly toplevel: string;
  readonly site: string;
  readonly remotename: string;
  /** Symlink key -> the keys whose entries listed it in the local manifest when the pass began. */
  readonly listedSymlinks?: ReadonlyMap<string, readonly string[]>;
  /** Bounds on clones and fetches from the origin (transfer.ts): a minimum rate over http(s), a time limit. */
  readonly transfer?: TransferSettings;
}

/** What a clone or fetch from the origin adds to its command: git's minimum rate, and its time limit. */
function transferBounds(ctx: MirrorStepsContext): Pick<GitCommand, 'config' | 'timeoutMs'> {
  return ctx.transfer ? { config: gitRateConfig(ctx.transfer.rate), timeoutMs: ctx.transfer.gitTimeoutMs } : {};
}

/** Where a temporary clone for `repo` is built: beside it, hidden, never a valid manifest path. */
export function tempCloneDir(repo: string): string {
  return workPath(repo, 'init');
}


/**
 * A new mirror in one git process: `git clone --mirror` under our remote name, with gc.auto=0 and the
 * entry's owner (if it has one: default_owner is never written, as in grokmirror) set by -c, no template (so no
 * sample hooks), and the objstore as --reference when the forkgroup has one (only the fork's own objects travel),
 * never the source's alternates (`--no-local`). ffonly repositories then drop the "+".
 * With a filter it is a partial clone: git records the remote as the promisor with that filter
 * (remote.<name>.promisor and .partialclonefilter), later fetches keep it and
 * missing objects are fetched from the remote when something reads them.
 */
export async function cloneMirror(
  ctx: MirrorStepsContext,
  dir: string,
  key: string,
  entry: ManifestEntry,
  opts: { ffonly: boolean; reference: string | null; filter?: string | null },
): Promise<void> {
  await fsp.mkdir(path.dirname(dir), { recursive: true });
  await ctx.git.run({
    ...transferBounds(ctx),
    args: [
      'clone',
      '-q',
      '--mirror',
      '--template=',
      '--origin',
      untrusted(ctx.remotename),
      '-c',
      'gc.auto=0',
      // "-c key=value" is one argument: a value starting with "-" cannot be taken for an option.
      ...(entry.owner !== undefined ? ['-c', `gitweb.owner=${entry.owner}`] : []),
      // From a local path git would copy the source's objects/info/alternates: the new mirror would
      // borrow from the origin's objstore, outside this replica (repo/foreign-alternates.ts).
      '--no-local',
      ...(opts.reference ? ['--reference', untrusted(opts.reference)] : []),
      // Checked against partial-filter.ts's short list when the config was read.
      ...(opts.filter ? [`--filter=${opts.filter}`] : []),
      '--',
      untrusted(remoteUrl(ctx.site, key)),
      untrusted(dir),
    ],
  });
  if (opts.ffonly) await ctx.git.run({ gitDir: dir, args: ['config', untrusted(`remote.${ctx.remotename}.fetch`), 'refs/*:refs/*'] });
  writeDescriptionAndHead(dir, entry);
}

/**
 * (Re)creates the remote: the origin's URL for this key and a mirror refspec (no '+' when ffonly).
 * A partial clone keeps its promisor settings: without them the next fetch would bring every blob.
 */
export async function fixRemotes(ctx: MirrorStepsContext, dir: string, key: string, ffonly: boolean): Promise<void> {
  const name = ctx.remotename;
  const got = await ctx.git.run({ gitDir: dir, args: ['config', '--get', untrusted(`remote.${name}.partialclonefilter`)], okExit: [1] });
  const filter = got.exitCode === 0 ? got.stdout.toString('utf8').trim() : '';
  await ctx.git.run({ gitDir: dir, args: ['config', '--remove-section', untrusted(`remote.${name}`)], okExit: [5, 128] });
  await ctx.git.run({ gitDir: dir, args: ['config', untrusted(`remote.${name}.url`), untrusted(remoteUrl(ctx.site, key))] });
  await ctx.git.run({ gitDir: dir, args: ['config', untrusted(`remote.${name}.fetch`), ffonly ? 'refs/*:refs/*' : '+refs/*:refs/*'] });
  if (filter !== '') {
    await ctx.git.run({ gitDir: dir, args: ['config', untrusted(`remote.${name}.promisor`), 'true'] });
    await ctx.git.run({ gitDir: dir, args: ['config', '--', untrusted(`remote.${name}.partialclonefilter`), untrusted(filter)] });
  }
}

/** description (no trailing newline) and HEAD (`<head>\n`), as the entry says. */
function writeDescriptionAndHead(dir: string, entry: ManifestEntry): void {
  if (entry.description !== undefined) atomicWriteSmallSync(path.join(dir, 'description'), entry.description);
  if (entry.head !== null) atomicWriteSmallSync(path.join(dir, 'HEAD'), `${entry.head}\n`);
}

/** description, gitweb.owner (when the entry has one), HEAD. */
export async function fixParams(ctx: MirrorStepsContext, dir: string, entry: ManifestEntry): Promise<void> {
  // After "--" the owner is a value even if it starts with "-"; git config escapes tabs and newlines in it
  // (an argument cannot hold a NUL: entry.ts refuses those).
  if (entry.owner !== undefined) await ctx.git.run({ gitDir: dir, args: ['config', '--', 'gitweb.owner', entry.owner] });
  writeDescriptionAndHead(dir, entry);
}

/**
 * Creates or repairs the entry's symlinks. Never replaces anything but a symlink, and re-points only
 * one of ours: one the local manifest lists for a repository, pointing at that repository the way we
 * make them (its absolute path). A symlink the operator made stays, with a note.
 */
export async function fixSymlinks(ctx: MirrorStepsContext, repo: string, entry: ManifestEntry): Promise<string[]> {
  const notes: string[] = [];
  for (const s of entry.symlinks ?? []) {
    const link = keyToPath(ctx.toplevel, s);
    const st = await fsp.lstat(link).catch(() => null);
    if (st && !st.isSymbolicLink()) {
      notes.push(`${s} exists and is not a symlink; left alone`);
      continue;
    }
    if (st) {
      if ((await fsp.realpath(link).catch(() => null)) === repo) continue;
      const target = await fsp.readlink(link).catch(() => '?');
      const ours = (ctx.listedSymlinks?.get(s) ?? []).some((k) => target === keyToPath(ctx.toplevel, k));
      if (!ours) {
        notes.push(`${s} is a symlink to ${JSON.stringify(target)} that grok-pull did not make; left alone (remove it to have it point here)`);
        continue;
      }
      await fsp.rm(link);
    }
    await fsp.mkdir(path.dirname(link), { recursive: true });
    await fsp.symlink(repo, link);
  }
  return notes;
}

export async function fetchRemote(ctx: MirrorStepsContext, dir: string, ffonly: boolean, attempts: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await ctx.git.run({ ...mirrorFetch(dir, ctx.remotename, { forcedRefspecs: !ffonly }), ...transferBounds(ctx) });
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(1000 * 2 ** (i - 1));
    }
  }
}

/** The repository's own fingerprint (from its ref files, or git), cached in grokmirror.fingerprint. */
export async function recordFingerprint(ctx: MirrorStepsContext, dir: string): Promise<string> {
  const fp = await currentFingerprint(ctx.git, dir);
  if (!fp) throw new GrokError('GROK_ERR_GIT_FAILED', `${dir} has no refs after fetching`, { dir });
  writeFingerprintFile(dir, fp);
  return fp;
}

function cgitDate(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * grokmirror.timestamp and info/web/last-modified (for cgit) from the entry's `modified`, clamped to
 * the end of the year 9999 (a commit dated 99999999999999 is possible); returns a note then.
 */
export function recordTimestamps(dir: string, entry: ManifestEntry): string[] {
  const sec = clampModified(entry.modified);
  atomicWriteSmallSync(path.join(dir, 'grokmirror.timestamp'), String(sec));
  mkdirSync(path.join(dir, 'info', 'web'), { recursive: true });
  atomicWriteSmallSync(path.join(dir, 'info', 'web', 'last-modified'), `${cgitDate(sec)}\n`);
  return sec === entry.modified ? [] : [`"modified" ${entry.modified} lies past the year 9999; recorded as ${cgitDate(sec)}`];
}

/**
 * Removes one of a purged entry's symlinks: only a symlink, and only one that points at `repo` or
 * nowhere. The list comes from the manifest, so it may name a real repository or directory (or
 * another repository's link); those are left alone. Returns whether it removed anything.
 */
export async function removeLink(toplevel: string, key: string, repo: string): Promise<boolean> {
  const p = keyToPath(toplevel, key);
  const st = await fsp.lstat(p).catch(() => null);
  if (!st?.isSymbolicLink()) return false;
  const target = await fsp.realpath(p).catch(() => null);
  if (target !== null && target !== repo) return false;
  await fsp.unlink(p);
  return true;
}

/** Removes a repository (or symlink) under the toplevel. */
export async function removeRepo(toplevel: string, key: string): Promise<void> {
  const p = keyToPath(toplevel, key);
  if (!isUnder(toplevel, p) || p === toplevel) throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `refusing to remove ${p}`, { path: p });
  const st = await fsp.lstat(p).catch(() => null);
  if (!st) return;
  if (st.isSymbolicLink()) await fsp.unlink(p);
  else await discard(toplevel, p);
}

