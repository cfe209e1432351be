import t from 'tap';
import { classifyFsckOutput, fsckArgs } from '../../../shared/fsck/check.js';
import { mayPrune, repackArgs, type RepackPolicy } from '../../../shared/fsck/repack.js';
import { addDays, checkDue } from '../../../shared/fsck/status.js';
import { memberUpdates } from '../../../shared/fsck/manifest-members.js';
import type { ManifestEntry } from '../../../shared/manifest/entry.js';

const policy = (over: Partial<RepackPolicy> = {}): RepackPolicy => ({ pruneSafe: true, precious: 'yes', extra: [], extraFull: [], ...over });

t.test('repack flags by role and level', async (t) => {
  const cases: [Parameters<typeof repackArgs>, string][] = [
    [['objstore', 'quick', policy()], '-a -d'],
    [['objstore', 'quick', policy({ pruneSafe: false })], '-a -k -d'],
    [['objstore', 'full', policy({ extraFull: ['--window=250'] })], '-a -f --pack-kept-objects --window=250 -d'],
    [['objstore', 'quick', policy({ precious: 'always' })], '-a'],
    [['alternate', 'quick', policy()], '-a -b -k -d'],
    [['member', 'quick', policy()], '-l -A --unpack-unreachable=yesterday -d'],
    [['member', 'quick', policy({ pruneSafe: false })], '-l -A -d'],
    [['standalone', 'full', policy({ extra: ['--threads=1'] })], '-a -b -f --pack-kept-objects --threads=1 -d'],
  ];
  for (const [args, want] of cases) t.equal(repackArgs(...args).slice(2).join(' '), want, `${args[0]} ${args[1]} ${JSON.stringify(args[2])}`);
  t.same(repackArgs('standalone', 'quick', policy()).slice(0, 2), ['repack', '-q']);
});

t.test('prune only where nothing can need what goes', async (t) => {
  t.ok(mayPrune('standalone', policy()));
  t.ok(mayPrune('member', policy()));
  t.ok(mayPrune('objstore', policy()));
  t.notOk(mayPrune('objstore', policy({ pruneSafe: false })), 'a private or unregistered user blocks it');
  t.notOk(mayPrune('objstore', policy({ precious: 'always' })));
  t.notOk(mayPrune('alternate', policy()), 'others borrow from it');
});

t.test('fsck output: ignore list, reclone list, notices', async (t) => {
  const out = 'notice: HEAD points to an unborn branch (master)\nwarning in tag 1234: missingTaggerEntry: invalid format\nmissing blob 1234abcd\nerror: bad thing\n\n';
  t.same(classifyFsckOutput(out, ['missingTaggerEntry'], ['missing blob']), { errors: ['missing blob 1234abcd', 'error: bad thing'], reclone: true });
  t.same(classifyFsckOutput(out, ['', '  '], []), { errors: ['warning in tag 1234: missingTaggerEntry: invalid format', 'missing blob 1234abcd', 'error: bad thing'], reclone: false }, 'an empty ignore entry matches nothing (grokmirror ignored everything)');
  t.same(classifyFsckOutput('notice: x\n', [], ['']), { errors: [], reclone: false });
  t.same(classifyFsckOutput('error: bad thing  \n\n   \n', [], ['', ' ']), { errors: ['error: bad thing'], reclone: false }, 'an empty reclone entry matches nothing either; blank lines are no findings');
  t.same(classifyFsckOutput('  missing blob 1234', [], ['missing blob']), { errors: ['  missing blob 1234'], reclone: true }, 'a finding keeps its leading blanks');
  t.same(fsckArgs(true), ['fsck', '--no-progress', '--no-dangling', '--no-reflogs', '--connectivity-only']);
});

t.test('schedule: due dates, newcomers spread over the window', async (t) => {
  t.equal(addDays('2026-11-21', 30), '2026-12-21');
  t.same(checkDue(undefined, '2026-11-21', 30, false, () => 0), { due: true, first: { lastcheck: 'never', nextcheck: '2026-11-21' } });
  t.same(checkDue(undefined, '2026-11-21', 30, false, () => 0.5), { due: false, first: { lastcheck: 'never', nextcheck: '2026-12-06' } });
  t.same(checkDue(undefined, '2026-11-21', 30, false, () => 0.9999), { due: false, first: { lastcheck: 'never', nextcheck: '2026-12-20' } }, 'never past the window');
  t.same(checkDue({ lastcheck: '2026-11-01', nextcheck: '2026-11-21' }, '2026-11-21', 30, false, () => 0), { due: true, first: null });
  t.same(checkDue({ lastcheck: '2026-11-01', nextcheck: '2026-11-22' }, '2026-11-21', 30, false, () => 0), { due: false, first: null });
  t.same(checkDue({ lastcheck: '2026-11-01', nextcheck: '2027-01-01' }, '2026-11-21', 30, true, () => 0), { due: true, first: null }, '--force');
});

t.test('manifest entries of members', async (t) => {
  const e = (over: Partial<ManifestEntry> = {}): ManifestEntry => ({ modified: 1, fingerprint: 'f'.repeat(40), head: 'ref: refs/heads/master', reference: null, ...over });
  const m = new Map([
    ['/a.git', e()],
    ['/b.git', e()],
    ['/c.git', e({ forkgroup: 'old', reference: '/a.git' })],
    ['/d.git', e({ forkgroup: 'fg', reference: '/kept.git' })],
  ]);
  const ms = { forkgroup: 'fg', members: ['/a.git', '/b.git', '/d.git'] };
  const got = memberUpdates(m, new Map([['/a.git', ms], ['/b.git', ms], ['/d.git', ms]]));
  t.same(Object.fromEntries(got), {
    '/a.git': e({ forkgroup: 'fg', reference: null }),
    '/b.git': e({ forkgroup: 'fg', reference: '/a.git' }),
    '/c.git': e({ reference: null }),
  }, 'first member null, others the first; unchanged forkgroup keeps its reference; a leaver loses both');
});
