/**
 * Issue 23, item 1: the hook believes a `.<manifest>.origin` handoff file only as grok-origin writes
 * it. Another local user who can write the manifest's directory plants one naming a server of their
 * own (here: one on 127.0.0.1 that answers "updated" and writes nothing). For each planted form, a
 * symlink, another user's file (uid 65534, pid 1), a file others may write, a FIFO, `grok-manifest -n`
 * and the two contrib hooks ignore it with a warning, update the manifest themselves, exit 0, and
 * the planted server hears nothing. A file of the right owner whose server answers but does not
 * write the manifest is caught too. grok-origin refuses a manifest directory every user may write,
 * warns about a group-writable one, and replaces another user's handoff file instead of failing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import t from 'tap';
import { handoffPathFor } from '../../origin/manifest/handoff.js';
import { runFor } from '../helpers/cli.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { fsckOk, makeRepo, pushCommit } from '../helpers/git.js';
import { readM, runM } from '../helpers/manifest.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { tmpDir } from '../helpers/tmp.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const hasCurl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;

/** A hook must end: one that blocks on a FIFO is killed after 30 s. */
const run = (argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000) => runFor(argv, timeoutMs, env);

const dir = tmpDir(t, 'grok-handoff-');
const top = path.join(dir, 'top');
const repo = path.join(top, 'r.git');
makeRepo(repo);
const manifest = path.join(top, 'manifest.js.gz');
await runM(top, manifest);
const handoff = handoffPathFor(manifest);
const fingerprint = () => readFileSync(path.join(repo, 'grokmirror.fingerprint'), 'utf8');

// The planted server: takes every notice, says it updated the repository, writes nothing.
const heard: string[] = [];
const liar: Server = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    heard.push(body);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ added: [], updated: ['/r.git'], unchanged: [], removed: [], failed: [], rejected: [] }));
  });
});
await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => liar.close(() => r())));
const planted = JSON.stringify({ url: `http://127.0.0.1:${(liar.address() as { port: number }).port}`, token: 'x', pid: 1 });

const bin = path.join(dir, 'bin');
mkdirSync(bin);
writeFileSync(path.join(bin, 'grok-manifest'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.manifest}" "$@"\n`, { mode: 0o755 });
const hookEnv = { GROK_MANIFEST: manifest, GROK_TOPLEVEL: top, GIT_DIR: repo, PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}` };
const hooks: [string, string[], boolean][] = [
  ['grok-manifest -n', [process.execPath, BIN.manifest, '-n', '-m', manifest, '-t', top, repo], true],
  ['contrib post-receive-notify.sh', ['sh', path.join(REPO_ROOT, 'contrib/hooks/post-receive-notify.sh')], hasCurl],
  ['contrib post-update', ['sh', path.join(REPO_ROOT, 'contrib/hooks/post-update')], hasCurl],
  ['contrib post-receive-notify.mjs', [process.execPath, path.join(REPO_ROOT, 'contrib/hooks/post-receive-notify.mjs')], true],
];

const plants: [string, () => void][] = [
  ['another user\'s file (uid 65534, pid 1)', () => {
    writeFileSync(handoff, planted, { mode: 0o600 });
    chownSync(handoff, NOBODY, NOBODY);
  }],
  ['a symlink to a file of ours', () => {
    const target = path.join(dir, 'elsewhere.origin');
    writeFileSync(target, planted, { mode: 0o600 });
    symlinkSync(target, handoff);
  }],
  ['our own file, writable by others (0666)', () => {
    writeFileSync(handoff, planted);
    chmodSync(handoff, 0o666);
  }],
  ['our own file, writable by the group (0620)', () => {
    writeFileSync(handoff, planted);
    chmodSync(handoff, 0o620);
  }],
  ['a FIFO', () => {
    spawnSync('mkfifo', ['-m', '0600', handoff]);
  }],
];

for (const [plant, make] of plants) {
  for (const [hook, argv, usable] of hooks) {
    // post-update is post-receive-notify.sh line for line: one case shows it is wired the same way.
    if (hook === 'contrib post-update' && plant !== plants[0]![0]) continue;
    t.test(`${plant}: ${hook} ignores it and updates the manifest itself`, { skip: !asRoot ? 'needs root (chown)' : !usable ? 'no curl' : false }, async (t) => {
      rmSync(handoff, { force: true });
      make();
      t.teardown(() => rmSync(handoff, { force: true }));
      const sha = pushCommit(repo, { date: 1_700_000_000 + heard.length + Math.floor(Math.random() * 1e6) });
      heard.length = 0;
      const r = await run(argv, hookEnv);
      t.equal(r.code, 0, `exit 0: ${r.stderr.trim()}`);
      t.same(heard, [], 'the planted server heard nothing');
      t.match(r.stderr, /ignoring/, 'says why it went its own way');
      t.equal((await readM(manifest))['/r.git']?.fingerprint, fingerprint(), `the manifest has the push of ${sha.slice(0, 8)}`);
      t.ok(fsckOk(repo).ok);
    });
  }
}

t.test('a trusted-looking file whose server answers but does not write: caught, updated here', { skip: !asRoot ? 'needs root (chown)' : false }, async (t) => {
  // The manifest's owner wrote the file (hooks run as another user may use it): believed, so the
  // answer itself is checked.
  t.teardown(() => chownSync(manifest, 0, 0));
  for (const [hook, argv] of [hooks[0]!, hooks[3]!]) {
    // (each fallback writes a new manifest file, owned by the writer)
    chownSync(manifest, NOBODY, NOBODY);
    rmSync(handoff, { force: true });
    writeFileSync(handoff, planted.replace('"pid":1', `"pid":${process.pid}`), { mode: 0o600 });
    chownSync(handoff, NOBODY, NOBODY);
    pushCommit(repo, { date: 1_750_000_000 + Math.floor(Math.random() * 1e6) });
    heard.length = 0;
    const r = await run(argv, hookEnv);
    t.equal(heard.length, 1, `${hook}: the server was asked`);
    t.match(r.stderr, /reported changes but .* was not rewritten/, `${hook}: the lie is noticed`);
    t.equal(r.code, 0, r.stderr);
    t.equal((await readM(manifest))['/r.git']?.fingerprint, fingerprint(), `${hook}: the manifest is right`);
  }
  rmSync(handoff, { force: true });
});

t.test('grok-origin and the manifest directory', { skip: !asRoot ? 'needs root (chown)' : false }, async (t) => {
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\n`);
  // Writable by every user (sticky, as /tmp): refused, saying why.
  chmodSync(top, 0o1777);
  writeFileSync(handoff, planted, { mode: 0o600 });
  chownSync(handoff, NOBODY, NOBODY);
  const refused = await run([process.execPath, BIN.origin, '-c', conf], {}, 30_000);
  t.not(refused.code, 0);
  t.match(refused.stderr, /manifest directory .* is writable by every user \(mode 1777\)/);
  // Writable by its group: starts with a warning, and another user's handoff file is replaced by its own.
  chmodSync(top, 0o1775);
  const origin = await startOriginProcess(conf, { t });
  t.match(origin.stderr(), /writable by its group/);
  const h = JSON.parse(readFileSync(handoff, 'utf8')) as { pid: number };
  t.equal(h.pid, origin.proc.pid, 'the handoff file is its own');
  pushCommit(repo, { date: 1_760_000_000 });
  heard.length = 0;
  const lastEvent = async () => ((await (await fetch(`${origin.url}/healthz`)).json()) as { last_event: string }).last_event;
  const before = await lastEvent();
  const r = await run(hooks[0]![1], hookEnv);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /ignoring|did not take/, 'its hooks hand off to it');
  t.not(await lastEvent(), before, 'and it published the change');
  t.same(heard, []);
  t.equal((await readM(manifest))['/r.git']?.fingerprint, fingerprint());
  t.equal(await origin.stop(), 0);
  chmodSync(top, 0o755);
});
