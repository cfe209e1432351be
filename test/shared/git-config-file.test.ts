import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { lookupConfigValue } from '../../shared/git/index.js';
import { GIT_ENV } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

// Each text is checked against what real `git config --file X --get gitweb.owner` prints.
const texts = [
  '[gitweb]\n\towner = Ann Owner\n',
  '[GitWeb]\n\tOWNER = Ann\n',
  '[gitweb]\n\towner = "  quoted  spaces "\n',
  '[gitweb]\n\towner = a \\"b\\" \\\\ c\n',
  '[gitweb]\n\towner = Ann # comment\n',
  '[gitweb]\n\towner = "Ann ; not a comment"\n',
  '[gitweb]\n\towner = first\n\towner = second\n',
  '[gitweb "sub"]\n\towner = not me\n',
  '[core]\n\tbare = true\n',
  '[gitweb]\n\towner = two \\\n lines\n',
  '[gitweb]\n\towner = tab\\there\n',
  '[gitweb] owner = same line\n',
  '[core]\n\tbare = true\n[gitweb]\n\tdescription = x\n\towner=Zed\n',
];

t.test('owner lookups match git config on every sample', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'config');
  for (const text of texts) {
    writeFileSync(file, text);
    const r = spawnSync('git', ['config', '--file', file, '--get', 'gitweb.owner'], { env: GIT_ENV, encoding: 'utf8' });
    const want = r.status === 0 ? r.stdout.replace(/\n$/, '') : null;
    const got = lookupConfigValue(text, 'gitweb', 'owner');
    t.ok('found' in got, `no fallback needed: ${JSON.stringify(text)}`);
    t.equal('found' in got && got.found ? got.value : null, want, JSON.stringify(text));
  }
});

t.test('subsections', async (t) => {
  const text = '[remote "_grokmirror"]\n\turl = http://a/x.git\n\tfetch = +refs/*:refs/*\n[remote "other"]\n\turl = http://b/\n';
  t.same(lookupConfigValue(text, 'remote', 'url', '_grokmirror'), { found: true, value: 'http://a/x.git' });
  t.same(lookupConfigValue(text, 'Remote', 'URL', 'other'), { found: true, value: 'http://b/' });
  t.same(lookupConfigValue(text, 'remote', 'url', 'Other'), { found: false }, 'subsections are case-sensitive');
  t.same(lookupConfigValue(text, 'remote', 'url'), { found: false });
});

t.test('includes and unparseable files fall back to git', async (t) => {
  t.same(lookupConfigValue('[include]\n\tpath = other\n[gitweb]\n\towner = x\n', 'gitweb', 'owner'), { fallback: true });
  t.same(lookupConfigValue('[gitweb\n', 'gitweb', 'owner'), { fallback: true });
  t.same(lookupConfigValue('[gitweb]\n\towner = "unterminated\n', 'gitweb', 'owner'), { fallback: true });
});
