import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { objectBytes, objectBytesAdded, objectsSnapshot } from '../../shared/repo/object-bytes.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';

/** Loose objects in most of the 256 fan-out directories, as a mirror that has fetched for a while holds. */
function looseObjects(repo: string, scratch: string, n: number): void {
  mkdirSync(scratch, { recursive: true });
  const files = Array.from({ length: n }, (_, i) => {
    const f = path.join(scratch, `o${i}`);
    writeFileSync(f, `loose object ${i}\n`);
    return f;
  });
  git(['--git-dir', repo, 'hash-object', '-w', '--stdin-paths'], { input: files.join('\n') + '\n' });
}

const fanoutDirs = (repo: string) => readdirSync(path.join(repo, 'objects')).filter((n) => /^[0-9a-f]{2}$/.test(n));

t.test("a fetch's bytes: its loose objects, not their neighbours; its pack; nothing when nothing came", async (t) => {
  const dir = t.testdir();
  const origin = path.join(dir, 'origin.git');
  makeRepo(origin, { commits: 3 });
  const mirror = path.join(dir, 'mirror.git');
  git(['clone', '-q', '--mirror', origin, mirror]);
  looseObjects(mirror, path.join(dir, 'scratch'), 1000);
  t.ok(fanoutDirs(mirror).length > 240, 'loose objects before the fetch in nearly every fan-out directory');
  // One tick of the file system's clock past the objects already there.
  await sleep(50);

  // A small push arrives loose (fetch.unpackLimit): its objects land beside the old ones.
  let before = objectsSnapshot(mirror);
  let total = objectBytes(mirror);
  pushCommit(origin, { date: 1_700_000_000 });
  pushCommit(origin, { date: 1_700_000_060 });
  gitDir(mirror, ['fetch', '-q', 'origin']);
  const loose = objectBytesAdded(mirror, before);
  t.ok(loose > 0, 'the fetch brought bytes');
  t.equal(loose, objectBytes(mirror) - total, 'exactly what every object file grew by: no old loose object counted');

  // A fetch kept as a pack.
  await sleep(50);
  before = objectsSnapshot(mirror);
  total = objectBytes(mirror);
  pushCommit(origin, { date: 1_700_000_120 });
  gitDir(mirror, ['-c', 'fetch.unpackLimit=1', 'fetch', '-q', 'origin']);
  const packed = objectBytesAdded(mirror, before);
  t.ok(packed > 0, 'a received pack counts');
  t.equal(packed, objectBytes(mirror) - total, 'the pack, and nothing else');

  // Nothing new at the origin.
  before = objectsSnapshot(mirror);
  gitDir(mirror, ['fetch', '-q', 'origin']);
  t.equal(objectBytesAdded(mirror, before), 0, 'an empty fetch brought nothing');

  t.ok(fsckOk(mirror).ok, 'git fsck');
});
