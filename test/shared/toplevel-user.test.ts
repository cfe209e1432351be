/**
 * A toplevel this user cannot write is one line naming the user and the owner (it was one lock error
 * per repository, which the README maps to stuck-lock advice); root on another user's toplevel is
 * refused without --as-other-user; another non-root user is warned. As root, another user is nobody
 * through setpriv, and a read-only bind mount stands for a toplevel nobody may write.
 */
import { existsSync, mkdirSync, writeFileSync, chmodSync, chownSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { userName } from '../../shared/fs/toplevel-user.js';
import { BIN } from '../helpers/fixture.js';
import { runBin, runProcess, type CliResult } from '../helpers/cli.js';
import { GIT_ENV, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';
import { checkoutUnreadableByNobody, NOBODY, SETPRIV } from '../helpers/other-user.js';

const ROOT = process.getuid?.() === 0;
const UNREADABLE = checkoutUnreadableByNobody();
const me = userName(process.geteuid?.() ?? 0);

t.test('user names come from /etc/passwd, numbers when unknown', async (t) => {
  t.equal(userName(0), 'root');
  t.equal(userName(4_000_000_000), 'uid 4000000000');
  t.equal(userName(0, '/nonexistent/passwd'), 'uid 0');
});

/** An origin with two repositories and a replica config for them (the mirror's toplevel made, empty). */
async function setUp(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t);
  chmodSync(dir, 0o755);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  mkdirSync(mirror, { mode: 0o755 });
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nprojectslist =\n[fsck]\nstatusfile = ${dir}/fsck.status.json\n`, { mode: 0o644 });
  return { dir, mirror, conf };
}

/** As nobody when we are root (the user who is not the owner), else as ourselves. */
function asOther(bin: string, args: string[]): Promise<CliResult> {
  const argv = ['env', '-u', 'NODE_OPTIONS', process.execPath, bin, ...args];
  return ROOT ? runProcess(SETPRIV!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { env: GIT_ENV }) : runProcess(argv[0]!, argv.slice(1), { env: GIT_ENV });
}
const other = ROOT ? 'nobody' : me;

t.test('a toplevel this user cannot write: one line naming the user and the owner, nothing attempted', { skip: ROOT && !SETPRIV ? 'setpriv not found: root writes any directory' : UNREADABLE }, async (t) => {
  const { mirror, conf } = await setUp(t);
  if (!ROOT) chmodSync(mirror, 0o555);
  t.teardown(() => chmodSync(mirror, 0o755));
  const owner = ROOT ? 'root' : me;
  for (const [name, bin] of [['grok-pull', BIN.pull], ['grok-fsck', BIN.fsck]] as const) {
    const res = await asOther(bin, ['-c', conf]);
    t.equal(res.code, 1, res.stderr);
    t.equal(res.stderr, `${name}: error: toplevel ${mirror} is not writable by user ${other} (owner ${owner}) [GROK_ERR_TOPLEVEL]\n`, `${name}: that line only`);
  }
  t.notOk(existsSync(path.join(mirror, 'a.git')));
});

t.test('a toplevel on a read-only filesystem says so', { skip: ROOT ? false : 'needs root for a read-only bind mount' }, async (t) => {
  const { mirror, conf } = await setUp(t);
  const res = await runBin(BIN.pull, ['-c', conf], { readOnly: mirror });
  t.equal(res.code, 1, res.stderr);
  t.equal(res.stderr, `grok-pull: error: toplevel ${mirror} is not writable by user root (owner root): it is on a read-only filesystem [GROK_ERR_TOPLEVEL]\n`);
});

t.test("root on another user's toplevel: refused without --as-other-user", { skip: ROOT ? false : 'needs root' }, async (t) => {
  const { mirror, conf } = await setUp(t);
  chownSync(mirror, NOBODY, NOBODY);
  for (const [name, bin] of [['grok-pull', BIN.pull], ['grok-fsck', BIN.fsck]] as const) {
    const res = await runBin(bin, ['-c', conf]);
    t.equal(res.code, 1, res.stderr);
    t.match(res.stderr, new RegExp(`^${name}: error: toplevel ${mirror} belongs to nobody, not root: files this run makes there would belong to root, and nobody's runs could not replace them; run as nobody \\(runuser -u nobody -- \\.\\.\\.\\), or pass --as-other-user \\[GROK_ERR_OTHER_USER\\]\\n$`));
  }
  t.notOk(existsSync(path.join(mirror, 'a.git')), 'nothing cloned');
  const res = await runBin(BIN.pull, ['-c', conf, '--as-other-user']);
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stderr, '', 'asked for: not warned');
  t.ok(existsSync(path.join(mirror, 'a.git/HEAD')));
});

t.test("another user than the owner who may write: warned, and the run goes ahead", { skip: ROOT && SETPRIV ? UNREADABLE : 'needs root and setpriv: a second user' }, async (t) => {
  const { mirror, conf } = await setUp(t);
  chmodSync(mirror, 0o777);
  const res = await asOther(BIN.pull, ['-c', conf]);
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stderr, `grok-pull: warning: running as nobody, not as root who owns toplevel ${mirror}: files this run makes there would belong to nobody, and root's runs could not replace them unless the group may write them\n`);
  t.ok(existsSync(path.join(mirror, 'b.git/HEAD')));
});
