/**
 * grok-dumb-pull end to end through the real command (classic and list mode, detection, retries, kills,
 * hooks): in test:slow, as its 80 s were the largest share of npm test's ten minutes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { readManifestFile } from '../../shared/manifest/io.js';
import { runBin } from '../helpers/cli.js';
import { gitShim, loggedSubcommands, makeUpstreams, startFrontServer, truncate, writeUpstreamManifest } from '../helpers/dumb-upstreams.js';
import { integrity, readDumbState } from '../helpers/dumb-state.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, pushCommit } from '../helpers/git.js';
import { spawnKillable } from '../helpers/killable.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig, pull } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const COUNT = 52;

interface StateFile {
  repos: Record<string, { key?: string; state: string; attempts: number; failures: number; lastError?: string }>;
}

t.test('list mode: 52 upstreams over HTTP, change detection, unreachable repos recorded, manifest served on', async (t) => {
  const dir = tmpDir(t, 'grok-dumb-');
  const up = path.join(dir, 'up');
  const keys = makeUpstreams(up, COUNT);
  await writeUpstreamManifest(up);
  const origin = await startTestOrigin(t, up);
  const front = await startFrontServer(origin.url);
  t.teardown(() => front.close());
  const host = `127.0.0.1+${new URL(front.url).port}`;

  const top = path.join(dir, 'mirror');
  mkdirSync(top);
  const list = path.join(dir, 'urls.txt');
  const urls = keys.map((k) => `${front.url}${k}`);
  const privateUrl = `${front.url}/private/secret.git`;
  const flakyUrl = `${front.url}/flaky${keys[0]}`;
  writeFileSync(list, ['# upstreams', ...urls, privateUrl, flakyUrl, 'ext::sh -c touch% /tmp/pwned', `${front.url}/g/../../etc.git`, ''].join('\n'));
  const state = path.join(dir, 'state.sqlite');
  const manifest = path.join(top, 'manifest.js.gz');
  const shimLog = path.join(dir, 'git.log');
  const env = { PATH: `${gitShim(path.join(dir, 'shim'), shimLog)}:${process.env.PATH}` };
  const args = ['--list', list, '--toplevel', top, '--state', state, '--manifest', manifest, '-j', '16', '--per-host', '8', '--backoff-ms', '10'];
  const readState = (): StateFile => readDumbState(state);

  // A temp clone a killed sweep left beside a mirror-to-be: removed before that mirror is cloned.
  const leftover = path.join(top, host, path.dirname(keys[5]!), `.${path.basename(keys[5]!)}.grok-init-0badf00d`);
  mkdirSync(path.join(leftover, 'objects'), { recursive: true });
  // The first sweep asks with git ls-remote (the path every non-HTTP upstream takes); the second
  // with one HTTP request per upstream, falling back to git only where HTTP was not a plain answer.
  const first = await runBin(BIN.dumbPull, [...args, '--ref-probe', 'git'], { env });
  t.equal(first.code, 0, `first sweep exits 0 (stderr: ${first.stderr})`);
  const subs1 = loggedSubcommands(shimLog);
  t.equal(subs1.filter((s) => s === 'clone').length, COUNT + 1, 'first sweep clones every reachable upstream (the flaky one after a retry)');
  t.equal(subs1.filter((s) => s === 'fetch').length, 0, 'and fetches nothing');
  let s = readState();
  for (const u of urls) t.equal(s.repos[u]?.state, 'fetched', `${u} fetched`);
  t.equal(s.repos[privateUrl]?.state, 'auth_required', 'the 401 upstream is recorded as auth_required');
  t.match(s.repos[privateUrl]?.lastError, /could not read Username|Authentication/, 'with git\'s reason');
  t.equal(s.repos[privateUrl]?.attempts, 1, 'and not retried');
  t.equal(s.repos[flakyUrl]?.state, 'fetched', 'the upstream that answered 503 once is fetched on retry');
  t.equal(s.repos[flakyUrl]?.attempts, 3, 'in three attempts: two ls-remotes and a clone');
  t.equal(s.repos['ext::sh -c touch% /tmp/pwned']?.state, 'invalid', 'an ext:: URL is refused');
  t.equal(Object.values(s.repos).filter((e) => e.state === 'invalid').length, 2, 'and so is a URL with ".."');
  t.notOk(existsSync(path.join(dir, 'etc.git')), 'nothing is made outside the toplevel');
  t.match(first.stderr, /ext::/, 'refused URLs are warned about');
  t.notOk(existsSync(leftover), 'the leftover temp clone is gone');

  const mirrorOf = (k: string) => path.join(top, host, k);
  for (const k of keys) t.equal(gitDir(mirrorOf(k), ['rev-parse', 'refs/heads/master']), gitDir(path.join(up, k), ['rev-parse', 'refs/heads/master']), `${k} mirrored`);

  // Second sweep: three upstreams move, one vanishes.
  const changed = keys.slice(1, 4);
  const heads = changed.map((k, i) => pushCommit(path.join(up, k), { message: `change ${i}`, date: 1_700_000_000 + i }));
  const vanished = keys[COUNT - 1]!;
  front.gone.add(vanished);
  truncate(shimLog);
  // --all: the failing upstreams are not due again for an hour, the quiet ones for longer.
  const second = await runBin(BIN.dumbPull, [...args, '--all'], { env });
  t.equal(second.code, 0, `second sweep exits 0 with a vanished and a private upstream (stderr: ${second.stderr})`);
  const subs2 = loggedSubcommands(shimLog);
  t.equal(subs2.filter((s) => s === 'fetch').length, 3, 'exactly 3 fetch processes for 3 changed upstreams');
  t.equal(subs2.filter((s) => s === 'clone').length, 0, 'no clones');
  t.same(
    subs2.filter((s) => s === 'ls-remote').length,
    2,
    'git ls-remote only for the two upstreams whose HTTP answer was not a ref advertisement (404 and 401); the other 52 answered one HTTP request',
  );
  s = readState();
  changed.forEach((k, i) => {
    t.equal(s.repos[`${front.url}${k}`]?.state, 'fetched', `${k} fetched`);
    t.equal(gitDir(mirrorOf(k), ['rev-parse', 'refs/heads/master']), heads[i], `${k} has the new head`);
  });
  t.equal(s.repos[urls[10]!]?.state, 'unchanged', 'an upstream that did not move is unchanged');
  t.equal(s.repos[`${front.url}${vanished}`]?.state, 'not_found', 'the vanished upstream is recorded as not_found');
  t.equal(s.repos[`${front.url}${vanished}`]?.failures, 1, 'with its failure count');
  t.ok(existsSync(mirrorOf(vanished)), 'its mirror is kept');
  t.equal(s.repos[privateUrl]?.state, 'auth_required', 'the private upstream stays auth_required');
  t.equal(s.repos[privateUrl]?.failures, 2, 'for the second sweep in a row');

  const parsed = await readManifestFile(manifest);
  t.equal(parsed?.entries.size, COUNT + 1, 'the manifest lists every mirror (the flaky route is a mirror of its own)');
  t.equal(parsed?.entries.get(`/${host}${changed[0]}`)?.fingerprint.length, 40, 'keys are <host+port>/<path>');

  // The dumb-pulled set, served by grok-origin, replicated by grok-pull.
  const served = await startTestOrigin(t, top);
  const replica = path.join(dir, 'replica');
  mkdirSync(replica);
  const res = await pull(replicaConfig(replica, served.url));
  t.equal(res.cloned.length, COUNT + 1, 'grok-pull clones every dumb-pulled repository from grok-origin');
  t.same(res.failed, [], 'without failures');
  const k = `/${host}${changed[2]}`;
  t.equal(gitDir(path.join(replica, k), ['rev-parse', 'refs/heads/master']), heads[2], 'the replica has the changed head');

  for (const repo of [mirrorOf(changed[0]!), mirrorOf(keys[20]!), path.join(replica, k)]) {
    const f = fsckOk(repo);
    t.ok(f.ok, `git fsck ${repo}: ${f.output}`);
  }
});

/** `count` upstreams served by grok-origin, an empty toplevel and a list of the upstreams' URLs. */
async function servedUpstreams(t: Test, count: number) {
  const dir = tmpDir(t, 'grok-dumb-');
  const up = path.join(dir, 'up');
  const keys = makeUpstreams(up, count);
  await writeUpstreamManifest(up);
  const origin = await startTestOrigin(t, up);
  const top = path.join(dir, 'mirror');
  mkdirSync(top);
  const list = path.join(dir, 'urls.txt');
  writeFileSync(list, keys.map((k) => `${origin.url}${k}`).join('\n'));
  return { dir, up, keys, origin, top, list };
}

t.test('list mode --no-detect fetches every repository', async (t) => {
  const { dir, top, list } = await servedUpstreams(t, 4);
  const shimLog = path.join(dir, 'git.log');
  const env = { PATH: `${gitShim(path.join(dir, 'shim'), shimLog)}:${process.env.PATH}` };
  t.equal((await runBin(BIN.dumbPull, ['--list', list, '--toplevel', top], { env })).code, 0, 'first sweep');
  t.ok(existsSync(`${list}.state.sqlite`), 'the state database defaults to <list>.state.sqlite');
  truncate(shimLog);
  t.equal((await runBin(BIN.dumbPull, ['--list', list, '--toplevel', top, '--no-detect', '--all'], { env })).code, 0, 'second sweep');
  const subs = loggedSubcommands(shimLog);
  t.equal(subs.filter((s) => s === 'fetch').length, 4, 'every repository fetched');
  t.equal(subs.filter((s) => s === 'ls-remote').length, 0, 'without ls-remote');
});

t.test('classic mode: paths and walks, -r globs, -u hook only for repositories that changed', async (t) => {
  const dir = tmpDir(t, 'grok-dumb-');
  const upA = path.join(dir, 'up', 'a.git');
  const upB = path.join(dir, 'up', 'b.git');
  const { makeRepo, git } = await import('../helpers/git.js');
  makeRepo(upA);
  makeRepo(upB);
  const work = path.join(dir, 'work');
  const one = path.join(work, 'one.git');
  const two = path.join(work, 'sub', 'two.git');
  git(['clone', '-q', '--mirror', upA, one]);
  git(['clone', '-q', '--bare', upB, two]); // a plain bare clone: no fetch refspec; add a remote with one
  gitDir(two, ['remote', 'add', 'upstream', upB]);
  gitDir(two, ['remote', 'add', 'other', upA]);
  const hookLog = path.join(dir, 'hook.log');
  const hook = path.join(dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$1" >> '${hookLog}'\n`, { mode: 0o755 });
  const shimLog = path.join(dir, 'git.log');
  const env = { PATH: `${gitShim(path.join(dir, 'shim'), shimLog)}:${process.env.PATH}` };

  const firstRun = await runBin(BIN.dumbPull, ['-r', 'upstream', '-u', hook, '-v', work], { env });
  t.equal(firstRun.code, 0, `walk of a directory (stderr: ${firstRun.stderr})`);
  t.equal(gitDir(two, ['rev-parse', 'refs/remotes/upstream/master']), gitDir(upB, ['rev-parse', 'master']), 'the matching remote of two.git was fetched');
  t.notOk(existsSync(path.join(two, 'refs/remotes/other')) && gitDir(two, ['for-each-ref', 'refs/remotes/other']) !== '', 'the other remote was not');
  t.same(readFileSync(hookLog, 'utf8').trim().split('\n'), [two], 'the hook ran for two.git only (one.git has no "upstream" remote)');

  truncate(shimLog);
  writeFileSync(hookLog, '');
  const newA = pushCommit(upA);
  const again = await runBin(BIN.dumbPull, ['-r', 'up*', '-r', 'orig*', '-u', hook, one, two], { env });
  t.equal(again.code, 0, 'named repositories');
  const subs = loggedSubcommands(shimLog);
  t.equal(subs.filter((s) => s === 'fetch').length, 1, 'only the changed remote is fetched');
  t.equal(gitDir(one, ['rev-parse', 'refs/heads/master']), newA, 'one.git has the new commit');
  t.same(readFileSync(hookLog, 'utf8').trim().split('\n'), [one], 'the hook ran for one.git only');

  const svn = await runBin(BIN.dumbPull, ['-s', one], { env });
  t.equal(svn.code, 2, '-s is a usage error');
  t.match(svn.stderr, /--svn is not supported/, 'and says so');
  const missing = await runBin(BIN.dumbPull, [path.join(dir, 'nope.git')], { env });
  t.equal(missing.code, 1, 'a missing repository fails the run');
  t.match(missing.stderr, /nope\.git does not exist/, 'and is named');
  for (const r of [one, two]) t.ok(fsckOk(r).ok, `git fsck ${r}`);
});

t.test('list mode: a sweep killed (-9) half-way keeps what it learnt; the next one finishes the job', async (t) => {
  const { up, keys, origin, top, list } = await servedUpstreams(t, 60);
  const state = `${list}.state.sqlite`;
  const args = ['--list', list, '--toplevel', top, '-j', '2', '--per-host', '2', '--checkpoint-secs', '1'];
  const readState = (): StateFile => readDumbState(state);
  const countOf = (s: StateFile, st: string) => Object.values(s.repos).filter((e) => e.state === st).length;

  // Killed once the state file shows some repositories fetched (a checkpoint has been written).
  const sweep = spawnKillable(BIN.dumbPull, args);
  const until = Date.now() + 60_000;
  // The database may be there before its tables are.
  const fetchedSoFar = () => {
    try {
      return countOf(readState(), 'fetched');
    } catch {
      return 0;
    }
  };
  while (!sweep.exited() && Date.now() < until && !(existsSync(state) && fetchedSoFar() > 0)) await sleep(20);
  const killedMidway = sweep.kill('group');
  await sweep.ended;
  t.ok(killedMidway, 'the sweep was killed before it ended');
  const after = readState();
  const fetched = countOf(after, 'fetched');
  t.ok(fetched > 0 && fetched < keys.length, `the checkpointed state parses and records ${fetched} of ${keys.length} fetched`);
  t.equal(countOf(after, 'pending') + fetched, keys.length, 'the rest are pending');
  t.equal(integrity(state), 'ok', 'the killed sweep\'s database passes SQLite\'s integrity check');
  t.equal(statSync(state).mode & 0o777, 0o600, 'the database is 0600');

  const again = await runBin(BIN.dumbPull, [...args, '-v']);
  t.equal(again.code, 0, `the next sweep exits 0 (stderr: ${again.stderr})`);
  t.match(again.stderr, new RegExp(`sweeping ${keys.length - fetched} of ${keys.length} upstreams`), 'it checks only what the killed sweep did not record (those are not due)');
  const done = readState();
  t.equal(countOf(done, 'fetched') + countOf(done, 'unchanged'), keys.length, 'every upstream fetched or unchanged');
  const host = `127.0.0.1+${new URL(origin.url).port}`;
  const leftovers = readdirSync(path.join(top, host, 'g')).filter((n) => n.includes('.grok-'));
  t.same(leftovers, [], 'no temp clone left');
  for (const k of keys) {
    const mirror = path.join(top, host, k);
    t.equal(gitDir(mirror, ['rev-parse', 'refs/heads/master']), gitDir(path.join(up, k), ['rev-parse', 'refs/heads/master']), `${k} mirrored`);
  }
  for (const k of [keys[0]!, keys[30]!, keys[59]!]) t.ok(fsckOk(path.join(top, host, k)).ok, `git fsck ${k}`);
});
