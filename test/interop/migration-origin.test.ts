/**
 * Switching an origin from grokmirror to ours and back, on the same toplevel with the same config:
 * grokmirror's grok-manifest walk and grok-fsck (forks into objstores, forkgroups in the manifest),
 * then ours, then grokmirror's again. Objstores stay (same inodes), `git fsck --strict` is clean
 * everywhere, each tool takes the other's manifest and fsck status file, and at every step a walk by
 * either tool gives the same manifest.
 */
import { copyFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/fixture.js';
import { strictFsckProblem } from './collection.js';
import { inodes, objstoreProblems, objstores, readRawManifest } from './mirror-check.js';
import { interopSuite, peerOk, runOurs, writeConf } from './peer.js';

const suite = interopSuite(t);
if (suite) {
  const { dir, c } = suite;
  const manifest = path.join(c.top, 'manifest.js.gz');
  const log = path.join(dir, 'shared.log');
  const statusFile = path.join(dir, 'fsck.status.js');
  const conf = writeConf(path.join(dir, 'origin.conf'), {
    core: { toplevel: c.top, manifest, log },
    fsck: { statusfile: statusFile },
  });
  const keys = c.keys.filter((k) => k !== c.space);
  const store = path.join(c.top, 'objstore');
  const watched = () => [...keys.map((k) => path.join(c.top, k)), ...objstores(store).map((n) => path.join(store, n))];
  const peerLines = (from: number) => readFileSync(log, 'utf8').slice(from).split('\n').filter((l) => /^(manifest|fsck)\[\d+\] /.test(l));

  /** A walk by each tool from the manifest as it is now: every difference between their results. */
  const walksDiffer = async (): Promise<string[]> => {
    const theirs = path.join(dir, 'their-walk.js.gz');
    copyFileSync(manifest, theirs);
    await peerOk('manifest', ['-m', theirs, '-t', c.top]);
    const r = await runOurs(BIN.manifest, ['--cfgfile', conf]);
    if (r.code !== 0) return [`our grok-manifest exited ${r.code}: ${r.stderr}`];
    const [a, b] = [readRawManifest(theirs), readRawManifest(manifest)];
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[k], Object.keys(a[k] ?? {}).sort()) !== JSON.stringify(b[k], Object.keys(b[k] ?? {}).sort())) out.push(`${k}: grokmirror ${JSON.stringify(a[k])}, ours ${JSON.stringify(b[k])}`);
    }
    return out;
  };
  const fsckProblems = () => keys.flatMap((k) => {
    const p = strictFsckProblem(path.join(c.top, k));
    return p ? [`${k}: ${p}`] : [];
  });
  let before: Record<string, number> = {};
  let stores: string[] = [];

  t.before(() => {
    // grokmirror cannot keep a path with a space in an objstore: it splits `git remote -v` on
    // whitespace, loses the member and, depending on the order it meets repositories in, makes a
    // second, empty objstore for it. Nor can it opt the repository out: its grok-fsck crashes on a
    // grokmirror.do-not-objstore file in a repository without alternates. So it is left out here.
    rmSync(path.join(c.top, c.space), { recursive: true });
  });

  t.test('grokmirror first: grok-manifest and grok-fsck', async (t) => {
    await peerOk('manifest', ['--cfgfile', conf, '-m', manifest, '-t', c.top]);
    await peerOk('fsck', ['-c', conf]);
    stores = objstores(store);
    t.equal(stores.length, 1, "grokmirror's grok-fsck put the siblings into an objstore");
    t.same(fsckProblems(), []);
    before = inodes(watched());
  });

  t.test('then ours: the same manifest, objstores kept', async (t) => {
    const diffs = await walksDiffer();
    t.same(diffs.filter((d) => !d.startsWith(c.controlOwner)), [], 'our walk of the manifest grokmirror left equals its own');
    t.same(diffs.filter((d) => d.startsWith(c.controlOwner)), [], 'the entry whose owner holds control characters too');
    const fsck = await runOurs(BIN.fsck, ['-c', conf, '-v']);
    t.equal(fsck.code, 0, fsck.stderr);
    t.notMatch(fsck.stderr, /(warning|error): /, "grokmirror's status file and objstore accepted");
    t.same(objstores(store), stores, 'objstores kept');
    t.same(inodes(watched()), before, 'nothing moved or recreated');
    t.same(fsckProblems(), []);
    t.same(objstoreProblems(store), []);
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as Record<string, unknown>;
    for (const k of keys) t.ok(status[path.join(c.top, k)], `${k}: in the status file`);
  });

  t.test('then grokmirror again: our manifest and status file are its own', async (t) => {
    const from = statSync(log).size;
    const diffs = await walksDiffer();
    t.same(diffs.filter((d) => !d.startsWith(c.controlOwner)), [], "grokmirror's walk of the manifest we left equals ours");
    await peerOk('fsck', ['-c', conf]);
    t.same(peerLines(from).filter((l) => / - (WARNING|ERROR|CRITICAL) - /.test(l)), [], 'no complaint from grokmirror');
    t.same(objstores(store), stores, 'objstores kept');
    t.same(inodes(watched()), before, 'nothing moved or recreated');
    t.same(fsckProblems(), []);
    t.same(objstoreProblems(store), []);
  });
}
