import t from 'tap';
import { parseCountObjects, repackLevel } from '../../shared/repo/repack-level.js';

t.test('repack levels (grokmirror thresholds)', async (t) => {
  const c = (o: Partial<Record<'count' | 'size' | 'inPack' | 'packs' | 'sizePack', number>>) => ({ count: 0, size: 0, inPack: 0, packs: 1, sizePack: 0, ...o });
  const rows: [string, ReturnType<typeof c>, string][] = [
    ['tidy', c({ inPack: 5000, sizePack: 4000 }), 'none'],
    ['20 packs', c({ packs: 20, inPack: 10 }), 'full'],
    ['1200 loose', c({ count: 1200, inPack: 1_000_000 }), 'quick'],
    ['10% loose of > 500 objects', c({ count: 60, inPack: 540 }), 'quick'],
    ['10% loose but only 100 objects', c({ count: 10, inPack: 90 }), 'none'],
    ['10% of > 1 MiB loose by size', c({ size: 200, sizePack: 1000 }), 'quick'],
    ['small and loose', c({ size: 100, sizePack: 100 }), 'none'],
  ];
  for (const [name, counts, want] of rows) t.equal(repackLevel(counts), want, name);
  // Rows exactly at each threshold, and one step either side.
  const edges: [string, ReturnType<typeof c>, string][] = [
    ['19 packs', c({ packs: 19, inPack: 10 }), 'none'],
    ['1199 loose among many packed', c({ count: 1199, inPack: 1_000_000 }), 'none'],
    ['exactly 500 objects, 10% loose', c({ count: 50, inPack: 450 }), 'none'],
    ['501 objects, 10.2% loose', c({ count: 51, inPack: 450 }), 'quick'],
    ['600 objects, exactly 10% loose', c({ count: 60, inPack: 540 }), 'quick'],
    ['600 objects, 9.8% loose', c({ count: 59, inPack: 541 }), 'none'],
    ['exactly 1024 KiB, 10% loose by size', c({ size: 103, sizePack: 921 }), 'none'],
    ['1025 KiB, 10% loose by size', c({ size: 103, sizePack: 922 }), 'quick'],
    ['1100 KiB, exactly 10% loose by size', c({ size: 110, sizePack: 990 }), 'quick'],
    ['1100 KiB, 9% loose by size', c({ size: 99, sizePack: 1001 }), 'none'],
  ];
  for (const [name, counts, want] of edges) t.equal(repackLevel(counts), want, name);
  t.same(parseCountObjects('count: 3\nnot a count line\nsize:\n'), { count: 3, size: 0, inPack: 0, packs: 0, sizePack: 0 }, 'odd lines: what is missing counts as 0');
  t.same(parseCountObjects('count: 3\nsize: 12\nin-pack: 90\npacks: 1\nsize-pack: 20\nprune-packable: 0\ngarbage: 0\nsize-garbage: 0\n'), { count: 3, size: 12, inPack: 90, packs: 1, sizePack: 20 });
});

t.test('object counts estimated from files agree with git count-objects', async (t) => {
  const { tmpDir } = await import('../helpers/tmp.js');
  const { makeRepo, git } = await import('../helpers/git.js');
  const { estimateObjectCounts, countLooseRefs } = await import('../../shared/repo/object-counts.js');
  const path = await import('node:path');
  const dir = tmpDir(t);
  const repo = path.join(dir, 'r.git');
  makeRepo(repo, { commits: 20 });
  git([`--git-dir=${repo}`, 'repack', '-q', '-a', '-d']);
  const real = parseCountObjects(git([`--git-dir=${repo}`, 'count-objects', '-v']));
  const est = estimateObjectCounts(repo);
  t.equal(est.packs, real.packs, 'packs exact');
  t.equal(est.inPack, real.inPack, 'in-pack exact (from the .idx fanout)');
  t.equal(countLooseRefs(repo, 64), 0, 'clone packs its refs');
  for (let i = 0; i < 5; i++) git([`--git-dir=${repo}`, 'branch', `b${i}`, 'master']);
  t.equal(countLooseRefs(repo, 64), 5);
  t.equal(countLooseRefs(repo, 3), 3, 'stops at the limit');
});
