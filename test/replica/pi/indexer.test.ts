/**
 * grok-pi-indexer as a process with the real public-inbox: one line per inbox, exit 1 when one could
 * not be registered or indexed (and the next hook call retries it), and a clear one-line error when
 * public-inbox is not installed.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../../helpers/cli.js';
import { BIN } from '../../helpers/fixture.js';
import { git } from '../../helpers/git.js';
import { message, PiOrigin, PI_MISSING, piSkip, publicInboxInstalled } from '../../helpers/public-inbox.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('without public-inbox on PATH: one line naming what to install, exit 1', async (t) => {
  const dir = tmpDir(t, 'grok-pi-nopi-');
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(git(['--exec-path']).trim() + '/git', path.join(bin, 'git'));
  const repo = path.join(dir, 'mirror/list/git/0.git');
  git(['init', '-q', '--bare', repo]);
  for (const args of [['update', repo], ['init'], ['extindex']]) {
    const res = await runBin(BIN['pi-indexer'], ['-c', path.join(dir, 'config'), '-t', path.join(dir, 'mirror'), ...args], { env: { PATH: bin }, input: `${repo}\n` });
    t.equal(res.code, 1, `${args[0]}: exit 1`);
    t.match(res.stderr, /^grok-pi-indexer: error: public-inbox-(init|extindex) not found in PATH: install public-inbox 1\.6 or later \(Debian: apt-get install public-inbox\) \[GROK_ERR_PI_TOOL\]\n$/, `${args[0]}: one line`);
  }
});

t.test('init and update: one line per inbox, a failure is exit 1 and retried by the next update', { skip: piSkip }, async (t) => {
  if (!publicInboxInstalled) return void t.fail(PI_MISSING);
  const dir = tmpDir(t, 'grok-pi-idx-');
  const o = new PiOrigin(path.join(dir, 'origin'));
  for (const list of ['alpha', 'beta']) {
    o.init(list);
    o.add(list, [1, 2, 3].map((n) => message(list, n, 1_700_000_000 + n * 60)));
  }
  o.setOrigins('alpha', 0, '[publicinbox "alpha"]\n\taddress = alpha@example.org\n\tdescription = Alpha list\n');
  const top = path.join(dir, 'mirror');
  const repo = (list: string) => path.join(top, list, 'git/0.git');
  for (const list of ['alpha', 'beta']) git(['clone', '-q', '--mirror', o.epochRepo(list, 0), repo(list)]);
  const piConfig = path.join(dir, 'pi-config');
  const idx = (args: string[], input?: string) =>
    runBin(BIN['pi-indexer'], ['-c', piConfig, '-t', top, '-L', 'basic', '--no-fsync', ...args], { env: { HOME: dir }, ...(input !== undefined ? { input } : {}) });

  // beta has no refs/meta/origins and its origin does not answer: not registered, exit 1; alpha is.
  const init = await idx(['init', '--origin-hostname', 'http://127.0.0.1:9/'], `${repo('alpha')}\n${repo('beta')}\n`);
  t.equal(init.code, 1, 'exit 1: one inbox failed');
  t.match(init.stdout, new RegExp(`^${path.join(top, 'alpha')}: registered with public-inbox as alpha and indexed in [\\d.]+ s\\n$`), 'one line for alpha');
  t.match(init.stderr, new RegExp(`${path.join(top, 'beta')}: not registered: no refs/meta/origins in its epochs, and http://127\\.0\\.0\\.1:9/beta/_/text/config/raw: `), 'one line for beta');
  t.equal(git(['config', '--file', piConfig, 'publicinbox.alpha.address']).trim(), 'alpha@example.org');
  t.equal(readFileSync(path.join(top, 'alpha/description'), 'utf8'), 'Alpha list');
  t.ok(existsSync(path.join(top, 'alpha/msgmap.sqlite3')), 'alpha indexed');
  t.notOk(existsSync(path.join(top, 'beta/msgmap.sqlite3')), 'beta not');

  // The origin now has beta's config: the next update of beta registers it with the options init was given.
  git([`--git-dir=${repo('beta')}`, 'fetch', '-q', o.epochRepo('beta', 0), '+refs/heads/*:refs/heads/*']);
  o.setOrigins('beta', 0, '[publicinbox "beta"]\n\taddress = beta@example.org\n');
  git([`--git-dir=${repo('beta')}`, 'fetch', '-q', o.epochRepo('beta', 0), '+refs/meta/*:refs/meta/*']);
  const retry = await idx(['update', repo('beta')]);
  t.equal(retry.code, 0, retry.stderr);
  t.match(retry.stdout, /beta: registered with public-inbox as beta and indexed/);
  t.equal(git(['config', '--file', piConfig, 'publicinbox.beta.address']).trim(), 'beta@example.org');

  // An index run that fails (a broken msgmap): exit 1, and nothing else is marked.
  const update = await idx(['update', repo('alpha')]);
  t.equal(update.code, 0, update.stderr);
  t.match(update.stdout, new RegExp(`^${path.join(top, 'alpha')}: indexed in [\\d.]+ s\\n$`));
  writeFileSync(path.join(top, 'alpha/msgmap.sqlite3'), 'not a database');
  const broken = await idx(['update', repo('alpha')]);
  t.equal(broken.code, 1);
  t.match(broken.stderr, /alpha: public-inbox-index failed \(exit \d+\): .*; the next update tries again/);
  // grokmirror's way out, from its manual: init --force-reinit on the inbox directory rebuilds it.
  const reinit = await idx(['init', '--force-reinit', path.join(top, 'alpha')]);
  t.equal(reinit.code, 0, reinit.stderr);
  t.match(reinit.stdout, /alpha: registered with public-inbox as alpha and indexed/);
  t.equal((await idx(['update', repo('alpha')])).code, 0, 'and updates work again');
  t.equal(git(['config', '--file', piConfig, '--get-all', 'publicinbox.alpha.address']).trim(), 'alpha@example.org', 'registered once, not twice');
  const notEpoch = await idx(['update', path.join(top, 'alpha')]);
  t.equal(notEpoch.code, 0, 'a path that is not an epoch: nothing to do');
  t.match(notEpoch.stdout, /not a public-inbox epoch/);
});
