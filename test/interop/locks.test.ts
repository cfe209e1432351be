/**
 * The locks, both ways: grokmirror and ours take the same fcntl locks (`.<name>.lock` beside each
 * repository, the manifest and the fsck status file). One side is held up by a git that waits (a shim
 * given as GITBIN, which both tools honour) while it holds a lock, until the other has met the lock;
 * the other waits or defers, and nothing is lost: once both are done, the mirror and the manifest
 * hold every push.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { BIN } from '../helpers/fixture.js';
import { makeRepo, pushCommit } from '../helpers/git.js';
import { refsOf } from './collection.js';
import { mirrorProblems, readRawManifest } from './mirror-check.js';
import { interopSuite, peerOk, replicaConf, runOurs, runPeer } from './peer.js';

/**
 * A git that, before a command naming one of `words` (with 'first': before the first command it runs),
 * leaves a marker file and waits until the test releases it (at most a minute), so that the tool
 * holds its lock exactly as long as the test needs. Everything is written into the script: grokmirror
 * runs git with an empty environment.
 */
function holdingGit(dir: string, name: string, words: readonly string[] | 'first'): { bin: string; marker: string; release(): void } {
  mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, `git-${name}`);
  const marker = path.join(dir, `${name}.held`);
  const released = path.join(dir, `${name}.released`);
  const hold = `touch '${marker}'; i=0; while [ ! -e '${released}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
  const body = words === 'first' ? `[ -e '${marker}' ] || { ${hold}; }` : `for a in "$@"; do case "$a" in ${words.join('|')}) ${hold}; break;; esac; done`;
  writeFileSync(bin, `#!/bin/sh\n${body}\nexec /usr/bin/git "$@"\n`);
  chmodSync(bin, 0o755);
  return { bin, marker, release: () => writeFileSync(released, '') };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const suite = interopSuite(t);
if (suite) {
  const { dir, c } = suite;
  const manifest = path.join(c.top, 'manifest.js.gz');
  const log = path.join(dir, 'mirror.log');
  const shims = path.join(dir, 'shims');
  const { top: mirror, conf } = replicaConf(dir, 'mirror', { site: `file://${c.top}`, manifest: `file://${manifest}` }, {
    core: { log },
    // one repository at a time on grokmirror's side, so that its slow fetch is the one we meet
    pull: { pull_threads: '1', exclude: c.controlOwner },
  });
  const keys = c.keys.filter((k) => k !== c.controlOwner);
  const full = (k: string) => path.join(c.top, k);
  let n = 0;
  const push = async (...ks: string[]) => {
    for (const k of ks) pushCommit(full(k), { branch: `locks-${++n}`, date: 1_700_000_000 + n });
    await sleep(1100); // whole-second mtimes in grokmirror's file:// check
    await peerOk('manifest', ['-n', '-m', manifest, '-t', c.top, ...ks.map(full)]);
  };

  t.before(async () => {
    mkdirSync(mirror, { recursive: true });
    await peerOk('manifest', ['-m', manifest, '-t', c.top]);
    const first = await runOurs(BIN.pull, ['-c', conf]);
    if (first.code !== 0 && !/control\.git/.test(first.stderr)) throw new Error(first.stderr);
  });

  t.test('grokmirror holds a repository (slow fetch): our grok-pull defers it, nothing is lost', async (t) => {
    await push(c.deep, c.nonAscii);
    const shim = holdingGit(shims, 'peer-fetch', ['update']);
    const theirs = runPeer('pull', ['-c', conf], { GITBIN: shim.bin });
    await until("grokmirror's held fetch", () => existsSync(shim.marker));
    const from = statSync(log).size;
    const ours = runOurs(BIN.pull, ['-c', conf, '-v']);
    // ours tries it, waits 5 s for the lock, then leaves it for its next pass; only then is grokmirror let go
    await until('our grok-pull to defer it', () => readFileSync(log, 'utf8').slice(from).includes('is locked by another process; left for the next pass'));
    shim.release();
    const o = await ours;
    t.equal(o.code, 0, o.stderr);
    t.match(o.stderr, /1 deferred, 0 failed/, 'one repository deferred, the other fetched');
    t.equal((await theirs).code, 0);
    // the next pass of either tool finds everything; ours here
    const again = await runOurs(BIN.pull, ['-c', conf]);
    t.equal(again.code, 0, again.stderr);
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
  });

  t.test('we hold a repository (slow fetch): grokmirror defers it, nothing is lost', async (t) => {
    await push(c.deep);
    const shim = holdingGit(shims, 'our-fetch', ['fetch']);
    const ours = runOurs(BIN.pull, ['-c', conf], { GITBIN: shim.bin });
    await until('our held fetch', () => existsSync(shim.marker));
    const from = statSync(log).size;
    const theirs = runPeer('pull', ['-c', conf]);
    await until('grokmirror to defer it', () => / defer: \/deep\/.* \(locked\)$/m.test(readFileSync(log, 'utf8').slice(from)));
    shim.release();
    t.equal((await ours).code, 0);
    t.equal((await theirs).code, 0, 'grokmirror took it once the lock was free');
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
  });

  t.test('the manifest lock, both ways: every update lands', async (t) => {
    pushCommit(full(c.manyRefs), { branch: 'm1', date: 1_710_000_000 });
    pushCommit(full(c.upstream), { branch: 'm2', date: 1_710_000_100 });
    // grokmirror's hook run holds the manifest lock while its git waits; ours starts then, and waits for it
    const gshim = holdingGit(shims, 'peer-manifest', ['show-ref']);
    const theirs = runPeer('manifest', ['-n', '-m', manifest, '-t', c.top, full(c.manyRefs)], { GITBIN: gshim.bin });
    await until("grokmirror's held grok-manifest", () => existsSync(gshim.marker));
    const ours = runOurs(BIN.manifest, ['-n', '-m', manifest, '-t', c.top, full(c.upstream)]);
    await sleep(1000);
    gshim.release();
    const o = await ours;
    t.equal(o.code, 0, o.stderr);
    t.equal((await theirs).code, 0);
    let m = readRawManifest(manifest);
    t.equal(m[c.manyRefs]?.fingerprint, readFileSync(path.join(full(c.manyRefs), 'grokmirror.fingerprint'), 'utf8'), "grokmirror's update is there");
    t.match(refsOf(full(c.upstream)), /refs\/heads\/m2/);
    t.equal(m[c.upstream]?.fingerprint, readFileSync(path.join(full(c.upstream), 'grokmirror.fingerprint'), 'utf8'), 'and ours');

    // and the other way: our walk holds it while its git sleeps; grokmirror's hook waits
    pushCommit(full(c.deep), { branch: 'm3', date: 1_710_000_200 });
    pushCommit(full(c.nonAscii), { branch: 'm4', date: 1_710_000_300 });
    const oshim = holdingGit(shims, 'our-manifest', 'first');
    const ourWalk = runOurs(BIN.manifest, ['-m', manifest, '-t', c.top], { GITBIN: oshim.bin });
    await until('our held grok-manifest', () => existsSync(oshim.marker));
    const theirs2 = runPeer('manifest', ['-n', '-m', manifest, '-t', c.top, full(c.nonAscii)]);
    await sleep(1000);
    oshim.release();
    t.equal((await ourWalk).code, 0);
    t.equal((await theirs2).code, 0);
    m = readRawManifest(manifest);
    for (const k of [c.deep, c.nonAscii, c.manyRefs, c.upstream]) {
      t.equal(m[k]?.fingerprint, readFileSync(path.join(full(k), 'grokmirror.fingerprint'), 'utf8'), `${k}: its latest state is in the manifest`);
    }
  });

  t.test('one grok-fsck at a time, whichever tool runs it', async (t) => {
    // a toplevel of one repository: the lock is the point, not the work
    makeRepo(path.join(dir, 'small', 'one.git'));
    const { conf } = replicaConf(dir, 'small', { site: `file://${c.top}`, manifest: `file://${manifest}` }, { core: { log }, fsck: { statusfile: path.join(dir, 'small.status.js') } });
    const gshim = holdingGit(shims, 'peer-fsck', 'first');
    const theirs = runPeer('fsck', ['-c', conf], { GITBIN: gshim.bin });
    await until("grokmirror's held grok-fsck", () => existsSync(gshim.marker));
    const ours = await runOurs(BIN.fsck, ['-c', conf]);
    gshim.release();
    t.equal(ours.code, 0);
    t.match(ours.stderr, /another grok-fsck is running; nothing to do/);
    t.equal((await theirs).code, 0);

    const oshim = holdingGit(shims, 'our-fsck', 'first');
    const ourRun = runOurs(BIN.fsck, ['-c', conf], { GITBIN: oshim.bin });
    await until('our held grok-fsck', () => existsSync(oshim.marker));
    const from = statSync(log).size;
    await peerOk('fsck', ['-c', conf]);
    oshim.release();
    t.match(readFileSync(log, 'utf8').slice(from), /Could not obtain exclusive lock on .*\.small\.status\.js\.lock/, 'grokmirror saw ours running');
    t.equal((await ourRun).code, 0);
  });
}
