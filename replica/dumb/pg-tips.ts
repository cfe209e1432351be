/**
 * The tip index in PostgreSQL (tip-index.ts's `TipIndex`), for a fleet's `--state postgres://...`:
 * a table of the state database (pg-state.ts makes it), on the worker's own connection. Rows are
 * scoped by the toplevel's id: a path is a path on one machine's disk, so a worker must never borrow
 * from, nor forget, what another toplevel holds (its mirrors look gone from here, and collection.ts
 * forgets what it finds gone). The id lives in the toplevel (`.grok-dumb-id`), so it moves with the
 * disk, and a toplevel shared by several machines at one mount point is one scope.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import type { PgConnection } from './pg-state.js';
import { tipPrefix, type TipIndex } from './tip-index.js';

export const ID_FILE = '.grok-dumb-id';
const ID_RE = /^[0-9a-f]{32}$/;

/**
 * The toplevel's id, made once: written whole to a temporary file and linked into place, so two
 * workers starting at once on shared storage agree on the first link, and none reads a half-written id.
 */
export async function toplevelId(toplevel: string): Promise<string> {
  const file = path.join(toplevel, ID_FILE);
  const read = async () => {
    const id = (await fsp.readFile(file, 'utf8')).trim();
    if (!ID_RE.test(id)) throw new GrokError('GROK_ERR_TOPLEVEL', `${file} does not hold a toplevel id (32 hex digits); remove it to make a new one`, { file });
    return id;
  };
  try {
    const id = await read();
    await removeKilledIdWrites(toplevel, Date.now());
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof GrokError) throw err;
      throw new GrokError('GROK_ERR_TOPLEVEL', `cannot read ${file}: ${(err as Error).message}`, { file });
    }
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, `${randomBytes(16).toString('hex')}\n`, { mode: 0o644, flag: 'wx' });
    await fsp.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    throw new GrokError('GROK_ERR_TOPLEVEL', `cannot make ${file}: ${(err as Error).message}`, { file });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return read();
}

/** A worker's temp file of the id lives for the microseconds between its write and its link. */
const KILLED_ID_WRITE_MS = 60_000;
const ID_TEMP_RE = /^\.grok-dumb-id\.[0-9]+\.[0-9a-f]{8}\.tmp$/;

/**
 * The temp files of id writers killed before they removed theirs. Another worker may be writing one
 * now (on shared storage, from another machine: no lock covers it), so only those a minute old go.
 */
async function removeKilledIdWrites(toplevel: string, now: number): Promise<void> {
  for (const n of await fsp.readdir(toplevel).catch(() => [] as string[])) {
    if (!ID_TEMP_RE.test(n)) continue;
    const p = path.join(toplevel, n);
    const st = await fsp.stat(p).catch(() => null);
    if (st && now - st.mtimeMs >= KILLED_ID_WRITE_MS) await fsp.rm(p, { force: true });
  }
}

/** The tip index of toplevel `scope` (toplevelId) on connection `conn`; closing it leaves the connection to its state. */
export function pgTipIndex(conn: PgConnection, scope: string): TipIndex {
  return {
    async lookup(tips) {
      const all = [...new Set(tips.map(tipPrefix))];
      if (all.length === 0) return null;
      // Most tips first; the path (byte order) breaks ties, so every worker picks the same mirror.
      const res = await conn.tx((q) =>
        q('SELECT path, count(*) AS n FROM dumb_tips WHERE scope = $1 AND tip = ANY($2::text[]) GROUP BY path ORDER BY n DESC, path LIMIT 1', [scope, all]),
      );
      return (res.rows[0]?.path as string | undefined) ?? null;
    },
    async record(p, tips) {
      // Sorted: two workers writing one path (a lease taken over) lock its rows in one order.
      const all = [...new Set(tips.map(tipPrefix))].sort();
      await conn.tx(async (q) => {
        await q('DELETE FROM dumb_tips WHERE scope = $1 AND path = $2', [scope, p]);
        await q('INSERT INTO dumb_tips (scope, tip, path) SELECT $1, t, $3 FROM UNNEST($2::text[]) AS t ON CONFLICT DO NOTHING', [scope, all, p]);
      });
    },
    async forget(p) {
      await conn.tx((q) => q('DELETE FROM dumb_tips WHERE scope = $1 AND path = $2', [scope, p]));
    },
    close: () => undefined,
  };
}
