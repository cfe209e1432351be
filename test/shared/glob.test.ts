import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fnmatch } from '../../shared/glob.js';
import { FIXTURES } from '../helpers/fixture.js';

// The table was produced by Python's fnmatch.fnmatchcase over these patterns and names.
const table = JSON.parse(readFileSync(path.join(FIXTURES, 'fnmatch-table.json'), 'utf8')) as [string, string, boolean][];

t.test('fnmatch agrees with Python fnmatch.fnmatchcase on every case of the table', async (t) => {
  const wrong = table.filter(([p, n, want]) => fnmatch(n, p) !== want);
  t.same(wrong, [], `${table.length} cases`);
  t.ok(table.length > 1000);
});

t.test('the properties grokmirror configs rely on', async (t) => {
  t.ok(fnmatch('/pub/scm/linux/kernel/git/torvalds/linux.git', '*/torvalds/linux.git'), '* crosses /');
  t.ok(fnmatch('refs/meta/config', 'refs/meta/*'));
  t.notOk(fnmatch('refs/heads/meta', 'refs/meta/*'));
  t.notOk(fnmatch('/A.git', '/a.git'), 'case-sensitive');
  t.ok(fnmatch('{a,b}', '{a,b}'), 'no brace expansion');
  t.ok(fnmatch('!x', '!x'), 'no negation');
});
