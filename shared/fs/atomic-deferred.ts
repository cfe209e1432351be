/**
 * atomicWrite without the fsyncs on the caller's path (grok-origin's manifest writes, whose changes
 * are made durable by a journal first): the temp file is written and renamed over the target, so a
 * reader sees the old file or the new one, never a partial one, and the kernel holds the new file's
 * data; making it durable (fsync of the file, then of the directory) is the caller's to run later,
 * with `sync`. Until then a power loss may leave the target as the old file or damaged: the caller
 * must hold another durable copy of what it wrote (the journal, and `keep`, a second name of the new
 * file that it turns into its durable copy once synced).
 */
import { promises as fsp } from 'node:fs';
import { GrokError } from '../errors.js';
import { linkAside, tempNameFor, writeAll, writeError, type Release } from './atomic.js';

/** A file as `stat` identifies it: the same inode, size and mtime. */
export interface FileId {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export function sameFile(a: FileId, b: FileId): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The steps of a deferred replacement, in order (tests hold one to see what a kill there leaves). */
export type DeferredStep = 'write' | 'link-new' | 'link-old' | 'rename';

export interface DeferredOptions {
  /** Seconds; the file gets this mtime before it becomes visible. */
  readonly mtime: number;
  readonly mode?: number;
  /**
   * Run while the data is being written, with the new file's identity (known once it is created):
   * the write goes on to the rename only once both are done.
   */
  readonly alongside: (id: FileId) => Promise<void>;
  readonly beforeStep?: (step: DeferredStep) => Promise<void>;
}

export interface DeferredWrite {
  readonly id: FileId;
  /** A second name of the new file (`.<name>.<hex>.tmp`, removed by a restart as a killed write's). */
  readonly keep: string;
  /** Frees the replaced file (kept under a temp name until now, as deferRemoval does). */
  readonly release: Release;
  /** fsync of the new file's data; closes it. The directory's fsync is the caller's. */
  sync(): Promise<void>;
  /** Closes the file unsynced and drops `keep` (a later write made this one's sync needless). */
  drop(): Promise<void>;
}

export async function atomicWriteDeferred(target: string, data: readonly Uint8Array[], opts: DeferredOptions): Promise<DeferredWrite> {
  const tmp = tempNameFor(target);
  const keep = tempNameFor(target);
  let old: string | null = null;
  const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o666).catch((err: unknown) => {
    throw writeError(target, err);
  });
  let closed = false;
  const close = async () => {
    if (!closed) (closed = true), await fh.close();
  };
  try {
    const size = data.reduce((n, b) => n + b.length, 0);
    const { ino } = await fh.stat();
    const id: FileId = { ino, size, mtimeMs: opts.mtime * 1000 };
    await opts.beforeStep?.('write');
    await Promise.all([writeAll(fh, data).then(() => fh.utimes(opts.mtime, opts.mtime)), opts.alongside(id)]);
    await opts.beforeStep?.('link-new');
    await fsp.link(tmp, keep);
    await opts.beforeStep?.('link-old');
    old = await linkAside(target);
    await opts.beforeStep?.('rename');
    await fsp.rename(tmp, target);
    const kept = old;
    return {
      id,
      keep,
      release: kept ? () => fsp.rm(kept, { force: true }) : () => Promise.resolve(),
      sync: async () => {
        try {
          await fh.sync();
        } finally {
          await close();
        }
      },
      drop: async () => {
        await close();
        await fsp.rm(keep, { force: true });
      },
    };
  } catch (err) {
    await close().catch(() => {});
    for (const f of [tmp, keep, old]) if (f) await fsp.rm(f, { force: true }).catch(() => {});
    throw err instanceof GrokError ? err : writeError(target, err);
  }
}
