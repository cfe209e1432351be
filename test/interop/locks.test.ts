/**
 * The locks, both ways: grokmirror and ours take the same fcntl locks (`.<name>.lock` beside each
 * repository, the manifest and the fsck status file). One side is slowed by a git that sleeps (a shim
 * given as GITBIN, which both tools honour) while holding a lock; the other waits or defers, and
 * nothing is lost: once both are done, the mirror and the manifest hold every push.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { pushCommit } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';
import { makeOddCollection, refsOf } from './collection.js';
import { mirrorProblems, readRawManifest } from './mirror-check.js';
import { peerMissing, peerOk, runPeer, writeConf } from './peer.js';

/**
 * A git that sleeps `secs` before running a command naming one of `words` (with 'first': before the
 * first command it runs, once), leaving a marker file first. Everything is written into the script:
 * grokmirror runs git with an empty environment.
 */
function slowGit(dir: string, name: string, words: readonly string[] | 'first', secs: number): { bin: string; marker: string } {
  mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, `git-${name}`);
  const marker = path.join(dir, `${name}.slowed`);
  const slow = `touch '${marker}'; sleep ${secs}`;
  const body = words === 'first' ? `[ -e '${marker}' ] || { ${slow}; }` : `for a in "$@"; do case "$a" in ${words.join('|')}) ${slow}; break;; esac; done`;
  writeFileSync(bin, `#!/bin/sh\n${body}\nexec /usr/bin/git "$@"\n`);
  chmodSync(bin, 0o755);
  return { bin, marker };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const missing = peerMissing();
if (missing) {
  t.plan(0, `skipped: ${missing}`);
} else {
  const dir = tmpDir(t);
  const c = makeOddCollection(path.join(dir, 'origin'));
  const manifest = path.join(c.top, 'manifest.js.gz');
  const mirror = path.join(dir, 'mirror');
  const log = path.join(dir, 'mirror.log');
  const shims = path.join(dir, 'shims');
  const conf = writeConf(path.join(dir, 'mirror.conf'), {
    core: { toplevel: mirror, manifest: path.join(mirror, 'manifest.js.gz'), log },
    remote: { site: `file://${c.top}`, manifest: `file://${manifest}` },
    // one repository at a time on grokmirror's side, so that its slow fetch is the one we meet
    pull: { pull_threads: '1', exclude: c.controlOwner },
    fsck: { statusfile: path.join(mirror, 'fsck.status.js') },
  });
  const keys = c.keys.filter((k) => k !== c.controlOwner);
  const full = (k: string) => path.join(c.top, k);
  let n = 0;
  const push = async (...ks: string[]) => {
    for (const k of ks) pushCommit(full(k), { branch: `locks-${++n}`, date: 1_700_000_000 + n });
    await sleep(1100); // whole-second mtimes in grokmirror's file:// check
    await peerOk('manifest', ['-n', '-m', manifest, '-t', c.top, ...ks.map(full)]);
  };
  const peerLog = () => readFileSync(log, 'utf8').split('\n').filter((l) => /^(pull|fsck|manifest)\[\d+\] /.test(l));

  t.before(async () => {
    mkdirSync(mirror, { recursive: true });
    await peerOk('manifest', ['-m', manifest, '-t', c.top]);
    const first = await runBin(BIN.pull, ['-c', conf]);
    if (first.code !== 0 && !/control\.git/.test(first.stderr)) throw new Error(first.stderr);
  });

  t.test('grokmirror holds a repository (slow fetch): our grok-pull waits or defers it, nothing is lost', async (t) => {
    await push(c.deep, c.nonAscii);
    const shim = slowGit(shims, 'peer-fetch', ['update'], 8);
    const theirs = runPeer('pull', ['-c', conf], { GITBIN: shim.bin });
    await until("grokmirror's slowed fetch", () => existsSync(shim.marker));
    const ours = await runBin(BIN.pull, ['-c', conf, '-v']);
    t.equal(ours.code, 0, ours.stderr);
    const deferred = /is locked by another process; left for the next pass/.test(ours.stderr);
    const waited = /updated \/deep\//.test(ours.stderr);
    t.ok(deferred || waited, `ours waited for the lock or deferred the repository:\n${ours.stderr}`);
    t.equal((await theirs).code, 0);
    // the next pass of either tool finds everything; ours here
    const again = await runBin(BIN.pull, ['-c', conf, '-n']);
    t.equal(again.code, 0, again.stderr);
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
  });

  t.test('we hold a repository (slow fetch): grokmirror defers it, nothing is lost', async (t) => {
    await push(c.deep);
    const shim = slowGit(shims, 'our-fetch', ['fetch'], 8);
    const ours = runBin(BIN.pull, ['-c', conf], { env: { GITBIN: shim.bin } });
    await until('our slowed fetch', () => existsSync(shim.marker));
    const theirs = await runPeer('pull', ['-c', conf]);
    t.equal(theirs.code, 0);
    t.equal((await ours).code, 0);
    t.ok(peerLog().some((l) => / defer: \/deep\/.* \(locked\)$/.test(l)), 'grokmirror deferred the locked repository');
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
  });

  t.test('the manifest lock, both ways: every update lands', async (t) => {
    pushCommit(full(c.manyRefs), { branch: 'm1', date: 1_710_000_000 });
    pushCommit(full(c.upstream), { branch: 'm2', date: 1_710_000_100 });
    // grokmirror's hook run holds the manifest lock while its git sleeps; ours waits for it
    const gshim = slowGit(shims, 'peer-manifest', ['show-ref'], 4);
    const theirs = runPeer('manifest', ['-n', '-m', manifest, '-t', c.top, full(c.manyRefs)], { GITBIN: gshim.bin });
    await until("grokmirror's slowed grok-manifest", () => existsSync(gshim.marker));
    const ours = await runBin(BIN.manifest, ['-n', '-m', manifest, '-t', c.top, full(c.upstream)]);
    t.equal(ours.code, 0, ours.stderr);
    t.equal((await theirs).code, 0);
    let m = readRawManifest(manifest);
    t.equal(m[c.manyRefs]?.fingerprint, readFileSync(path.join(full(c.manyRefs), 'grokmirror.fingerprint'), 'utf8'), "grokmirror's update is there");
    t.match(refsOf(full(c.upstream)), /refs\/heads\/m2/);
    t.equal(m[c.upstream]?.fingerprint, readFileSync(path.join(full(c.upstream), 'grokmirror.fingerprint'), 'utf8'), 'and ours');

    // and the other way: our walk holds it while its git sleeps; grokmirror's hook waits
    pushCommit(full(c.deep), { branch: 'm3', date: 1_710_000_200 });
    pushCommit(full(c.nonAscii), { branch: 'm4', date: 1_710_000_300 });
    const oshim = slowGit(shims, 'our-manifest', 'first', 4);
    const ourWalk = runBin(BIN.manifest, ['-m', manifest, '-t', c.top], { env: { GITBIN: oshim.bin } });
    await until('our slowed grok-manifest', () => existsSync(oshim.marker));
    await peerOk('manifest', ['-n', '-m', manifest, '-t', c.top, full(c.nonAscii)]);
    t.equal((await ourWalk).code, 0);
    m = readRawManifest(manifest);
    for (const k of [c.deep, c.nonAscii, c.manyRefs, c.upstream]) {
      t.equal(m[k]?.fingerprint, readFileSync(path.join(full(k), 'grokmirror.fingerprint'), 'utf8'), `${k}: its latest state is in the manifest`);
    }
  });

  t.test('one grok-fsck at a time, whichever tool runs it', async (t) => {
    const gshim = slowGit(shims, 'peer-fsck', 'first', 4);
    const theirs = runPeer('fsck', ['-c', conf], { GITBIN: gshim.bin });
    await until("grokmirror's slowed grok-fsck", () => existsSync(gshim.marker));
    const ours = await runBin(BIN.fsck, ['-c', conf]);
    t.equal(ours.code, 0);
    t.match(ours.stderr, /another grok-fsck is running; nothing to do/);
    t.equal((await theirs).code, 0);

    const oshim = slowGit(shims, 'our-fsck', 'first', 4);
    const ourRun = runBin(BIN.fsck, ['-c', conf], { env: { GITBIN: oshim.bin } });
    await until('our slowed grok-fsck', () => existsSync(oshim.marker));
    await peerOk('fsck', ['-c', conf]);
    t.ok(peerLog().some((l) => /Could not obtain exclusive lock on .*\.fsck\.status\.js\.lock/.test(l)), 'grokmirror saw ours running');
    t.equal((await ourRun).code, 0);
  });
}
