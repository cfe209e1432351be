/**
 * The one way we replace a file that others read (manifests, fingerprints, status files, alternates):
 * a temp file in the same directory, written, fsynced, renamed over the target, then the directory
 * fsynced. A reader sees the old file or the new one, never a partial one. The temp file is created
 * with mode 0666 and the kernel applies the umask (grokmirror XORs with the umask, which is wrong for
 * umasks with bits outside 0666).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../errors.js';

export interface AtomicWriteOptions {
  /** Set the file's mtime (seconds) before it becomes visible. */
  readonly mtime?: number;
  /** Skip fsync (only for scratch files nobody depends on). */
  readonly noSync?: boolean;
  /** File mode before the umask (default 0666); 0600 for files holding secrets. */
  readonly mode?: number;
  /**
   * Keep the file being replaced under a temp name (a second hard link) until the returned release
   * is called: the rename then only drops a name, and freeing the old file's blocks and pages (tens
   * of ms for a 43 MB manifest) happens after the caller has answered. A kill before the release
   * leaves that link as an ordinary killed write's temp file (`.<name>.<hex>.tmp`).
   */
  readonly deferRemoval?: boolean;
  /** Called before each step (tests hold a write at one to see what a kill there leaves). */
  readonly beforeStep?: (step: AtomicStep) => Promise<void>;
}

/** The steps of a replacement, in order. */
export type AtomicStep = 'write' | 'sync' | 'link-old' | 'rename' | 'sync-dir';

/** Removes what a write with `deferRemoval` kept of the replaced file. */
export type Release = () => Promise<void>;
const released: Release = () => Promise.resolve();

export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_SUFFIX_RE = /^[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temp files atomicWrite left for `target` when its process was killed between creating
 * one and renaming it (`.<name>.<12 hex>.tmp`, matched exactly). Nothing else would ever remove them.
 * Only for a caller holding the lock every writer of `target` takes: without it, one of them may be
 * another writer's file in the making. Returns the names removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const prefix = `.${path.basename(target)}.`;
  return removeTemps(path.dirname(target), (n) => n.startsWith(prefix) && TEMP_SUFFIX_RE.test(n.slice(prefix.length)));
}

/**
 * removeStaleTemps for every file in `dir`, or only for the files named in `only`: for a caller
 * holding the lock that all writers of those files take.
 */
export async function removeStaleTempsIn(dir: string, only?: readonly string[]): Promise<string[]> {
  const names = only ? new Set(only) : null;
  return removeTemps(dir, (n) => {
    const m = /^\.(.+)\.[0-9a-f]{12}\.tmp$/.exec(n);
    return m !== null && (names === null || names.has(m[1]!));
  });
}

async function removeTemps(dir: string, ours: (name: string) => boolean): Promise<string[]> {
  const gone: string[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!ours(n)) continue;
    await fsp.rm(path.join(dir, n), { force: true });
    gone.push(n);
  }
  return gone;
}

/** `data` as a list of buffers: written one after the other (writev), never joined in memory. */
export async function atomicWrite(target: string, data: string | Uint8Array | readonly Uint8Array[], opts: AtomicWriteOptions = {}): Promise<Release> {
  const tmp = tempNameFor(target);
  return publish(tmp, target, async () => {
    const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o666);
    try {
      await opts.beforeStep?.('write');
      if (Array.isArray(data)) await writeAll(fh, data);
      else await fh.writeFile(data as string | Uint8Array);
      await opts.beforeStep?.('sync');
      if (!opts.noSync) await fh.sync();
    } finally {
      await fh.close();
    }
  }, opts);
}

/** writev in batches (IOV_MAX is 1024), each batch until every byte is written. */
export async function writeAll(fh: fsp.FileHandle, bufs: readonly Uint8Array[]): Promise<void> {
  for (let i = 0; i < bufs.length; i += 1024) {
    let batch = bufs.slice(i, i + 1024);
    while (batch.length > 0) {
      const { bytesWritten } = await fh.writev(batch as Uint8Array[]);
      let left = bytesWritten;
      while (batch.length > 0 && left >= batch[0]!.length) left -= batch.shift()!.length;
      if (left > 0) batch[0] = batch[0]!.subarray(left);
    }
  }
}

/**
 * atomicWrite for the small files a pass writes into every repository it touches (fingerprint,
 * timestamps, HEAD, description), without fsync (each is a cache or is rewritten by the next pass):
 * synchronous, because for a few dozen bytes the promise API's trips through the threadpool cost
 * more than the write itself (measured on the 50-of-1000 incremental pass).
 */
export function atomicWriteSmallSync(target: string, data: string): void {
  const tmp = tempNameFor(target);
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode: 0o666 });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw writeError(target, err);
  }
}

/**
 * atomicWrite for files too large to hold in memory (a preload bundle of a whole fork network):
 * `fill` writes the temp path given to it, typically by telling a git process to write there; the
 * file is then fsynced and renamed over the target. Until that rename the old target is untouched;
 * if anything fails the temp file is removed and `fill`'s own error (a GitError with its stderr)
 * is passed on as it is.
 */
export async function atomicReplace(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempNameFor(target);
  try {
    await fill(tmp);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await publish(tmp, target, async () => {
    const fh = await fsp.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }, {});
}

/** Runs `prepare` on the temp file, renames it over the target; on any failure the temp file goes. */
async function publish(tmp: string, target: string, prepare: () => Promise<void>, opts: AtomicWriteOptions): Promise<Release> {
  let old: string | null = null;
  try {
    await prepare();
    if (opts.mtime !== undefined) await fsp.utimes(tmp, opts.mtime, opts.mtime);
    if (opts.deferRemoval) {
      await opts.beforeStep?.('link-old');
      old = await linkAside(target);
    }
    await opts.beforeStep?.('rename');
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    if (old) await fsp.rm(old, { force: true }).catch(() => {});
    throw writeError(target, err);
  }
  await opts.beforeStep?.('sync-dir');
  if (!opts.noSync) await syncDir(path.dirname(target));
  const kept = old;
  return kept ? () => fsp.rm(kept, { force: true }) : released;
}

/**
 * A second name (a killed-write temp name) for the file about to be replaced, so that the rename does
 * not free its blocks while callers wait; null when there is no such file yet.
 */
export async function linkAside(target: string): Promise<string | null> {
  const aside = tempNameFor(target);
  try {
    await fsp.link(target, aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function writeError(target: string, err: unknown): GrokError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new GrokError('GROK_ERR_WRITE', `cannot write ${target}: ${code} (${(err as Error).message})`, { path: target, errno: code }, { cause: err });
}

export async function syncDir(dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself has happened.
  } finally {
    await dh?.close().catch(() => {});
  }
}
