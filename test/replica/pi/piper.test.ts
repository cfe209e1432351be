/**
 * grok-pi-piper as a process on public-inbox v2 epochs laid out as a mirror holds them
 * (`<list>/git/<N>.git`, one message per commit as `m`, deletions as `d`), written with git
 * fast-import so that each case takes well under a second: every message piped once and in order, a
 * failing command and a killed run leaving the rest for the next run, deletions and purges skipped, a
 * rewritten epoch resumed where piping stopped, a new epoch piped from its start, `shallow = yes`
 * pruned and still fetchable, -d, -l, pipe = None, and a clear error for a pipe that cannot run.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { runBin } from '../../helpers/cli.js';
import { BIN } from '../../helpers/fixture.js';
import { fsckOk, git, gitDir } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

const BASE = 1_700_000_000;
type Op = { readonly id: number; readonly kind?: 'm' | 'd' | 'purged' };

const raw = (list: string, id: number) => `From: p${id} <p${id}@example.org>\nTo: ${list}@example.org\nSubject: ${list} ${id}\nMessage-ID: <${list}-${id}@example.org>\n\nbody ${id}\n`;

function tip(repo: string): string | null {
  try {
    return gitDir(repo, ['rev-parse', '-q', '--verify', 'refs/heads/master^{commit}']).trim() || null;
  } catch {
    return null;
  }
}

/** Appends commits to `ref` (default master) of an epoch, creating it when needed; `from` replaces the parent. */
function commit(repo: string, list: string, ops: readonly Op[], opts: { from?: string | null; date?: number } = {}): void {
  if (!existsSync(repo)) git(['init', '-q', '--bare', repo]);
  const parent = opts.from === undefined ? tip(repo) : opts.from;
  let date = opts.date ?? BASE + Number(gitDir(repo, ['rev-list', '--count', '--all']) || '0') * 60;
  const lines: string[] = [];
  ops.forEach((op, i) => {
    const body = op.kind === 'purged' ? '' : raw(list, op.id);
    const file = op.kind === 'd' ? 'd' : 'm';
    date += 60;
    const msg = `${list} ${op.id}${op.kind === 'd' ? ' (deleted)' : ''}\n`;
    lines.push('commit refs/heads/master', `mark :${i + 1}`, `committer P <p@example.org> ${date} +0000`, `data ${Buffer.byteLength(msg)}`, msg);
    if (i === 0) lines.push(parent ? `from ${parent}` : 'from 0000000000000000000000000000000000000000');
    // public-inbox's tree holds only the last file written.
    lines.push('deleteall', `M 100644 inline ${file}`, `data ${Buffer.byteLength(body)}`, body);
  });
  git([`--git-dir=${repo}`, 'fast-import', '--quiet', '--force'], { input: `${lines.join('\n')}\n` });
}

function setup(t: Test, conf = '') {
  const dir = tmpDir(t, 'grok-piper-');
  const log = path.join(dir, 'piped.log');
  const sink = path.join(dir, 'sink.sh');
  // Records "<tag> <Message-ID>"; fails on a Message-ID listed in fail.txt; kills grok-pi-piper (its
  // parent) on one listed in kill.txt, before recording it.
  writeFileSync(
    sink,
    `#!/bin/sh\nid=$(sed -n 's/^Message-ID: *//p' | head -n 1)\n` +
      `if [ -f '${dir}/kill.txt' ] && grep -qF "$id" '${dir}/kill.txt'; then rm -f '${dir}/kill.txt'; kill -9 $PPID; exit 1; fi\n` +
      `if [ -f '${dir}/fail.txt' ] && grep -qF "$id" '${dir}/fail.txt'; then echo "refused $id" >&2; exit 75; fi\n` +
      `echo "$1 $id" >> '${log}'\n`,
  );
  chmodSync(sink, 0o755);
  const cfg = path.join(dir, 'pi-piper.conf');
  writeFileSync(cfg, `[DEFAULT]\npipe = ${sink} all\nshallow = no\n${conf.replaceAll('SINK', sink)}`);
  const top = path.join(dir, 'mirror');
  mkdirSync(top);
  const epoch = (list: string, n: number) => path.join(top, list, 'git', `${n}.git`);
  const run = (repo: string, ...flags: string[]) => runBin(BIN['pi-piper'], ['-c', cfg, ...flags, repo]);
  const piped = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return { dir, log, cfg, epoch, run, piped };
}
const ids = (list: string, ns: number[], tag = 'all') => ns.map((n) => `${tag} <${list}-${n}@example.org>`);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const ms = (ns: number[]): Op[] => ns.map((id) => ({ id }));

t.test('each new message piped once, in order; deletions and purges skipped', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms(range(1, 5)));
  const first = await s.run(e0);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /following from [0-9a-f]{12} \(a list not followed before\); nothing piped/);
  t.same(s.piped(), [], 'the first run pipes nothing (grokmirror\'s initial setup)');
  t.equal(readFileSync(path.join(e0, 'pi-piper.latest'), 'utf8'), gitDir(e0, ['rev-parse', 'master']), "grokmirror's state file written, without a newline");
  commit(e0, 'lkml', [{ id: 6 }, { id: 2, kind: 'd' }, { id: 7 }, { id: 8, kind: 'purged' }, { id: 9 }]);
  const second = await s.run(e0);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, /piped 3 messages, 1 deletion skipped, 1 purged skipped/);
  t.same(s.piped(), ids('lkml', [6, 7, 9]));
  const again = await s.run(e0);
  t.match(again.stdout, /piped 0 messages/);
  t.same(s.piped(), ids('lkml', [6, 7, 9]), 'nothing twice');
  t.equal(readFileSync(path.join(e0, 'pi-piper.latest'), 'utf8'), gitDir(e0, ['rev-parse', 'master']));
});

t.test('a failing pipe command: exit 1, the message and those after it left for the next run', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms([1]));
  await s.run(e0);
  commit(e0, 'lkml', ms(range(2, 6)));
  writeFileSync(path.join(s.dir, 'fail.txt'), '<lkml-4@example.org>\n');
  const failed = await s.run(e0);
  t.equal(failed.code, 1);
  t.match(failed.stderr, /piped 2 messages; .*sink\.sh failed on [0-9a-f]{40} \(exit 75\): refused <lkml-4@example\.org>; it and what follows are left for the next run/);
  t.same(s.piped(), ids('lkml', [2, 3]));
  const failedAgain = await s.run(e0);
  t.equal(failedAgain.code, 1, 'still failing: still exit 1');
  rmSync(path.join(s.dir, 'fail.txt'));
  const ok = await s.run(e0);
  t.equal(ok.code, 0, ok.stderr);
  t.same(s.piped(), ids('lkml', range(2, 6)), 'the rest, once each, in order');
});

t.test('a run killed while piping: that message is piped again next time, none skipped', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms([1]));
  await s.run(e0);
  commit(e0, 'lkml', ms(range(2, 6)));
  writeFileSync(path.join(s.dir, 'kill.txt'), '<lkml-4@example.org>\n');
  const killed = await s.run(e0);
  t.not(killed.code, 0, 'the piper was killed');
  t.same(s.piped(), ids('lkml', [2, 3]));
  const state = JSON.parse(readFileSync(`${e0}.pi-piper.json`, 'utf8')) as { inflight?: string };
  t.ok(state.inflight, 'the state names the message being piped');
  const next = await s.run(e0, '-v');
  t.equal(next.code, 0, next.stderr);
  t.match(next.stderr, /was being piped when a run was stopped; piping it again/);
  t.same(s.piped(), ids('lkml', range(2, 6)));
});

t.test('a rewritten epoch (a purge, a force push) resumes after the newest message already piped', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms(range(1, 2)));
  await s.run(e0);
  commit(e0, 'lkml', ms(range(3, 6)));
  await s.run(e0);
  t.same(s.piped(), ids('lkml', range(3, 6)));
  // public-inbox-purge of message 4: its blob emptied, every later commit rewritten; then a new one.
  const base = gitDir(e0, ['rev-parse', 'master~3']);
  commit(e0, 'lkml', [{ id: 4, kind: 'purged' }, { id: 5 }, { id: 6 }, { id: 7 }], { from: base, date: BASE + 10_000 });
  const res = await s.run(e0, '-v');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stderr, /history rewritten .* resuming after [0-9a-f]{12}, the newest message already piped/);
  t.same(s.piped(), ids('lkml', range(3, 7)), 'only the new message');
  t.ok(fsckOk(e0).ok);
});

t.test('a new epoch of a followed list is piped from its first message; an older one pipes nothing', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms(range(1, 3)));
  await s.run(e0);
  commit(e0, 'lkml', ms([4]));
  await s.run(e0);
  const e1 = s.epoch('lkml', 1);
  commit(e1, 'lkml', ms(range(5, 8)));
  const res = await s.run(e1);
  t.equal(res.code, 0, res.stderr);
  t.same(s.piped(), ids('lkml', range(4, 8)));
  // Another list, cloned with two epochs at once: neither is piped, the newer is followed from its tip.
  const o1 = s.epoch('other', 1);
  commit(s.epoch('other', 0), 'other', ms([1]));
  commit(o1, 'other', ms([2]));
  t.match((await s.run(s.epoch('other', 0))).stdout, /an older epoch: a newer one is already here/);
  await s.run(o1);
  commit(o1, 'other', ms([3]));
  await s.run(o1);
  t.same(s.piped(), [...ids('lkml', range(4, 8)), ...ids('other', [3])]);
});

t.test('pi-piper.conf sections, pipe = None, -d and -l', async (t) => {
  const s = setup(t, '\n[lkml]\npipe = SINK lkml\n\n[quiet]\npipe = None\n');
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms(range(1, 4)));
  const q = s.epoch('quiet', 0);
  commit(q, 'quiet', ms([1]));
  const none = await s.run(q);
  t.equal(none.code, 0);
  t.notOk(existsSync(`${q}.pi-piper.json`) || existsSync(path.join(q, 'pi-piper.latest')), 'pipe = None touches nothing');
  const dryFirst = await s.run(e0, '-d');
  t.match(dryFirst.stdout, /would start following .* \[dry run\]/);
  t.notOk(existsSync(`${e0}.pi-piper.json`), 'a dry run writes no state');
  await s.run(e0);
  commit(e0, 'lkml', ms(range(5, 6)));
  const dry = await s.run(e0, '--dry-run');
  t.match(dry.stdout, /would pipe 2 messages \[dry run\]/);
  t.same(s.piped(), [], 'a dry run pipes nothing');
  const last = await s.run(e0, '-l', '3');
  t.equal(last.code, 0, last.stderr);
  t.same(s.piped(), ids('lkml', [4, 5, 6], 'lkml'), '-l 3: the last three, through the [lkml] pipe');
  t.match((await s.run(e0)).stdout, /piped 0 messages/, 'and they count as piped');
  const bad = await runBin(BIN['pi-piper'], ['-c', s.cfg, '-l', 'x', e0]);
  t.equal(bad.code, 2, '-l takes a number');
});

t.test('a pipe that cannot run, an unreadable config: one clear line, exit 1', async (t) => {
  const s = setup(t);
  const e0 = s.epoch('lkml', 0);
  commit(e0, 'lkml', ms([1]));
  writeFileSync(s.cfg, '[DEFAULT]\npipe = /nonexistent/procmail -x\n');
  const res = await s.run(e0);
  t.equal(res.code, 1);
  t.match(res.stderr, /cannot execute \/nonexistent\/procmail \(pipe = \/nonexistent\/procmail -x\)/);
  t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
  // A damaged state file: named, nothing piped, nothing overwritten.
  writeFileSync(s.cfg, `[DEFAULT]\npipe = /bin/cat\n`);
  writeFileSync(`${e0}.pi-piper.json`, '{"commit": "not an id"');
  const damaged = await s.run(e0);
  t.equal(damaged.code, 1);
  t.match(damaged.stderr, /0\.git\.pi-piper\.json: not valid JSON; move it aside to start this repository afresh/);
  t.equal(readFileSync(`${e0}.pi-piper.json`, 'utf8'), '{"commit": "not an id"', 'left as it was');
  const missing = await runBin(BIN['pi-piper'], ['-c', path.join(s.dir, 'nope.conf'), e0]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.conf: cannot read config file/);
});

t.test('shallow = yes: the piped history pruned, the repository still takes fetches', async (t) => {
  const s = setup(t, '\n[lkml]\nshallow = yes\n');
  const origin = path.join(s.dir, 'origin', 'lkml', 'git', '0.git');
  commit(origin, 'lkml', ms(range(1, 5)));
  const e0 = s.epoch('lkml', 0);
  git(['clone', '-q', '--mirror', origin, e0]);
  await s.run(e0);
  t.equal(readFileSync(path.join(e0, 'shallow'), 'utf8').trim(), gitDir(e0, ['rev-parse', 'master']), 'cut at the tip on the first run');
  t.equal(gitDir(e0, ['rev-list', '--count', 'master']), '1');
  commit(origin, 'lkml', ms(range(6, 8)));
  gitDir(e0, ['fetch', '-q', 'origin']);
  const res = await s.run(e0);
  t.equal(res.code, 0, res.stderr);
  t.same(s.piped(), ids('lkml', range(6, 8)));
  t.equal(gitDir(e0, ['rev-list', '--count', 'master']), '1', 'pruned again after piping');
  t.ok(fsckOk(e0).ok, 'git fsck');
  gitDir(e0, ['fetch', '-q', '--deepen', '2', 'origin', 'master']);
  t.equal(gitDir(e0, ['rev-list', '--count', 'master']), '3', '--deepen brings old messages back');
});
