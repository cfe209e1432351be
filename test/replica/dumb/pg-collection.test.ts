/**
 * Objects from the whole collection with the state in PostgreSQL (`--state postgres://... --collection`,
 * pg-tips.ts) on a real cluster: three forks end in one objstore, every mirror a member, fsck clean
 * and nothing for grok-fsck to regroup; the tip rows carry this toplevel's id, and another toplevel's
 * row (a path that does not exist here, which this worker would otherwise find gone and forget) is
 * neither used nor forgotten. (The SQLite store's cases: collection-cases.slow.test.ts.)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openPgState } from '../../../replica/dumb/pg-state.js';
import { pgTipIndex, toplevelId } from '../../../replica/dumb/pg-tips.js';
import { runList } from '../../../replica/dumb/run-list.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import { readMembers } from '../../../shared/objstore/index.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../../helpers/git.js';
import { pgSkip, startPostgres } from '../../helpers/postgres.js';
import { tmpDir } from '../../helpers/tmp.js';

// Joins take the objstore's lock one at a time: slow on a loaded 2-core machine.
t.setTimeout(1_800_000);

const OTHER = 'f'.repeat(32);
const tipsIn = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname)', 'refs/heads/', 'refs/tags/']).split('\n');

t.test('--collection with a postgres:// state', { skip: pgSkip }, async (t) => {
  const cluster = await startPostgres(t);
  cluster.psql('CREATE DATABASE coll');
  const url = cluster.url({ db: 'coll', password: 'pw' });
  const dir = tmpDir(t);
  const up = path.join(dir, 'up');
  makeRepo(path.join(up, 'upstream.git'), { commits: 5 });
  gitDir(path.join(up, 'upstream.git'), ['tag', 'v1', 'master']);
  const forks: string[] = [];
  for (let i = 0; i < 3; i++) {
    const f = path.join(up, `fork${i}.git`);
    git(['clone', '-q', '--bare', '--no-local', path.join(up, 'upstream.git'), f]);
    pushCommit(f, { message: `fork ${i}`, date: 1_700_000_000 + i });
    forks.push(f);
  }
  const top = path.join(dir, 'mirror');
  mkdirSync(top, { recursive: true });
  // Another toplevel's row: the upstream's tips at a path that does not exist on this machine.
  const elsewhere = path.join(top, 'file', 'elsewhere.git');
  {
    const st = await openPgState(url);
    await pgTipIndex(st.conn, OTHER).record(elsewhere, tipsIn(path.join(up, 'upstream.git')));
    await st.close();
  }
  const list = path.join(dir, 'urls.txt');
  writeFileSync(list, forks.map((r) => `file://${r}`).join('\n') + '\n');
  await runList(
    {
      listFile: list, toplevel: top, stateFile: url, legacyStateFile: null, manifestFile: null, jobs: 4, perHost: 4, attempts: 1, backoffMs: 0,
      lsRemoteTimeoutMs: 60_000, postUpdateHook: [], detect: true, allowFile: true, refProbe: 'git', checkpointMs: 60_000,
      schedule: { firstMs: 3_600_000, maxMs: 86_400_000 }, all: true, objstoreDir: path.join(top, 'objstore'),
      fleet: { shards: null, leaseMs: 300_000, batch: 500 },
    },
    { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} },
  );
  const mirrorOf = (repo: string) => path.join(top, 'file', repo);
  const stores = existsSync(path.join(top, 'objstore')) ? readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.')) : [];
  t.equal(stores.length, 1, 'one objstore');
  const store = path.join(top, 'objstore', stores[0]!);
  t.same((await readMembers(store)).sort(), forks.map(mirrorOf).sort(), 'all three are members');
  for (const f of forks) t.ok(fsckOk(mirrorOf(f)).ok, `${path.basename(f)} fsck clean`);
  const res = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  t.same((res.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n)), [], 'nothing to regroup');

  const id = await toplevelId(top);
  t.not(id, OTHER);
  const scopes = cluster.psql('SELECT scope, count(DISTINCT path) FROM dumb_tips GROUP BY scope ORDER BY scope', 'coll').split('\n');
  t.same(scopes, [`${id}|3`, `${OTHER}|1`].sort(), "this toplevel's three mirrors under its id; the other toplevel's row still there");
  const st = await openPgState(url);
  t.teardown(() => st.close());
  t.equal(await pgTipIndex(st.conn, OTHER).lookup(tipsIn(path.join(up, 'upstream.git'))), elsewhere, 'neither forgotten nor replaced');
  t.equal(await pgTipIndex(st.conn, id).lookup(tipsIn(forks[2]!)), mirrorOf(forks[2]!), 'lookups in this scope name this toplevel\'s mirrors');
});
