/**
 * grok-origin's journal of manifest changes (docs/architecture.md "When a notice counts as written"):
 * `.<manifest>.journal` beside the manifest. grok-origin answers a notice once the record of its
 * batch is fsynced there and the new manifest renamed into place; the manifest's own fsync follows
 * in the background, after which that file is linked as `.<manifest>.durable` and the journal loses
 * the records it holds. So at any moment: the durable file plus every record in the journal, applied
 * in order, is every change acknowledged. Records are "set key to entry / remove key", each with its
 * sequence number, the identity of the manifest file its batch wrote, and a CRC, so a record torn by
 * a crash is recognised and ignored (it was never acknowledged). Replaying a record twice is harmless.
 *
 * Record: `GJ1 <bytes> <crc32 hex>\n<JSON body>\n`.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { describeError, GrokError } from '../errors.js';
import { syncDir, tempNameFor } from '../fs/atomic.js';
import { sameFile, type FileId } from '../fs/atomic-deferred.js';
import { entryProblem, normaliseEntry, type Manifest, type ManifestEntry } from './entry.js';
import { decodeManifest, isGzipName, readManifestFile, writeManifestFile } from './io.js';
import { keyProblem } from './keys.js';

export interface JournalRecord {
  readonly seq: number;
  /** The manifest file this record's batch wrote. */
  readonly file: FileId;
  readonly changes: readonly (readonly [string, ManifestEntry | null])[];
}

export function journalPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.journal`);
}

export function durablePathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.durable`);
}

const MAGIC = 'GJ1 ';

export function encodeRecord(r: JournalRecord): Buffer {
  const body = Buffer.from(`${JSON.stringify({ seq: r.seq, file: r.file, changes: r.changes })}\n`, 'utf8');
  return Buffer.concat([Buffer.from(`${MAGIC}${body.length} ${crc32(body).toString(16)}\n`, 'latin1'), body]);
}

/** The whole records, in order; reading stops at the first that is torn or damaged (`torn`). */
export function decodeJournal(buf: Buffer): { records: JournalRecord[]; torn: boolean } {
  const records: JournalRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    const m = nl < 0 ? null : /^GJ1 (\d{1,9}) ([0-9a-f]{1,8})$/.exec(buf.toString('latin1', at, nl));
    if (!m) return { records, torn: true };
    const body = buf.subarray(nl + 1, nl + 1 + Number(m[1]));
    if (body.length !== Number(m[1]) || crc32(body) !== parseInt(m[2]!, 16)) return { records, torn: true };
    try {
      records.push(checkRecord(JSON.parse(body.toString('utf8')) as JournalRecord));
    } catch {
      return { records, torn: true };
    }
    at = nl + 1 + body.length;
  }
  return { records, torn: false };
}

/** A record's entries pass the checks of any manifest entry (the journal is a file on disk like the manifest). */
function checkRecord(r: JournalRecord): JournalRecord {
  if (!Number.isInteger(r.seq) || typeof r.file?.ino !== 'number' || !Array.isArray(r.changes)) throw new Error('bad record');
  for (const [key, entry] of r.changes) {
    if (keyProblem(key) || (entry !== null && entryProblem(entry))) throw new Error('bad entry');
    if (entry !== null) normaliseEntry(entry as Record<string, unknown>);
  }
  return r;
}

export type Recovered = 'none' | 'synced' | 'replayed' | 'superseded';

/**
 * Brings a manifest whose journal holds records back to every acknowledged change, and empties the
 * journal: every writer of the manifest runs it first, under the manifest lock (a write that read a
 * file missing acknowledged changes would otherwise make them unrecoverable). The base is the manifest file when it reads
 * whole and is one grok-origin wrote (the durable file or one a record names: replaying onto it is
 * harmless); when it reads whole but another writer replaced it after the records (a grok-manifest
 * or grok-fsck that read our file under the lock, so it holds them), replaying would undo that
 * write, and the journal is dropped instead; when it does not read whole (a power loss before its
 * fsync), the base is the durable file.
 */
export async function recoverJournal(file: string, opts: { pretty: boolean; maxBytes: number; warn: (msg: string) => void }): Promise<Recovered> {
  const jpath = journalPathFor(file);
  const buf = await fsp.readFile(jpath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new GrokError('GROK_ERR_MANIFEST_PARSE', `${jpath}: cannot read (${err.message})`, { file: jpath }, { cause: err });
  });
  if (!buf || buf.length === 0) return 'none';
  const { records, torn } = decodeJournal(buf);
  if (torn) opts.warn(`${jpath}: its last record is torn (a write cut short before it was acknowledged): ignored`);
  const durable = durablePathFor(file);
  const [st, dst] = await Promise.all([fsp.stat(file).catch(() => null), fsp.stat(durable).catch(() => null)]);
  const ours = !!st && ((!!dst && st.ino === dst.ino) || records.some((r) => sameFile(r.file, st)));
  const current = await readManifestFile(file, opts.maxBytes).catch((err: unknown) => {
    opts.warn(`${file} does not read whole (${describeError(err)}): recovering it from ${durable} and the journal`);
    return null;
  });
  if (records.length === 0 || (current && !ours)) {
    // Nothing to replay, or a newer file that holds the records: it becomes the durable copy before the journal goes.
    if (current) await rebaseJournal(file);
    else await emptyJournal(file);
    return records.length === 0 ? 'none' : 'superseded';
  }
  // The file of the last record holds every record (the common case: a live server between a write and its sync).
  if (current && sameFile(records.at(-1)!.file, st!)) {
    await rebaseJournal(file);
    return 'synced';
  }
  let base: Manifest | undefined = current?.entries;
  if (!base) {
    // Read as the manifest's own name says (gzip or not): the copy's name does not end in .gz.
    const copy = await fsp.readFile(durable).then((raw) => decodeManifest(raw, durable, { gzip: isGzipName(file), maxBytes: opts.maxBytes }), () => null);
    if (!copy) throw new GrokError('GROK_ERR_MANIFEST_PARSE', `${file} does not read whole and there is no readable ${durable} to recover it from (the journal ${jpath} is left as it is)`, { file });
    base = copy.entries;
  }
  for (const r of records) for (const [key, entry] of r.changes) entry === null ? base.delete(key) : base.set(key, entry);
  await writeManifestFile(file, base, { pretty: opts.pretty });
  await rebaseJournal(file);
  return 'replayed';
}

/**
 * Makes the file now at the manifest's path the durable copy (fsynced, linked as `.durable`) and
 * empties the journal: for a caller holding the manifest lock, when that file holds every change.
 */
export async function rebaseJournal(file: string): Promise<void> {
  const fh = await fsp.open(file, constants.O_RDONLY).catch(() => null);
  if (fh) {
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const durable = durablePathFor(file);
    // rename() between two names of one file does nothing: the durable copy may already be this file.
    if ((await fsp.stat(durable).catch(() => null))?.ino !== (await fsp.stat(file)).ino) {
      const keep = tempNameFor(file);
      await fsp.link(file, keep);
      await makeDurableCopy(keep, file);
    }
  }
  await syncDir(path.dirname(file));
  await emptyJournal(file);
}

/**
 * Renames `keep` (a second name of the file to keep) over the durable copy of manifest `file`. Two
 * processes may do it at once (grok-origin's background sync, a stand-alone writer's recovery), and
 * rename() between two names of one file does nothing and leaves the source name: it goes after.
 */
export async function makeDurableCopy(keep: string, file: string): Promise<void> {
  await fsp.rename(keep, durablePathFor(file));
  await fsp.rm(keep, { force: true });
}

async function emptyJournal(file: string): Promise<void> {
  const fh = await fsp.open(journalPathFor(file), 'r+').catch(() => null);
  if (!fh) return;
  try {
    await fh.truncate(0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
