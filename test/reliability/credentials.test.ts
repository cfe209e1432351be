/**
 * Issue 16 item 7 and issue 23 item 6: credentials in URLs. An origin behind an HTTP server that wants
 * Basic auth; replicas that carry the credentials in `[remote] site` and `[remote] manifest`
 * (user:password and the `https://TOKEN@host/` form), and a grok-dumb-pull URL list that does too.
 * Real failing fetches (a repository listed but gone from the origin's disk, a wrong password), then
 * every output is searched for the secrets: stderr, the log file, grok-pull's last-fetch state file,
 * grok-dumb-pull's state file (both 0600), the status page and /status.json (no authentication), and
 * the daemon's log. The credentials must still work: the manifest is fetched with Basic auth from
 * the URL (grokmirror's requests does the same), git clones with them, the feed connects.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { runDaemon } from '../../replica/daemon.js';
import type { StatusSnapshot } from '../../replica/status/tracker.js';
import { loadConfig } from '../../shared/config/config.js';
import { Git } from '../../shared/git/index.js';
import { createCliLogger } from '../../shared/log.js';
import { Writable } from 'node:stream';
import { CaseTable } from '../helpers/case-table.js';
import { readDumbState } from '../helpers/dumb-state.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { runBounded } from '../helpers/killable.js';
import { runM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const PASSWORD = 'S3cret-pw-7f1d';
const TOKEN = 'ghp-Tok3n-0c2a';
const WRONG = 'wr0ng-pw-99e4';
const ACCEPTED = new Set([`mirror:${PASSWORD}`, `${TOKEN}:`]);
/** Every form a secret could leak in: as typed, percent-encoded, and inside a Basic header. */
const SECRETS = [PASSWORD, TOKEN, WRONG, ...[...ACCEPTED, `mirror:${WRONG}`].map((c) => Buffer.from(c).toString('base64'))];

const table = new CaseTable('credentials', 'Credentials in URLs never reach an output');

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

/** An HTTP front for the origin that wants Basic auth on every request, as a private origin would. */
async function authFront(t: Parameters<typeof tmpDir>[0], originUrl: string): Promise<{ url: string; authorized: () => number }> {
  const target = new URL(originUrl);
  let authorized = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const creds = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    if (!ACCEPTED.has(creds)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="origin"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    authorized++;
    const { authorization: _a, ...headers } = req.headers;
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, authorized: () => authorized };
}

const withCreds = (url: string, userinfo: string) => url.replace('http://', `http://${userinfo}@`);
const mode = (file: string) => (existsSync(file) ? (statSync(file).mode & 0o777).toString(8) : 'missing');
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

t.test('credentials in [remote] site and manifest, and in a URL list: honoured, never shown', async (t) => {
  const dir = tmpDir(t, 'grok-creds-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  makeRepo(path.join(top, 'gone.git'), { commits: 1 });
  await runM(top, path.join(top, 'manifest.js.gz'));
  // Listed in the manifest, gone from the disk: every clone of it fails, through git, for real.
  rmSync(path.join(top, 'gone.git'), { recursive: true, force: true });
  const origin = await startTestOrigin(t, top);
  const front = await authFront(t, origin.url);

  for (const [form, userinfo] of [['user:password', `mirror:${PASSWORD}`], ['TOKEN@ (token as the user name)', TOKEN]] as const) {
    const sub = path.join(dir, form.startsWith('user') ? 'pw' : 'token');
    const mirror = path.join(sub, 'mirror');
    const logFile = path.join(sub, 'pull.log');
    const conf = path.join(sub, 'replica.conf');
    rmSync(sub, { recursive: true, force: true });
    const site = withCreds(front.url, userinfo);
    const text = (manifestUrl: string) =>
      `[core]\ntoplevel = ${mirror}\nlog = ${logFile}\nloglevel = debug\n[remote]\nsite = ${site}\nmanifest = ${manifestUrl}\n[pull]\nretries = 1\n`;
    mkdirSync(sub, { recursive: true });
    writeFileSync(conf, text(`${site}/manifest.js.gz`));

    const before = front.authorized();
    const r = await runBounded(BIN.pull, ['-c', conf, '-v'], 120_000);
    const stateFile = path.join(mirror, '.manifest.js.gz.remote');
    const cloned = fsckOk(path.join(mirror, 'a.git')).ok;
    const outputs = `${r.stderr}\n${read(logFile)}`;
    const found = leaks(outputs);
    const ok = r.code === 1 && cloned && front.authorized() > before && /gone\.git/.test(r.stderr) && found.length === 0;
    t.ok(table.add(`grok-pull, ${form}: a clone that fails for real`, 'manifest fetched with the credentials, a.git cloned, gone.git failing; no secret in stderr or the log file', `exit ${r.code}; a.git ${cloned ? 'cloned' : 'NOT cloned'}; secrets found: ${found.length ? found.join(', ') : 'none'}; ${r.stderr.split('\n').find((l) => l.includes('gone.git')) ?? r.stderr.trim().split('\n').pop()}`, ok), `${form}: grok-pull`);

    // The origin drops the gone repository; the next pass succeeds and records the fetch.
    await runM(top, path.join(top, 'manifest.js.gz'), { purge: true });
    const again = await runBounded(BIN.pull, ['-c', conf], 120_000);
    const state = read(stateFile);
    const stateLeaks = leaks(state);
    const source = state ? (JSON.parse(state) as { source: string }).source : 'no state file';
    t.ok(table.add(`grok-pull, ${form}: the last-fetch state file`, 'written 0600, its source redacted', `exit ${again.code}; mode ${mode(stateFile)}; ${source}; secrets: ${stateLeaks.join(', ') || 'none'}`, again.code === 0 && mode(stateFile) === '600' && stateLeaks.length === 0), `${form}: state file`);

    // A wrong password: the manifest cannot be fetched, and the fatal line on stderr quotes the URL.
    writeFileSync(conf, text(withCreds(front.url, `mirror:${WRONG}`) + '/manifest.js.gz'));
    const denied = await runBounded(BIN.pull, ['-c', conf, '-n'], 120_000);
    const deniedLeaks = leaks(`${denied.stderr}\n${read(logFile)}`);
    t.ok(table.add(`grok-pull, ${form}: a wrong password in the manifest URL`, 'the error names the URL, redacted', `exit ${denied.code}: ${denied.stderr.trim().split('\n').pop()}; secrets: ${deniedLeaks.join(', ') || 'none'}`, denied.code === 1 && /server answered 401/.test(denied.stderr) && /http:\/\/\*\*\*@127\.0\.0\.1/.test(denied.stderr) && deniedLeaks.length === 0), `${form}: wrong password`);
    await runM(top, path.join(top, 'manifest.js.gz'));
    makeRepo(path.join(top, 'gone.git'), { commits: 1 });
    await runM(top, path.join(top, 'manifest.js.gz'));
    rmSync(path.join(top, 'gone.git'), { recursive: true, force: true });
  }
});

t.test('grok-pull -o: the status page, /status.json and the daemon log show git\'s message, never the credentials', async (t) => {
  const dir = tmpDir(t, 'grok-creds-status-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  makeRepo(path.join(top, 'gone.git'), { commits: 1 });
  await runM(top, path.join(top, 'manifest.js.gz'));
  rmSync(path.join(top, 'gone.git'), { recursive: true, force: true });
  const origin = await startTestOrigin(t, top);
  const front = await authFront(t, origin.url);
  const site = withCreds(front.url, `mirror:${PASSWORD}`);
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${path.join(dir, 'mirror')}\n[remote]\nsite = ${site}\nmanifest = ${site}/manifest.js.gz\n[pull]\nretries = 1\nrefresh = 3600\nstatus_listen = 127.0.0.1:0\n`);
  // The daemon's own logger, as grok-pull -o makes it: human lines on "stderr", JSON lines in a log file.
  const lines: string[] = [];
  const stderr = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString('utf8')), cb()) });
  const logFile = path.join(dir, 'daemon.log');
  const log = createCliLogger({ name: 'grok-pull', verbose: true, stderr, logfile: logFile, fileLevel: 'debug', followRotation: false });
  const abort = new AbortController();
  let url = '';
  const done = runDaemon(loadConfig(conf), { purge: false, forcePurge: false }, { git: new Git(), log, now: Date.now, onStatusListening: (u) => (url = u) }, abort.signal);
  t.teardown(() => (abort.abort(), done));
  await waitFor('the status server', () => url !== '');
  const get = async (p: string) => (await fetch(new URL(p, url))).text();
  const seen = await waitFor('gone.git failing and the feed connected', async () => {
    const s = JSON.parse(await get('/status.json')) as StatusSnapshot;
    return s.failing.some((f) => f.key === '/gone.git') && s.feed === 'connected';
  }, 60_000).then(() => true, () => false);
  t.ok(seen, 'gone.git failing (the manifest was read with the credentials), the feed connected (it sent them too)');
  const json = await get('/status.json');
  const page = await get('/');
  const s = JSON.parse(json) as StatusSnapshot;
  const err = s.failing.find((f) => f.key === '/gone.git')?.error ?? '';
  const found = leaks(`${json}\n${page}\n${lines.join('')}\n${read(logFile)}`);
  t.ok(table.add('status page, /status.json, daemon log', "the failing repository's error starts with git's message; the URL in it redacted; no secret anywhere", `error: ${err.slice(0, 140)}; secrets: ${found.join(', ') || 'none'}`, /^fatal: /.test(err) && err.includes('***@') && found.length === 0), 'status');
  t.match(err, /^fatal: [^(]+\(git .*clone .*http:\/\/\*\*\*@127\.0\.0\.1:\d+\/gone\.git/, "git's words first, then the command, redacted");
  t.equal(s.feed, 'connected', 'the change feed sent the credentials too');
});

t.test('grok-dumb-pull: credentials in listed URLs reach neither stderr, the log nor the state file (0600)', async (t) => {
  const dir = tmpDir(t, 'grok-creds-dumb-');
  const top = path.join(dir, 'up');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  await runM(top, path.join(top, 'manifest.js.gz'));
  const origin = await startTestOrigin(t, top);
  const front = await authFront(t, origin.url);
  const list = path.join(dir, 'urls.list');
  const state = path.join(dir, 'urls.state.json');
  const logFile = path.join(dir, 'dumb.log');
  mkdirSync(path.join(dir, 'mirrors'));
  writeFileSync(list, [`${withCreds(front.url, TOKEN)}/a.git`, `${withCreds(front.url, `mirror:${PASSWORD}`)}/missing.git`, `${withCreds(front.url, `mirror:${WRONG}`)}/a.git`, `${withCreds(front.url, `u:${WRONG}`)}/x/../y.git`].join('\n'));
  const r = await runBounded(BIN.dumbPull, ['--list', list, '--toplevel', path.join(dir, 'mirrors'), '--state', state, '-l', logFile, '-v', '--retries', '1'], 120_000);
  // The database's bytes, its WAL's too, searched as text: a secret stored anywhere in them shows.
  const text = [state, `${state}-wal`].map((f) => (existsSync(f) ? readFileSync(f, 'latin1') : '')).join('\n');
  const found = leaks(`${r.stderr}\n${read(logFile)}\n${text}`);
  const repos = existsSync(state) ? Object.entries(readDumbState(state).repos).map(([u, e]) => `${u} ${e.state}`) : [];
  const ok = found.length === 0 && mode(state) === '600' && repos.some((x) => /\*\*\*@.*\/a\.git fetched/.test(x)) && repos.some((x) => /missing\.git (not_found|auth_required|failed)/.test(x));
  t.ok(table.add('grok-dumb-pull list mode: a token URL, a missing repository, a duplicate with a wrong password, a refused URL', 'a.git mirrored; no secret in stderr, the log or the state database; state database 0600', `exit ${r.code}; mode ${mode(state)}; ${repos.join('; ')}; secrets: ${found.join(', ') || 'none'}`, ok), `dumb-pull: exit ${r.code}; mode ${mode(state)}; ${repos.join('; ')}; secrets: ${found.join(', ') || 'none'}`);
});

t.teardown(() => {
  table.write(`Secrets searched for: the password, the token, a wrong password, and the base64 of each Basic credential.`);
});
