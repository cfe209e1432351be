import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { discoverRepos } from '../../shared/repo/discover.js';
import { gitDir, makeRepo } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('finds bare repos, skips objstores and ignored paths, reports symlinks', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'pub/scm/b.git'));
  makeRepo(path.join(top, 'noext'));
  makeRepo(path.join(top, 'testing/t.git'));
  makeRepo(path.join(top, 'objstore/1234.git'));
  writeFileSync(path.join(top, 'objstore/1234.git/grokmirror.objstore'), '# objstore\n');
  // a repo nested inside a repo's directory is not descended into
  makeRepo(path.join(top, 'a.git/nested.git'));
  mkdirSync(path.join(top, 'plain/dir'), { recursive: true });
  makeRepo(path.join(dir, 'outside.git'));
  symlinkSync('pub/scm/b.git', path.join(top, 'alias.git'));
  symlinkSync(path.join(dir, 'outside.git'), path.join(top, 'escape.git'));
  symlinkSync('plain', path.join(top, 'notarepo.git'));
  symlinkSync('nowhere', path.join(top, 'dangling.git'));
  gitDir(path.join(top, 'a.git'), ['config', 'core.bare', 'true']);

  const d = await discoverRepos(top, { ignore: ['/testing/*'] });
  t.same(d.repos.map((r) => r.key), ['/a.git', '/noext', '/pub/scm/b.git']);
  t.same(d.symlinks.map((s) => [s.key, s.targetKey]), [['/alias.git', '/pub/scm/b.git']]);
  t.equal(d.warnings.length, 3);
  t.match(d.warnings.join('\n'), /escape\.git points outside the toplevel/);
  t.match(d.warnings.join('\n'), /notarepo\.git points at .*plain, which is not a bare repository/);
  t.match(d.warnings.join('\n'), /dangling\.git is dangling/);

  const full = await discoverRepos(top, { ignore: [`${top}/pub/*`] });
  t.same(full.repos.map((r) => r.key), ['/a.git', '/noext', '/testing/t.git'], 'ignore globs match full paths too');
});
