import { rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { PullEvents } from '../../replica/events.js';
import { runPull } from '../../replica/run.js';
import { pullTargets } from '../../replica/targeted.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { fsckOk, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

/** Every event as [name, argument], in order. */
function recorder() {
  const seen: [string, Record<string, unknown>][] = [];
  const events: Required<PullEvents> = {
    onPassStart: (a) => void seen.push(['start', { ...a }]),
    onManifestChecked: (a) => void seen.push(['check', { ...a }]),
    onPlan: (a) => void seen.push(['plan', { ...a }]),
    onRepoDone: (a) => void seen.push(['repo', { ...a }]),
    onPassDone: (a) => void seen.push(['done', { ...a }]),
  };
  return { seen, events, take: () => seen.splice(0) };
}

const deps = (events: PullEvents) => ({ git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {}, events });
const opts = { force: false, purge: false, forcePurge: false };

t.test('a full pass reports its manifest check, plan, each repository once, and a summary', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const r of ['a.git', 'b.git', 'c.git']) makeRepo(path.join(top, r));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  const rec = recorder();

  await runPull(config, opts, deps(rec.events));
  const first = rec.take();
  t.same(first.map(([n]) => n), ['start', 'check', 'plan', 'repo', 'repo', 'repo', 'done']);
  t.match(first[0], ['start', { kind: 'full' }]);
  t.match(first[1], ['check', { status: 'fetched' }]);
  t.match(first[2], ['plan', { kind: 'full', total: 3, purge: 0 }]);
  const repos = first.filter(([n]) => n === 'repo').map(([, r]) => r);
  t.same(repos.map((r) => r.key).sort(), ['/a.git', '/b.git', '/c.git'], 'onRepoDone once per repository');
  for (const r of repos) {
    t.match(r, { op: 'init', result: 'cloned', ok: true });
    t.ok((r.bytes as number) > 0 && (r.ms as number) >= 0, `${String(r.key)}: bytes and time`);
  }
  t.match(first[6], ['done', { kind: 'full', status: 'done', cloned: 3, updated: 0, failed: 0, held: 3 }]);

  pushCommit(path.join(top, 'b.git'), { branch: 'more' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/b.git'] } });
  await runPull(config, opts, deps(rec.events));
  const second = rec.take();
  t.match(second[2], ['plan', { total: 1 }]);
  t.match(second[3], ['repo', { key: '/b.git', op: 'update', result: 'updated', ok: true }]);
  t.ok((second[3]![1].bytes as number) > 0, 'the fetch brought bytes');
  t.match(second[4], ['done', { status: 'done', updated: 1, held: 3 }]);
  t.ok(fsckOk(path.join(mirror, 'b.git')).ok);

  await runPull(config, opts, deps(rec.events));
  const third = rec.take();
  t.same(third.map(([n]) => n), ['start', 'check', 'done'], 'unchanged: no plan, no repositories');
  t.match(third[1], ['check', { status: 'unchanged' }]);
  t.match(third[2], ['done', { status: 'unchanged', cloned: 0 }]);
  t.notOk('held' in third[2]![1], 'the local manifest was not read');

  // Notices: the targeted path reports the same way; a repository gone from the origin's disk fails.
  pushCommit(path.join(top, 'a.git'));
  const res = await pullTargets(config, [{ key: '/a.git' }, { key: '/nosuch.git' }], deps(rec.events));
  t.same(res.ignored, ['/nosuch.git']);
  const fourth = rec.take();
  t.same(fourth.map(([n]) => n), ['start', 'plan', 'repo', 'done']);
  t.match(fourth, [['start', { kind: 'targeted' }], ['plan', { kind: 'targeted', total: 1 }], ['repo', { key: '/a.git', result: 'updated' }], ['done', { kind: 'targeted', status: 'done', updated: 1, held: 3 }]]);

  rmSync(path.join(top, 'c.git'), { recursive: true, force: true });
  await pullTargets(config, [{ key: '/c.git' }], deps(rec.events));
  t.match(rec.take(), [['start', {}], ['plan', { total: 1 }], ['repo', { key: '/c.git', op: 'update', result: 'failed', ok: false, error: /^fatal: .*\(git .*\bfetch -q/ }], ['done', { status: 'done', failed: 1 }]]);
});

t.test('a manifest that cannot be read: a failed check and a failed pass, and the error still reaches the caller', async (t) => {
  const config = replicaConfig(path.join(tmpDir(t), 'mirror'), 'http://127.0.0.1:9');
  const rec = recorder();
  await t.rejects(runPull(config, opts, deps(rec.events)));
  const seen = rec.take();
  t.same(seen.map(([n]) => n), ['start', 'check', 'done']);
  t.match(seen[1], ['check', { status: 'failed', error: /127\.0\.0\.1:9/ }]);
  t.match(seen[2], ['done', { kind: 'full', status: 'failed', error: /127\.0\.0\.1:9/ }]);
});

t.test('observers that throw change nothing about the pass', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const boom = () => {
    throw new Error('observer on fire');
  };
  const res = await runPull(replicaConfig(path.join(dir, 'mirror'), origin.url), opts, deps({ onPassStart: boom, onManifestChecked: boom, onPlan: boom, onRepoDone: boom, onPassDone: boom }));
  t.same(res.cloned, ['/a.git']);
  t.same(res.failed, []);
});
