/**
 * Issue 16 item 5: grok-dumb-pull's list mode never puts a mirror inside another (`…/a.git` and
 * `…/a.git/refs/heads/x.git`: the second would be written into the first's refs/), inside an existing
 * repository, or around one. The refused URL is recorded `invalid` with the reason, the other mirror
 * is made or kept, and it stays sound (`git fsck`, no stray refs). Upstreams are local repositories
 * (file:// with --allow-file-urls), each with a history of its own.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runList } from '../../replica/dumb/run-list.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { CaseTable } from '../helpers/case-table.js';
import { readDumbState } from '../helpers/dumb-state.js';
import { fsckOk, gitDir, makeRepo } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('nested-mirrors', 'grok-dumb-pull list mode: no mirror inside another (issue 16 item 5)');

interface StateFile {
  repos: Record<string, { key?: string; state: string; lastError?: string }>;
}

/**
 * Upstreams at the given paths under `up`. `a` (no ".git") is mirrored at `…/a.git`, so an upstream at
 * `a.git/refs/heads/x.git` lands inside that mirror's refs/ without being inside the upstream `a`.
 */
function upstreams(dir: string, paths: readonly string[]): string {
  const up = path.join(dir, 'up');
  paths.forEach((p, i) => makeRepo(path.join(up, p), { commits: 1 + i, file: `f${i}.txt` }));
  return up;
}

async function sweep(dir: string, urls: readonly string[]): Promise<StateFile['repos']> {
  const list = path.join(dir, 'urls.txt');
  writeFileSync(list, `${urls.join('\n')}\n`);
  const state = path.join(dir, 'state.sqlite');
  await runList(
    {
      listFile: list,
      toplevel: path.join(dir, 'mirror'),
      stateFile: state,
      manifestFile: null,
      jobs: 4,
      perHost: 4,
      attempts: 1,
      backoffMs: 0,
      lsRemoteTimeoutMs: 60_000,
      postUpdateHook: [],
      detect: true,
      allowFile: true,
      refProbe: 'git',
      checkpointMs: 60_000,
      legacyStateFile: null,
      schedule: { firstMs: 3_600_000, maxMs: 86_400_000 },
      all: true,
    },
    { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} },
  );
  return readDumbState(state).repos;
}

/** Whether the mirror of an upstream path is there, sound, with exactly the upstream's refs (and nothing else under refs/). */
function sound(dir: string, up: string, p: string): boolean {
  const mirror = path.join(dir, 'mirror', 'file', up, p.endsWith('.git') ? p : `${p}.git`);
  if (!existsSync(mirror)) return false;
  const refs = (r: string) => gitDir(r, ['for-each-ref', '--format=%(objectname) %(refname)']);
  return fsckOk(mirror).ok && refs(mirror) === refs(path.join(up, p));
}

const url = (up: string, p: string) => `file://${path.join(up, p)}`;

for (const order of ['outer first', 'inner first'] as const) {
  t.test(`a.git and a.git/refs/heads/x.git in one list (${order}): the inner one is refused`, async (t) => {
    const dir = tmpDir(t);
    mkdirSync(path.join(dir, 'mirror'));
    const up = upstreams(dir, ['a', 'a.git/refs/heads/x.git']);
    const urls = [url(up, 'a'), url(up, 'a.git/refs/heads/x.git')];
    const s = await sweep(dir, order === 'outer first' ? urls : [...urls].reverse());
    const inner = s[urls[1]!];
    const ok = s[urls[0]!]?.state === 'fetched' && inner?.state === 'invalid' && /inside the mirror .*a\.git/.test(inner.lastError ?? '') && sound(dir, up, 'a');
    table.add(`one list, ${order}`, 'outer mirrored and sound; inner invalid, naming the outer', `${s[urls[0]!]?.state}; ${inner?.state}: ${inner?.lastError}`, ok);
    t.ok(ok, JSON.stringify(s));
  });
}

t.test('three levels in one list: only the outermost is mirrored', async (t) => {
  const dir = tmpDir(t);
  mkdirSync(path.join(dir, 'mirror'));
  const up = upstreams(dir, ['a.git', 'a.git/b.git', 'a.git/b.git/c.git']);
  const urls = ['a.git', 'a.git/b.git', 'a.git/b.git/c.git'].map((p) => url(up, p));
  const s = await sweep(dir, urls);
  const states = urls.map((u) => s[u]?.state);
  const ok = states.join() === 'fetched,invalid,invalid' && sound(dir, up, 'a.git');
  table.add('three levels, one list', 'outermost mirrored; the two inside invalid', states.join(', '), ok);
  t.ok(ok, JSON.stringify(s));
});

t.test('across sweeps: a mirror made earlier is never nested into, nor wrapped', async (t) => {
  const dir = tmpDir(t);
  mkdirSync(path.join(dir, 'mirror'));
  const up = upstreams(dir, ['a', 'a.git/refs/heads/x.git', 'b', 'b.git/refs/tags/y.git']);
  const [a, ax, b, by] = ['a', 'a.git/refs/heads/x.git', 'b', 'b.git/refs/tags/y.git'].map((p) => url(up, p)) as [string, string, string, string];

  // Sweep 1: only a.git's inner one and b.git.
  let s = await sweep(dir, [ax, b]);
  t.same([s[ax]?.state, s[b]?.state], ['fetched', 'fetched']);
  // Sweep 2: both of each pair. a.git would wrap the existing inner mirror; b.git's inner one would go into b.git.
  s = await sweep(dir, [a, ax, b, by]);
  const rows: [string, string, boolean][] = [
    ['the outer URL of an inner mirror made earlier (same list)', `${s[a]?.state}: ${s[a]?.lastError}`, s[a]?.state === 'invalid' && /would contain the mirror/.test(s[a]?.lastError ?? '') && sound(dir, up, 'a.git/refs/heads/x.git')],
    ['an inner URL of a mirror made earlier (same list)', `${s[by]?.state}: ${s[by]?.lastError}`, s[by]?.state === 'invalid' && /inside the mirror/.test(s[by]?.lastError ?? '') && sound(dir, up, 'b')],
  ];
  // Sweep 3: each alone, in a list of its own: the disk alone tells.
  s = await sweep(dir, [a]);
  rows.push(['the outer URL alone, its inner mirror on disk', `${s[a]?.state}: ${s[a]?.lastError}`, s[a]?.state === 'invalid' && /would contain the repository/.test(s[a]?.lastError ?? '') && sound(dir, up, 'a.git/refs/heads/x.git')]);
  s = await sweep(dir, [by]);
  rows.push(['an inner URL alone, its outer mirror on disk', `${s[by]?.state}: ${s[by]?.lastError}`, s[by]?.state === 'invalid' && /inside the repository/.test(s[by]?.lastError ?? '') && sound(dir, up, 'b')]);
  for (const [name, result, ok] of rows) {
    table.add(name, 'refused (invalid), naming the other; the existing mirror sound', result, ok);
    t.ok(ok, `${name}: ${result}`);
  }
  t.notOk(existsSync(path.join(dir, 'mirror/file', up, 'b.git/refs/tags/y.git')), 'nothing was written into b.git');
});

t.teardown(() => {
  table.write();
});
