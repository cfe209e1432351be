/**
 * What grok-fsck does to objstores, one step at a time, each safe to interrupt (spec/fsck.md "Never
 * lose data"): objects are always copied before anything points at them, alternates are written before
 * a member is slimmed, a member leaving takes its objects back before its alternates go, and an
 * objstore is removed only when nothing borrows from it. A rerun after a crash at any point finds a
 * state it can finish from (the kill -9 test in test/shared/fsck walks through every step).
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../errors.js';
import { readRefFiles, untrusted, type Git } from '../git/index.js';
import { addMember, borrowFrom, fetchMember, readMembers } from '../objstore/objstore.js';
import { virtrefFor } from '../objstore/virtref.js';
import { atomicWrite } from '../fs/atomic.js';
import { OBJSTORE_MARKER } from '../repo/bare.js';
import { readFingerprintFile } from '../repo/fingerprint-file.js';
import { fingerprintOf } from '../repo/refs.js';
import { fsckArgs } from './check.js';
import { repackArgs } from './repack.js';
import { workPath } from '../repo/work-names.js';
import { carryPurge } from './purge-mark.js';

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

/** A member's fingerprint from its ref files (authoritative), else its cached fingerprint file. */
export function currentFingerprint(repo: string): string | null {
  const files = readRefFiles(repo);
  return files.ok ? fingerprintOf(files.refs) : readFingerprintFile(repo);
}

function storeFingerprintFile(store: string, v: string): string {
  return path.join(store, `grokmirror.${v}.fingerprint`);
}

/** Fetches a member into the objstore unless the objstore already has what its refs say. */
export async function refreshMember(git: Git, store: string, member: string): Promise<boolean> {
  const v = virtrefFor(member);
  const fp = currentFingerprint(member);
  const had = await fsp.readFile(storeFingerprintFile(store, v), 'utf8').catch(() => null);
  if (fp !== null && had?.trim() === fp) return false;
  await fetchMember(git, store, member);
  if (fp !== null) await atomicWrite(storeFingerprintFile(store, v), fp, { noSync: true });
  return true;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return; // same object or pack name: same content
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await fsp.copyFile(from, to).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

/**
 * Hardlinks every pack and loose object of `src` into `dst` (never `.bitmap`: one per repository;
 * `.keep` stays behind too). Each pack's `.idx` comes after its `.pack`, so git never sees an index
 * without its pack. Copies when the two are on different filesystems.
 */
export async function linkObjects(src: string, dst: string): Promise<void> {
  const so = path.join(src, 'objects');
  const dobj = path.join(dst, 'objects');
  const packs = (await fsp.readdir(path.join(so, 'pack')).catch(() => [] as string[])).filter((n) => /^pack-[0-9a-f]+\.pack$/.test(n));
  await fsp.mkdir(path.join(dobj, 'pack'), { recursive: true });
  for (const p of packs) {
    const base = p.slice(0, -'.pack'.length);
    if (!existsSync(path.join(so, 'pack', `${base}.idx`))) continue; // still being written
    await linkOrCopy(path.join(so, 'pack', p), path.join(dobj, 'pack', p));
    if (existsSync(path.join(so, 'pack', `${base}.rev`))) await linkOrCopy(path.join(so, 'pack', `${base}.rev`), path.join(dobj, 'pack', `${base}.rev`));
    await linkOrCopy(path.join(so, 'pack', `${base}.idx`), path.join(dobj, 'pack', `${base}.idx`));
  }
  for (const d of await fsp.readdir(so).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    const names = (await fsp.readdir(path.join(so, d)).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{38,62}$/.test(n));
    if (names.length === 0) continue;
    await fsp.mkdir(path.join(dobj, d), { recursive: true });
    for (const n of names) await linkOrCopy(path.join(so, d, n), path.join(dobj, d, n));
  }
}

/** Sets `refs/virtual/<v>/*` in the objstore to the member's refs (the plumbing path). */
async function copyRefsAsVirtual(git: Git, store: string, member: string, v: string): Promise<void> {
  const mine = await git.run({ gitDir: member, args: ['for-each-ref', '--format=%(objectname) %(refname)'] });
  const theirs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', `refs/virtual/${v}/`] });
  const want = new Map<string, string>();
  for (const line of mine.stdout.toString('latin1').split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) want.set(`refs/virtual/${v}/${line.slice(sp + 1 + 'refs/'.length)}`, line.slice(0, sp));
  }
  const cmds = [...want].map(([ref, oid]) => `update ${ref} ${oid}\n`);
  for (const ref of theirs.stdout.toString('latin1').split('\n')) if (ref !== '' && !want.has(ref)) cmds.push(`delete ${ref}\n`);
  if (cmds.length > 0) await git.run({ gitDir: store, args: ['update-ref', '--stdin'], input: Buffer.from(cmds.join(''), 'latin1') });
}

export interface JoinOptions {
  /** Private repositories borrow but are never copied into the objstore. */
  readonly isPrivate: boolean;
  /** `[core] objstore_uses_plumbing`: hardlinks and update-ref instead of git fetch. */
  readonly plumbing: boolean;
}

/**
 * A repository joins an objstore: (1) the objstore gets its objects and refs (public members only),
 * (2) its alternates point at the objstore, (3) it is repacked with `-l` so it keeps only what the
 * objstore lacks, (4) its connectivity is checked. A crash before (2) leaves it as it was; after (2)
 * it holds everything itself and borrows the rest.
 */
export async function joinStore(git: Git, store: string, repo: string, opts: JoinOptions): Promise<void> {
  if (!opts.isPrivate) {
    const v = await addMember(git, store, repo);
    if (opts.plumbing) {
      await linkObjects(repo, store);
      await copyRefsAsVirtual(git, store, repo, v);
      const fp = currentFingerprint(repo);
      if (fp !== null) await atomicWrite(storeFingerprintFile(store, v), fp, { noSync: true });
    } else {
      await refreshMember(git, store, repo);
    }
  }
  await borrowFrom(repo, store);
  await git.run({ gitDir: repo, args: repackArgs('member', 'quick', { pruneSafe: false, precious: 'no', extra: [], extraFull: [] }) });
  await assertConnected(git, repo);
}

export async function assertConnected(git: Git, repo: string): Promise<void> {
  const res = await git.run({ gitDir: repo, args: fsckArgs(true), okExit: [1, 2, 3, 4, 5, 6, 7, 8] });
  if (res.exitCode !== 0) {
    throw new GrokError('GROK_ERR_GIT_FAILED', `${repo}: connectivity check failed after objstore work: ${res.stderr.trim() || res.stdout.toString('utf8').trim()}`, { repo });
  }
}

async function deleteRefsUnder(git: Git, store: string, prefix: string): Promise<void> {
  const refs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', prefix] });
  const cmds = refs.stdout.toString('latin1').split('\n').filter((r) => r !== '').map((r) => `delete ${r}\n`);
  if (cmds.length > 0) await git.run({ gitDir: store, args: ['update-ref', '--stdin'], input: Buffer.from(cmds.join(''), 'latin1') });
}

async function writeMembers(store: string, members: readonly string[]): Promise<void> {
  const text = await fsp.readFile(path.join(store, OBJSTORE_MARKER), 'utf8').catch(() => '');
  const preamble = text.split('\n').filter((l) => l.startsWith('#')).map((l) => `${l}\n`).join('');
  await atomicWrite(path.join(store, OBJSTORE_MARKER), preamble + [...members].sort().map((m) => `${m}\n`).join(''));
}

/**
 * A repository stops borrowing: it first takes back every object it needs (`repack -a` without `-l`
 * copies borrowed objects in), then its alternates go, then its connectivity is checked.
 */
export async function takeBack(git: Git, repo: string): Promise<void> {
  // -k: its object directory may be shared with repositories whose refs it does not see.
  await git.run({ gitDir: repo, args: ['repack', '-q', '-a', '-d', '-k'] });
  await fsp.rm(path.join(repo, 'objects', 'info', 'alternates'), { force: true });
  await assertConnected(git, repo);
}

/**
 * A member leaves: if it still borrows from here it first takes back every object it needs
 * (takeBack), and only then the objstore forgets it (its refs/virtual/<v>/, remote and fingerprint).
 */
export async function leaveStore(git: Git, store: string, v: string, member: string | null, stillBorrows: boolean): Promise<void> {
  if (member && stillBorrows) await takeBack(git, member);
  await deleteRefsUnder(git, store, `refs/virtual/${v}/`);
  await git.run({ gitDir: store, args: ['config', '--remove-section', untrusted(`remote.${v}`)], okExit: [128] });
  await fsp.rm(storeFingerprintFile(store, v), { force: true });
  if (member) {
    const left = (await readMembers(store)).filter((m) => m !== member);
    await writeMembers(store, left);
  }
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

/**
 * Moves everything of objstore `from` into `into`: every object (hardlinked, unreachable ones too,
 * since a private user may need them), every refs/virtual/ ref, every remote; then each user's
 * alternates are pointed at `into`. `from` itself is removed by the caller once nothing uses it.
 */
export async function mergeStore(git: Git, from: string, into: string, users: readonly string[]): Promise<void> {
  // What `from` still has to purge comes along with its objects.
  await carryPurge(from, into);
  await linkObjects(from, into);
  const refs = await git.run({ gitDir: from, args: ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/virtual/'] });
  const cmds = refs.stdout.toString('latin1').split('\n').filter((l) => l !== '').map((l) => `update ${l.slice(l.indexOf(' ') + 1)} ${l.slice(0, l.indexOf(' '))}\n`);
  if (cmds.length > 0) await git.run({ gitDir: into, args: ['update-ref', '--stdin'], input: Buffer.from(cmds.join(''), 'latin1') });
  for (const [v, member] of await storeRemotes(git, from)) {
    await addMember(git, into, member);
    const fp = await fsp.readFile(storeFingerprintFile(from, v), 'utf8').catch(() => null);
    if (fp !== null) await atomicWrite(storeFingerprintFile(into, v), fp, { noSync: true });
  }
  for (const u of users) await borrowFrom(u, into);
}

/**
 * Makes a user of the objstore that is not one of its members (a private repository, or one that
 * could not join yet) independent of anything the objstore is about to prune: every object its refs
 * reach that the objstore's refs do not (`rev-list --not --alternate-refs`) is copied into a pack of
 * its own, borrowed ones included. Afterwards the objstore's refs keep alive all it still borrows, so
 * a private user no longer has to block pruning (grokmirror kept every unreachable object for ever
 * as soon as one private repository borrowed). The caller holds the user's lock until the objstore's
 * prune is over, so no fetch can make it depend on an unreachable object in between.
 */
export async function makeSelfSufficient(git: Git, user: string): Promise<number> {
  // All of the objstore's refs count as "have" here, whatever core.alternateRefsPrefixes narrows
  // negotiation to for this repository.
  const list = await git.run({ gitDir: user, config: { 'core.alternateRefsPrefixes': '' }, args: ['rev-list', '--objects', '--all', '--not', '--alternate-refs'] });
  if (list.stdout.length === 0) return 0;
  const n = list.stdout.toString('latin1').split('\n').filter((l) => l !== '').length;
  await git.run({ gitDir: user, args: ['pack-objects', '-q', path.join(user, 'objects', 'pack', 'pack')], input: list.stdout });
  return n;
}

/**
 * refs/preload/* (what a replica's objstore was seeded with from the origin's bundle, see
 * replica/execute/preload-bundle.ts) are dropped once every member is in the objstore under its own
 * refs and nothing else borrows: from then on the members' refs keep alive all that anyone needs.
 */
export async function dropPreloadRefs(git: Git, store: string, remotes: ReadonlyMap<string, string>): Promise<boolean> {
  for (const v of remotes.keys()) if (!existsSync(storeFingerprintFile(store, v))) return false;
  const refs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', 'refs/preload/'] });
  if (refs.stdout.length === 0) return false;
  await deleteRefsUnder(git, store, 'refs/preload/');
  return true;
}

/** Removes an objstore nothing borrows from: renamed aside first, so a crash never leaves half of one. */
export async function removeStore(store: string): Promise<void> {
  const aside = workPath(store, 'del');
  await fsp.rename(store, aside);
  await fsp.rm(aside, { recursive: true, force: true });
}

/** Leftovers of interrupted creations and removals in the objstore directory. */
export async function cleanObjstoreDir(dir: string): Promise<string[]> {
  const gone: string[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (/^\..+\.git\.grok-(new|del)-[0-9a-f]+$/.test(n)) {
      await fsp.rm(path.join(dir, n), { recursive: true, force: true });
      gone.push(n);
    }
  }
  return gone;
}
