import t from 'tap';
import { planLines } from '../../replica/plan-lines.js';
import type { RepoAction } from '../../replica/plan.js';

const entry = { fingerprint: 'f', modified: 1, head: 'ref: refs/heads/main', description: null } as unknown as RepoAction['entry'];
const act = (key: string, op: RepoAction['op'], o: Partial<RepoAction> = {}): RepoAction => ({ key, entry, op, fixRemotes: false, fixParams: false, pull: false, newlyArchived: false, ...o });

t.test('one line per action: what, which repository, and what an update puts right', async (t) => {
  const none = { purge: [], purgeRefused: null, archivedNotFetched: [] };
  t.same(planLines(none, [], [], 5), [], 'nothing to do: no lines');
  t.same(
    planLines(
      { purge: ['/gone.git'], purgeRefused: null, archivedNotFetched: ['/old.git'] },
      [
        act('/new.git', 'init', { pull: true, fixRemotes: true, fixParams: true }),
        act('/new-archived.git', 'init', { pull: true, newlyArchived: true }),
        act('/broken.git', 'reclone', { pull: true }),
        act('/moved.git', 'update', { pull: true }),
        act('/moved-elsewhere.git', 'update', { pull: true, fixRemotes: true }),
        act('/described.git', 'update', { fixParams: true }),
        act('/old.git', 'update', { newlyArchived: true }),
        act('/marked.git', 'update'),
      ],
      [{ key: '/bad.git', why: 'lies inside /a.git, another repository in the manifest' }],
      5,
    ),
    [
      'clone /new.git',
      'clone /new-archived.git (archived)',
      'reclone /broken.git',
      'fetch /moved.git',
      'fetch /moved-elsewhere.git (remote)',
      'fix /described.git (settings)',
      'fix /old.git (archived)',
      'fix /marked.git',
      'refuse /bad.git: lies inside /a.git, another repository in the manifest',
      'skip /old.git (archived)',
      'purge /gone.git',
    ],
  );
  t.same(planLines({ purge: [], purgeRefused: { count: 3, total: 10 }, archivedNotFetched: [] }, [], [], 20), ['refuse-purge 3 of 10 repositories (purgeprotect 20%; --force-purge to purge them)']);
});
