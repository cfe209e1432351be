/**
 * A throwaway PostgreSQL cluster for tests of the fleet (`--state postgres://...`): Debian's
 * postgresql package (GROK_PG_BIN overrides its bin directory), initdb in a temp directory as a
 * non-root user (PostgreSQL refuses to run as root: nobody, through setpriv, when the tests run as
 * root), pg_ctl on 127.0.0.1 with a free port and a unix socket in the same directory, stopped when
 * the test ends, however it ends. Trust authentication: any password in the URL is accepted, so
 * tests can check it never reaches a log.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NOBODY, SETPRIV } from './other-user.js';

export const PG_BIN = process.env.GROK_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const PG_MISSING = `PostgreSQL binaries not found in ${PG_BIN} (Debian package postgresql; GROK_PG_BIN overrides)`;
const installed = ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(PG_BIN, b)));

/** tap's `skip` option: a message when PostgreSQL is missing (under GROK_REQUIRE_TOOLS=1 never: it fails). */
export const pgSkip: string | false = !installed && process.env.GROK_REQUIRE_TOOLS !== '1' ? PG_MISSING : false;

export interface Cluster {
  readonly port: number;
  /** A connection URL; `password` is sent but not checked (trust). */
  url(opts?: { user?: string; password?: string; db?: string }): string;
  /** psql -At -c `sql` in database `db` (default postgres): its output. */
  psql(sql: string, db?: string): string;
  stop(): void;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startPostgres(t: Teardown): Promise<Cluster> {
  if (!installed) throw new Error(PG_MISSING);
  const asRoot = process.getuid?.() === 0;
  if (asRoot && SETPRIV === undefined) throw new Error('running as root without setpriv: cannot start PostgreSQL as another user');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grok-pg-'));
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  const data = path.join(dir, 'data');
  const run = (bin: string, args: string[]) => {
    const argv = asRoot ? [SETPRIV!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', path.join(PG_BIN, bin), ...args] : [path.join(PG_BIN, bin), ...args];
    return spawnSync(argv[0]!, argv.slice(1), { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' }, timeout: 120_000 });
  };
  const check = (what: string, r: ReturnType<typeof run>) => {
    if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  };
  let started = false;
  const stop = () => {
    if (!started) return;
    started = false;
    run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  const onExit = () => stop();
  process.on('exit', onExit);
  t.teardown(() => {
    stop();
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  });
  check('initdb', run('initdb', ['-D', data, '-U', 'grok', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']));
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50`;
  const log = path.join(dir, 'server.log');
  started = true;
  const r = run('pg_ctl', ['-D', data, '-l', log, '-o', opts, '-w', '-t', '60', 'start']);
  if (r.status !== 0) {
    stop();
    throw new Error(`pg_ctl start failed: ${r.stderr}${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
  }
  return {
    port,
    url: (o = {}) => `postgres://${encodeURIComponent(o.user ?? 'grok')}${o.password !== undefined ? `:${encodeURIComponent(o.password)}` : ''}@127.0.0.1:${port}/${o.db ?? 'postgres'}`,
    psql(sql, db = 'postgres') {
      const out = run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'grok', '-d', db, '-At', '-c', sql]);
      check('psql', out);
      return out.stdout.trim();
    },
    stop,
  };
}
