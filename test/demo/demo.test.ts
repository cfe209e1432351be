import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('the README\'s demo runs and reports what it did', async (t) => {
  const dir = tmpDir(t);
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/test/demo/demo.js'), '--dir', dir], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /repositories: {7}6 \(4 in one objstore, forkgroup [0-9a-f-]{36}\)/, 'grok-fsck grouped the upstream and its forks');
  const disk = /disk \(origin\): {6}(\d+) KiB before grok-fsck, (\d+) KiB after/.exec(r.stdout);
  t.ok(disk && Number(disk[2]) < Number(disk[1]), 'and the origin takes less disk afterwards');
  t.match(r.stdout, /\/pub\/linux\.git +[0-9a-f]{12} +symlinks \/pub\/linux-stable\.git; A pretend kernel tree/);
  t.match(r.stdout, /conditional GET: {4}304 before the push, 200 after it/);
  t.match(r.stdout, /clone over HTTP: {4}\/pub\/linux\.git, 40 commits/);
  t.match(r.stdout, /hook update: {8}fingerprint ([0-9a-f]{12}) -> (?!\1)[0-9a-f]{12}/, 'the push changed the served fingerprint');
  t.match(r.stdout, /replica: {12}6 repositories in .*replica \(grok-pull -o\)/, 'the replica mirrored the origin');
  t.match(r.stdout, /push to replica: {4}\d+ ms from the push to the new commit on the replica/, 'and the push arrived there');
});
