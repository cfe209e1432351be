import path from 'node:path';
import t from 'tap';
import { Git, GitError, untrusted } from '../../shared/git/index.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('commands outside the allow-list and dash-leading untrusted arguments are refused before spawning', async (t) => {
  const git = new Git({ bin: '/nonexistent/git' });
  await t.rejects(git.run({ args: ['receive-pack', '/x'] }), { code: 'GROK_ERR_GIT_SUBCOMMAND' });
  await t.rejects(git.run({ args: [untrusted('--upload-pack=touch /tmp/pwned')] }), { code: 'GROK_ERR_GIT_SUBCOMMAND' });
  for (const bad of ['--upload-pack=touch /tmp/x', '-oProxyCommand=x', 'a\nb', 'a\0b', '']) {
    await t.rejects(git.run({ args: ['fetch', untrusted(bad)] }), { code: 'GROK_ERR_GIT_ARGUMENT' }, JSON.stringify(bad));
  }
  await t.rejects(git.run({ args: ['version'] }), { code: 'GROK_ERR_GIT_SPAWN', message: /cannot run \/nonexistent\/git/ });
});

t.test('the environment is sanitised: a hook\'s GIT_DIR does not redirect our commands', async (t) => {
  const dir = tmpDir(t);
  const a = path.join(dir, 'a.git');
  const b = path.join(dir, 'b.git');
  const shaA = makeRepo(a);
  makeRepo(b, { date: 1_500_000_000 });
  const git = new Git({ env: { ...process.env, GIT_DIR: b, GIT_OBJECT_DIRECTORY: path.join(b, 'objects'), GIT_TERMINAL_PROMPT: '1' } });
  const out = (await git.run({ gitDir: a, args: ['rev-parse', 'HEAD'] })).stdout.toString().trim();
  t.equal(out, shaA);
  t.equal(fsckOk(a).ok, true);
});

t.test('a GitError shows an argument holding a space, a quote or a control character as one quoted, escaped word', async (t) => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['gitweb.owner=A B', '"gitweb.owner=A B"'],
    ['tab\there', '"tab\there"'], // a TAB is quoted, and kept: it forges no line
    ['esc \x1b[2J', '"esc \\x1b[2J"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', 'back\\slash'],
    ['c1 \u009b', '"c1 \\x9b"'],
  ];
  for (const [arg, shown] of cases) {
    const msg = new GitError(['clone', '-c', arg], 128, 'fatal: no').message;
    t.equal(msg, `fatal: no (git clone -c ${shown}, exit 128)`, JSON.stringify(arg));
  }
});

t.test('failures are GitErrors carrying stderr; accepted exit codes are answers', async (t) => {
  const dir = tmpDir(t);
  const a = path.join(dir, 'a.git');
  makeRepo(a);
  const git = new Git();
  const err = await git.run({ gitDir: a, args: ['rev-parse', '--verify', 'refs/heads/nope'] }).catch((e: unknown) => e);
  t.ok(err instanceof GitError);
  t.equal((err as GitError).exitCode, 128);
  t.match((err as GitError).message, /^fatal: Needed a single revision \(git rev-parse --verify refs\/heads\/nope in .*a\.git, exit 128\)$/, "git's words first, then the command");
  t.match((err as GitError).stderr, /Needed a single revision/);
  const res = await git.run({ gitDir: a, args: ['config', '--get', 'gitweb.owner'], okExit: [1] });
  t.equal(res.exitCode, 1);
});

t.test('lines() streams a large output and reports failures at the end', async (t) => {
  const dir = tmpDir(t);
  const a = path.join(dir, 'a.git');
  const sha = makeRepo(a);
  const input = Array.from({ length: 5000 }, (_, i) => `create refs/tags/t${i} ${sha}\n`).join('');
  const git = new Git();
  await git.run({ gitDir: a, args: ['update-ref', '--stdin'], input });
  let n = 0;
  for await (const line of git.lines({ gitDir: a, args: ['for-each-ref', '--format=%(refname)'] })) if (line.startsWith('refs/tags/t')) n++;
  t.equal(n, 5000);
  const consume = async () => {
    for await (const _ of git.lines({ gitDir: path.join(dir, 'missing.git'), args: ['for-each-ref'] })) void _;
  };
  await t.rejects(consume(), { code: 'GROK_ERR_GIT_FAILED' });
  t.equal(fsckOk(a).ok, true);
});

t.test('per-command config overrides: applied, and refused when malformed', async (t) => {
  const dir = tmpDir(t);
  const repo = path.join(dir, 'r.git');
  makeRepo(repo);
  const git = new Git();
  const out = await git.run({ gitDir: repo, config: { 'core.abbrev': '12' }, args: ['rev-parse', '--short', 'HEAD'] });
  t.equal(out.stdout.toString('utf8').trim().length, 12, '-c core.abbrev=12 took effect');
  await t.rejects(git.run({ gitDir: repo, config: { '--upload-pack=x': '1' }, args: ['version'] }), { code: 'GROK_ERR_GIT_ARGUMENT' });
  await t.rejects(git.run({ gitDir: repo, config: { 'core.abbrev': '1\n2' }, args: ['version'] }), { code: 'GROK_ERR_GIT_ARGUMENT' });
  t.ok(fsckOk(repo).ok);
});
