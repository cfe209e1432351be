/**
 * Issue 23 item 8, grok-bundle's output directory: bundle paths of different repositories must never
 * break each other (`/x.git` against `/x/clone.bundle.git` or `/x/.fingerprint.git`, `/a` against
 * `/a.git`, in either order and after an older version's layout), nothing is written or removed
 * through a symlink below the output directory, and an output directory inside the toplevel (or a
 * repository's refs/, or the objstore directory) is refused. grokmirror's layout
 * `<outdir>/<repo without .git>/clone.bundle` stays, for Android's repo tool and grok-origin.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { runBundle } from '../../replica/bundle/run.js';
import { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('bundle-layout', 'grok-bundle: colliding paths, symlinks and the output directory (issue 23 item 8)');

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) }) as Logger, lines };
}

/** A toplevel holding `keys` (each a repository with its own history) and its manifest. */
async function collection(dir: string, keys: readonly string[]) {
  const top = path.join(dir, 'top');
  keys.forEach((k, i) => makeRepo(path.join(top, k), { commits: 2 + i, file: `f${i}.txt` }));
  const manifest = path.join(top, 'manifest.js.gz');
  await runM(top, manifest);
  const out = path.join(dir, 'bundles');
  const core = { toplevel: top, manifest, manifest_max_size: 1 << 24, objstore: path.join(top, 'objstore') };
  const run = async () => {
    const { log, lines } = capture();
    const res = await runBundle(core, { outdir: out, gitargs: '', revlistargs: '--all', maxSizeGiB: 2, include: ['*'] }, { git: new Git(), log });
    return { res, lines };
  };
  return { top, manifest, out, run };
}

/** The refs a bundle carries, against the repository's. */
const heads = (bundle: string) => git(['bundle', 'list-heads', bundle]).split('\n').filter((l) => l.includes(' refs/')).sort().join('\n');
const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']).split('\n').sort().join('\n');
const bundleOf = (out: string, rel: string) => path.join(out, rel, 'clone.bundle');

for (const other of ['/x/clone.bundle.git', '/x/.fingerprint.git', '/x/clone.bundle', '/x/.clone.bundle.0a1b.tmp.git']) {
  t.test(`/x.git and ${other}: /x.git's bundle is made, ${other} is refused by name, every run`, async (t) => {
    const dir = tmpDir(t);
    const c = await collection(dir, ['/x.git', other]);
    for (const n of [1, 2]) {
      const { res, lines } = await c.run();
      const ok =
        ['written', 'unchanged'].includes(res.outcomes.get('/x.git')?.status ?? '') &&
        !res.outcomes.has(other) &&
        heads(bundleOf(c.out, 'x')) === refsOf(path.join(c.top, 'x.git')) &&
        lines.some((l) => l.includes(`skipped: ${other}`) && l.includes('grok-bundle\'s own files'));
      if (n === 1) table.add(`/x.git and ${other}`, `/x.git bundled; ${other} refused by name`, ok ? 'as expected' : `${JSON.stringify([...res.outcomes])} ${lines.join(' | ')}`.slice(0, 300), ok);
      t.ok(ok, `run ${n}: ${JSON.stringify([...res.outcomes])} ${lines.join(' | ')}`);
    }
  });
}

t.test('an older layout left /x/clone.bundle.git\'s bundle where /x.git\'s goes: cleared, then /x.git bundled', async (t) => {
  const dir = tmpDir(t);
  const c = await collection(dir, ['/x.git', '/x/clone.bundle.git']);
  // What the older code made when /x/clone.bundle.git came first: a directory in the way of x/clone.bundle.
  mkdirSync(path.join(c.out, 'x/clone.bundle'), { recursive: true });
  git([`--git-dir=${path.join(c.top, 'x/clone.bundle.git')}`, 'bundle', 'create', '-q', path.join(c.out, 'x/clone.bundle/clone.bundle'), '--all']);
  writeFileSync(path.join(c.out, 'x/clone.bundle/.fingerprint'), `${'0'.repeat(40)}\n`);
  const { res } = await c.run();
  const ok = res.outcomes.get('/x.git')?.status === 'written' && heads(bundleOf(c.out, 'x')) === refsOf(path.join(c.top, 'x.git'));
  table.add('an older layout\'s bundle directory in the way', 'removed as stale, /x.git bundled', ok ? `bundled; removed ${res.removed.join(', ')}` : JSON.stringify([...res.outcomes]), ok);
  t.ok(ok, JSON.stringify([...res.outcomes, res.removed]));
});

t.test('/a.git bundled first, then /a appears: the directory stays /a.git\'s, and grok-origin serves /a.git\'s bundle for both URLs', async (t) => {
  const dir = tmpDir(t);
  const c = await collection(dir, ['/a.git']);
  t.equal((await c.run()).res.outcomes.get('/a.git')?.status, 'written');
  makeRepo(path.join(c.top, 'a'), { commits: 6, file: 'other.txt' });
  await runM(c.top, c.manifest);
  const { res, lines } = await c.run();
  pushCommit(path.join(c.top, 'a.git'), { branch: 'later' });
  const again = await c.run();
  const ok =
    !res.outcomes.has('/a') &&
    lines.some((l) => l.includes('skipped: /a:') && l.includes("is /a.git's")) &&
    again.res.outcomes.get('/a.git')?.status === 'written' &&
    heads(bundleOf(c.out, 'a')) === refsOf(path.join(c.top, 'a.git'));
  table.add('/a.git bundled, then /a appears (and sorts first)', "the directory stays /a.git's; /a refused by name", ok ? 'as expected' : `${JSON.stringify([...res.outcomes])} ${lines.join(' | ')}`.slice(0, 300), ok);
  t.ok(ok, `${JSON.stringify([...res.outcomes, ...again.res.outcomes])} ${lines.join(' | ')}`);

  const origin = await startTestOrigin(t, c.top, { extra: `bundle_dir = ${c.out}\n` });
  const want = readFileSync(bundleOf(c.out, 'a'));
  const served: string[] = [];
  for (const url of ['/a/clone.bundle', '/a.git/clone.bundle', '/_grok/bundles/a/clone.bundle']) {
    const r = await origin.app.inject({ method: 'GET', url });
    served.push(`${url}: ${r.statusCode}${r.statusCode === 200 ? (r.rawPayload.equals(want) ? " /a.git's" : ' another') : ''}`);
  }
  const servedOk = served.every((s) => s.endsWith(" 200 /a.git's"));
  table.add('grok-origin, /a and /a.git sharing a directory', "/a.git's bundle at /a/clone.bundle, /a.git/clone.bundle and /_grok/bundles/a/clone.bundle", served.join('; '), servedOk);
  t.ok(servedOk, served.join('; '));
});

t.test('symlinks below the output directory are never followed, for writing or for removing', async (t) => {
  const dir = tmpDir(t);
  const c = await collection(dir, ['/pub/r.git', '/deep/er/s.git', '/planted.git', '/fine.git']);
  const elsewhere = path.join(dir, 'elsewhere');
  mkdirSync(path.join(elsewhere, 'er'), { recursive: true });
  mkdirSync(path.join(c.out, 'deep'), { recursive: true });
  symlinkSync(elsewhere, path.join(c.out, 'pub'));
  symlinkSync(path.join(elsewhere, 'er'), path.join(c.out, 'deep/er'));
  // A directory that looks bundled already, through a symlink: no "unchanged" shortcut either.
  mkdirSync(path.join(elsewhere, 'planted'));
  writeFileSync(path.join(elsewhere, 'planted/clone.bundle'), 'not a bundle');
  symlinkSync(path.join(elsewhere, 'planted'), path.join(c.out, 'planted'));
  // A stale bundle reached through a symlink: not ours to remove.
  mkdirSync(path.join(elsewhere, 'gone'));
  writeFileSync(path.join(elsewhere, 'gone/clone.bundle'), 'someone else\'s');
  symlinkSync(path.join(elsewhere, 'gone'), path.join(c.out, 'gone'));
  const { res } = await c.run();
  const written = readdirSync(elsewhere, { recursive: true }).map(String).sort();
  const failed = ['/pub/r.git', '/deep/er/s.git', '/planted.git'].every((k) => res.outcomes.get(k)?.status === 'failed' && /is a symlink/.test(JSON.stringify(res.outcomes.get(k))));
  const ok = failed && res.outcomes.get('/fine.git')?.status === 'written' && written.join(',') === 'er,gone,gone/clone.bundle,planted,planted/clone.bundle' && readFileSync(path.join(elsewhere, 'planted/clone.bundle'), 'utf8') === 'not a bundle';
  table.add('symlinked directories below the output directory (first level, deeper, a planted bundle, a stale one)', 'each of those repositories fails naming the symlink; nothing written or removed outside; the rest bundled', ok ? 'as expected' : `${JSON.stringify([...res.outcomes])}; outside now holds ${written.join(', ')}`.slice(0, 400), ok);
  t.ok(ok, `${JSON.stringify([...res.outcomes])}; outside: ${written.join(', ')}`);
});

t.test('-o inside the toplevel, a repository\'s refs/, or the objstore directory is refused', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'pub/a.git'));
  const manifest = path.join(top, 'manifest.js.gz');
  await runM(top, manifest);
  const objstore = path.join(dir, 'objstore');
  mkdirSync(objstore);
  const conf = path.join(dir, 'g.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\nobjstore = ${objstore}\nlog = ${path.join(dir, 'log')}\n`);
  symlinkSync(path.join(top, 'pub'), path.join(dir, 'looks-outside'));
  const cases: [string, string][] = [
    ['a new directory in the toplevel', path.join(top, 'bundles')],
    ["a repository's refs/heads", path.join(top, 'pub/a.git/refs/heads')],
    ['outside by name, inside through a symlink', path.join(dir, 'looks-outside/b')],
    ['the objstore directory (outside the toplevel)', path.join(objstore, 'b')],
    ['the toplevel itself', top],
  ];
  for (const [name, out] of cases) {
    const r = await runBin(BIN.bundle, ['-c', conf, '-o', out]);
    const ok = r.code === 2 && /may not be/.test(r.stderr) && !existsSync(path.join(top, 'pub/a.git/refs/heads/pub'));
    table.add(`-o ${name}`, 'refused (exit 2), nothing written', `exit ${r.code}: ${r.stderr.trim().split('\n').pop()}`, ok);
    t.ok(ok, `${name}: ${r.code} ${r.stderr}`);
  }
  t.equal(gitDir(path.join(top, 'pub/a.git'), ['for-each-ref', '--format=%(refname)']), 'refs/heads/master', 'no stray refs');
  const fine = await runBin(BIN.bundle, ['-c', conf, '-o', path.join(dir, 'out')]);
  t.equal(fine.code, 0, fine.stderr);
});

t.teardown(() => {
  table.write();
});
