/**
 * A repository joins an objstore: (1) the objstore gets its objects and refs (public members only),
 * (2) its alternates point at the objstore, (3) it is repacked with `-l` so it keeps only what the
 * objstore lacks, loose copies included, (4) its connectivity is checked. A crash before (2) leaves it
 * as it was; after (2) it holds everything itself and borrows the rest. The caller holds the
 * repository's lock and then the objstore's (locks.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../errors.js';
import type { Git } from '../git/index.js';
import { fsckArgs } from '../fsck/check.js';
import { writeAlternates } from '../repo/alternates.js';
import { repackArgs } from '../fsck/repack.js';
import { currentFingerprint, writeStoreFingerprint } from './fingerprint.js';
import { linkObjects } from './link-objects.js';
import { addMember } from './members.js';
import { dropLooseCopies, refreshMember } from './refresh.js';

export interface JoinOptions {
  /** Private repositories borrow but are never copied into the objstore. */
  readonly isPrivate: boolean;
  /** `[core] objstore_uses_plumbing`: hardlinks and update-ref instead of git fetch. */
  readonly plumbing: boolean;
}

/** Points a repository's alternates at the objstore (only once the objstore holds its objects). */
export async function borrowFrom(repo: string, objstore: string): Promise<void> {
  await fsp.mkdir(path.join(repo, 'objects', 'info'), { recursive: true });
  await writeAlternates(repo, `${path.join(objstore, 'objects')}\n`);
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

/** The objstore gets a public member's objects and refs (step 1 of a join, and of an adoption). */
export async function copyMemberIn(git: Git, store: string, repo: string, plumbing: boolean): Promise<void> {
  const v = await addMember(git, store, repo);
  if (plumbing) {
    const fp = await currentFingerprint(git, repo);
    await linkObjects(repo, store);
    await copyRefsAsVirtual(git, store, repo, v);
    if (fp !== null) await writeStoreFingerprint(store, v, fp);
  } else {
    await refreshMember(git, store, repo);
  }
}

/** Repacks a member so that it keeps only what its objstore lacks. */
export async function slimMember(git: Git, repo: string): Promise<void> {
  await git.run({ gitDir: repo, args: repackArgs('member', 'quick', { pruneSafe: false, precious: 'no', extra: [], extraFull: [] }) });
  await dropLooseCopies(git, repo);
}

export async function joinStore(git: Git, store: string, repo: string, opts: JoinOptions): Promise<void> {
  if (!opts.isPrivate) await copyMemberIn(git, store, repo, opts.plumbing);
  await borrowFrom(repo, store);
  await slimMember(git, repo);
  await assertConnected(git, repo);
}

export async function assertConnected(git: Git, repo: string): Promise<void> {
  const res = await git.run({ gitDir: repo, args: fsckArgs(true), okExit: [1, 2, 3, 4, 5, 6, 7, 8] });
  if (res.exitCode !== 0) {
    throw new GrokError('GROK_ERR_GIT_FAILED', `${repo}: connectivity check failed after objstore work: ${res.stderr.trim() || res.stdout.toString('utf8').trim()}`, { repo });
  }
}
