/**
 * The hook samples in contrib/hooks, installed in a real bare repository and run by a real push: with
 * grok-origin up they notify it (one POST) and the manifest entry changes; with it gone, stale or
 * refusing, grok-manifest --standalone -n updates the file itself.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { handoffPathFor } from '../../origin/manifest/handoff.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { fsckOk, git, GIT_ENV, makeRepo } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { readEvents, startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const HOOKS = path.join(REPO_ROOT, 'contrib/hooks');
const hasCurl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;

/** sha1 of `git show-ref`: the manifest fingerprint the repository should now have. */
function fingerprint(repo: string): string {
  const refs = execFileSync('git', [`--git-dir=${repo}`, 'show-ref'], { env: GIT_ENV });
  return createHash('sha1').update(refs).digest('hex');
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Setup {
  top: string;
  repo: string;
  manifest: string;
  /**
   * Commits in a clone and pushes into the repository, so git runs the installed hook. Asynchronous:
   * the test origin runs in this process and must keep answering while the hook waits on it.
   */
  push(env?: NodeJS.ProcessEnv): Promise<{ stderr: string }>;
}

function setup(dir: string, hookFile: string, hookName: string): Setup {
  const top = path.join(dir, 'top');
  const repo = path.join(top, 'pub/r.git');
  makeRepo(repo);
  makeRepo(path.join(top, 'pub/other.git'));
  copyFileSync(path.join(HOOKS, hookFile), path.join(repo, 'hooks', hookName));
  chmodSync(path.join(repo, 'hooks', hookName), 0o755);
  const manifest = path.join(top, 'manifest.js.gz');
  // grok-manifest on PATH for the fallback, as an installed package would provide it; node for the .mjs
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'grok-manifest'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.manifest}" "$@"\n`);
  chmodSync(path.join(bin, 'grok-manifest'), 0o755);
  const work = path.join(dir, 'work');
  git(['clone', '-q', repo, work]);
  let n = 0;
  return {
    top,
    repo,
    manifest,
    async push(env = {}) {
      writeFileSync(path.join(work, `f${++n}.txt`), `${n}\n`);
      git(['add', '-A'], { cwd: work });
      // an old commit date: a manifest "modified" near now shows the hook asked for use_now (-n)
      git(['commit', '-q', '-m', `push ${n}`], { cwd: work, env: { GIT_AUTHOR_DATE: '1600000000 +0000', GIT_COMMITTER_DATE: '1600000000 +0000' } });
      const hookEnv = {
        ...GIT_ENV,
        GROK_MANIFEST: manifest,
        GROK_TOPLEVEL: top,
        PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}`,
        ...env,
      };
      return new Promise((resolve, reject) => {
        execFile('git', ['push', '-q', 'origin', 'HEAD:refs/heads/master'], { cwd: work, env: hookEnv, encoding: 'utf8' }, (err, _out, stderr) =>
          err ? reject(new Error(`push failed: ${stderr}`)) : resolve({ stderr }),
        );
      });
    },
  };
}

const nowS = () => Math.floor(Date.now() / 1000);

for (const [hookFile, hookName] of [
  ['post-receive-notify.sh', 'post-receive'],
  ['post-update', 'post-update'],
  ['post-receive-notify.mjs', 'post-receive'],
] as const) {
  const needsCurl = hookFile !== 'post-receive-notify.mjs';
  t.test(`${hookFile} as hooks/${hookName}: notifies grok-origin, falls back to grok-manifest`, { skip: needsCurl && !hasCurl ? 'no curl' : false }, async (t) => {
    const dir = tmpDir(t);
    const s = setup(dir, hookFile, hookName);
    const origin = await startTestOrigin(t, s.top);
    const before = (await readM(s.manifest))['/pub/r.git']!;

    const feed = readEvents(`${origin.url}/_grok/events`, { count: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const first = await s.push();
    t.notMatch(first.stderr, /did not take the notice/, 'the server took it');
    t.match((await feed).find((e) => e.event === 'change'), { data: { key: '/pub/r.git' } }, 'the origin received the notice');
    let entry = (await readM(s.manifest))['/pub/r.git']!;
    t.not(entry.fingerprint, before.fingerprint);
    t.equal(entry.fingerprint, fingerprint(s.repo), 'manifest entry written by the server');
    t.ok(Math.abs(entry.modified - nowS()) < 120, 'use_now, as the fallback\'s -n');

    // a server that died without removing its handoff file: connection refused, then the fallback
    const stale = path.join(dir, 'stale-handoff');
    writeFileSync(stale, JSON.stringify({ url: `http://127.0.0.1:${await closedPort()}`, token: 'x', pid: process.pid }));
    await origin.close();
    t.throws(() => readFileSync(handoffPathFor(s.manifest)), 'a stopped server removes its handoff file');
    const down = await s.push();
    t.equal(down.stderr, '', 'no server: straight to grok-manifest, quietly');
    entry = (await readM(s.manifest))['/pub/r.git']!;
    t.equal(entry.fingerprint, fingerprint(s.repo), 'grok-manifest updated the manifest itself');
    t.ok(Math.abs(entry.modified - nowS()) < 120, '-n');

    copyFileSync(stale, handoffPathFor(s.manifest));
    const refused = await s.push();
    t.match(refused.stderr, /did not take the notice; updating .*manifest\.js\.gz directly/);
    t.equal((await readM(s.manifest))['/pub/r.git']!.fingerprint, fingerprint(s.repo), 'stale handoff: the fallback updated it');

    // a configured server with [origin] notify_secret: the handoff file is not consulted
    const secured = await startTestOrigin(t, s.top, { extra: 'notify_secret = s3cret\n' });
    const feed2 = readEvents(`${secured.url}/_grok/events`, { count: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const configured = await s.push({ GROK_ORIGIN_URL: secured.url, GROK_NOTIFY_SECRET: 's3cret' });
    t.notMatch(configured.stderr, /did not take the notice/, 'GROK_ORIGIN_URL and GROK_NOTIFY_SECRET');
    t.match((await feed2).find((e) => e.event === 'change'), { data: { key: '/pub/r.git' } });
    t.equal((await readM(s.manifest))['/pub/r.git']!.fingerprint, fingerprint(s.repo));

    const wrong = await s.push({ GROK_ORIGIN_URL: secured.url, GROK_NOTIFY_SECRET: 'wrong' });
    t.match(wrong.stderr, /did not take the notice/, 'a refused notice (403) falls back');
    t.equal((await readM(s.manifest))['/pub/r.git']!.fingerprint, fingerprint(s.repo), 'and the manifest is still right');

    for (const r of [s.repo, path.join(s.top, 'pub/other.git')]) {
      const f = fsckOk(r);
      t.ok(f.ok, f.output);
    }
  });
}

t.test('post-update is post-receive-notify.sh line for line below its header', async (t) => {
  const body = (f: string) => readFileSync(path.join(HOOKS, f), 'utf8').split('# Where the server is:')[1];
  t.ok(body('post-update'));
  t.equal(body('post-update'), body('post-receive-notify.sh'));
});
