/**
 * What an objstore knows of its members: the marker file (`grokmirror.objstore`, grokmirror's list of
 * members under a warning preamble) and one remote per public member, named by its virtref and
 * fetching into `refs/virtual/<virtref>/`. Writers of either hold the objstore's lock (locks.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { atomicWrite, removeStaleTemps } from '../fs/atomic.js';
import type { Git } from '../git/index.js';
import { OBJSTORE_MARKER } from '../repo/bare.js';
import { virtrefFor } from './virtref.js';

export const PREAMBLE =
  '# WARNING: This is a grokmirror object storage repository.\n' +
  '# Deleting or moving it will cause corruption in the following repositories\n' +
  '# (caution, this list may be incomplete):\n';

export function objstorePath(objstoreDir: string, name: string): string {
  return path.join(objstoreDir, `${name}.git`);
}

export async function setConfig(git: Git, dir: string, pairs: [string, string][]): Promise<void> {
  for (const [k, v] of pairs) await git.run({ gitDir: dir, args: ['config', k, v] });
}

export async function readMembers(dir: string): Promise<string[]> {
  const text = await fsp.readFile(path.join(dir, OBJSTORE_MARKER), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** Rewrites the member list, keeping whatever preamble the file has (grokmirror's or ours). */
export async function writeMembers(store: string, members: readonly string[]): Promise<void> {
  const text = await fsp.readFile(path.join(store, OBJSTORE_MARKER), 'utf8').catch(() => PREAMBLE);
  const preamble = text.split('\n').filter((l) => l.startsWith('#')).map((l) => `${l}\n`).join('');
  await atomicWrite(path.join(store, OBJSTORE_MARKER), preamble + [...new Set(members)].sort().map((m) => `${m}\n`).join(''));
}

/** The objstore's registered members: virtref -> member path (from `remote.<virtref>.url`). */
export async function storeRemotes(git: Git, store: string): Promise<Map<string, string>> {
  const out = await git.run({ gitDir: store, args: ['config', '--get-regexp', '^remote\\..*\\.url$'], okExit: [1] });
  const m = new Map<string, string>();
  for (const line of out.stdout.toString('utf8').split('\n')) {
    const hit = /^remote\.([0-9a-f]{12})\.url (.+)$/.exec(line);
    if (hit) m.set(hit[1]!, hit[2]!);
  }
  return m;
}

export async function isMember(git: Git, store: string, member: string): Promise<boolean> {
  const has = await git.run({ gitDir: store, args: ['config', '--get', `remote.${virtrefFor(member)}.url`], okExit: [1] });
  return has.exitCode === 0;
}

/**
 * Registers a public member: a remote named by its virtref, fetching into refs/virtual/<virtref>/.
 * The caller holds the objstore's lock, which every writer of its member list takes: so a temp file
 * of that list found here was left by a writer that was killed, and goes.
 */
export async function addMember(git: Git, dir: string, member: string): Promise<string> {
  await removeStaleTemps(path.join(dir, OBJSTORE_MARKER));
  const v = virtrefFor(member);
  if (!(await isMember(git, dir, member))) {
    await setConfig(git, dir, [
      [`remote.${v}.url`, member],
      [`remote.${v}.fetch`, `+refs/*:refs/virtual/${v}/*`],
      [`remote.${v}.tagopt`, '--no-tags'],
    ]);
  }
  const members = await readMembers(dir);
  if (!members.includes(member)) await writeMembers(dir, [...members, member]);
  return v;
}

export async function deleteRefsUnder(git: Git, store: string, prefix: string): Promise<void> {
  const refs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', prefix] });
  const cmds = refs.stdout.toString('latin1').split('\n').filter((r) => r !== '').map((r) => `delete ${r}\n`);
  if (cmds.length > 0) await git.run({ gitDir: store, args: ['update-ref', '--stdin'], input: Buffer.from(cmds.join(''), 'latin1') });
}

/** Members listed in the marker whose remote is gone (grokmirror writes both; keep them agreeing). */
export async function syncMarker(store: string, remotes: ReadonlyMap<string, string>): Promise<void> {
  const listed = await readMembers(store);
  const want = [...new Set(remotes.values())].sort();
  if (listed.join('\n') !== want.join('\n')) await writeMembers(store, want);
}

/** refs/virtual/<x>/ with no remote <x>: left by a member that went away mid-way, or by hand. */
export async function trimStaleVirtrefs(git: Git, store: string, remotes: ReadonlyMap<string, string>): Promise<string[]> {
  const refs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', 'refs/virtual/'] });
  const stale = new Set<string>();
  for (const r of refs.stdout.toString('latin1').split('\n')) {
    const hit = /^refs\/virtual\/([^/]+)\//.exec(r);
    if (hit && !remotes.has(hit[1]!)) stale.add(hit[1]!);
  }
  for (const v of stale) await deleteRefsUnder(git, store, `refs/virtual/${v}/`);
  return [...stale];
}
