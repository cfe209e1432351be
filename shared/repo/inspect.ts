/**
 * Everything the manifest says about one repository, read from disk and git: refs (fingerprint and
 * newest commit), HEAD, description, gitweb.owner, what it borrows objects from, whether it is archived
 * and whether it is a partial clone.
 */
import { closeSync, existsSync, openSync, promises as fsp, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { lookupConfigValue, type Git } from '../git/index.js';
import { alternatesFile } from './alternates.js';
import { ARCHIVED_MARKER, OBJSTORE_MARKER } from './bare.js';
import { partialMarkOf } from './promisor.js';
import type { RefState } from './refs.js';

export interface Alternate {
  /** Resolved path of the repository whose objects/ the alternates file names. */
  readonly repo: string;
  /** Set when that repository is a grokmirror objstore: its members, from the marker file. */
  readonly objstoreMembers: readonly string[] | null;
}

export interface RepoMeta {
  readonly head: string | null;
  readonly description: string | null;
  readonly owner: string | null;
  readonly alternate: Alternate | null;
  /** A grokmirror.archived marker is present (one stat, re-read on every inspection). */
  readonly archived: boolean;
  /** A partial clone: its filter, or true when unknown (promisor.ts); absent or null otherwise. */
  readonly partial?: string | true | null;
}

export interface RepoFacts extends RepoMeta {
  readonly path: string;
  readonly refs: RefState;
}

/**
 * Small files (HEAD, description, config, alternates) are read synchronously: a few microseconds
 * each, where the promise API spends four threadpool round trips (open, fstat, read, close) per file,
 * which dominated a walk over thousands of repositories.
 */
function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The start of a file that may be large (a description is anyone's text): what fits in `max` bytes;
 * the manifest cuts it further (MAX_TEXT_BYTES), this only keeps a huge file out of memory.
 */
function readHead(file: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(max);
    let n = 0;
    for (let got = -1; got !== 0 && n < max; n += got) got = readSync(fd, buf, n, max - n, null);
    return buf.toString('utf8', 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Read of a description: MAX_TEXT_BYTES plus room for the whitespace trimmed off around it. */
const DESCRIPTION_READ_BYTES = 80 * 1024;

/** git's default description text says "Unnamed repository; edit this file ..." */
export function descriptionFrom(raw: string | null): string | null {
  if (raw === null) return null;
  const text = raw.trim();
  return text === '' || text.includes('edit this file') ? null : text;
}

/** `config`: the config file's text when the caller has read it already. */
export async function readOwner(git: Git, gitDir: string, text: string | null = readText(path.join(gitDir, 'config'))): Promise<string | null> {
  if (text !== null) {
    const res = lookupConfigValue(text, 'gitweb', 'owner');
    if ('found' in res) return res.found && res.value ? res.value : null;
  }
  const out = await git.run({ gitDir, args: ['config', '--get', 'gitweb.owner'], okExit: [1] });
  const value = out.stdout.toString('utf8').replace(/\n$/, '');
  return out.exitCode === 0 && value !== '' ? value : null;
}

/** The first object directory named in objects/info/alternates, as a repository path. */
export async function readAlternate(gitDir: string): Promise<Alternate | null> {
  const text = readText(alternatesFile(gitDir));
  if (text === null) return null;
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!line) return null;
  const objdir = path.resolve(path.join(gitDir, 'objects'), line);
  if (path.basename(objdir) !== 'objects') return null;
  let repo: string;
  try {
    repo = await fsp.realpath(path.dirname(objdir));
  } catch {
    return null;
  }
  const marker = readText(path.join(repo, OBJSTORE_MARKER));
  const objstoreMembers = marker === null ? null : marker.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).sort();
  return { repo, objstoreMembers };
}

/** Everything but the refs: HEAD, description, gitweb.owner, alternates, the archived marker, the partial mark. */
export async function readRepoMeta(git: Git, gitDir: string): Promise<RepoMeta> {
  const head = readText(path.join(gitDir, 'HEAD'));
  const description = readHead(path.join(gitDir, 'description'), DESCRIPTION_READ_BYTES);
  const config = readText(path.join(gitDir, 'config'));
  const [owner, alternate] = await Promise.all([readOwner(git, gitDir, config), readAlternate(gitDir)]);
  return {
    head: head === null ? null : head.trim(),
    description: descriptionFrom(description),
    owner,
    alternate,
    archived: existsSync(path.join(gitDir, ARCHIVED_MARKER)),
    partial: partialMarkOf(config, gitDir),
  };
}

