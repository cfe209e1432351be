import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../shared/config/config.js';
import { SCHEMA } from '../../shared/config/schema.js';
import { parseIni } from '../../shared/config/ini.js';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '../helpers/fixture.js';

const file = path.join(REPO_ROOT, 'grokmirror.conf.example');

t.test('grokmirror.conf.example loads without warnings', async (t) => {
  const c = loadConfig(file);
  t.same(c.warnings, []);
  t.equal(c.core.manifest, '/var/lib/git/mirror/manifest.js.gz');
  t.same(c.manifest.ignore, ['/testing/*', '/private/*']);
  t.equal(c.pull.projectslist, '/var/lib/git/mirror/projects.list');
});

t.test('every known key is set, with a comment, in the example', async (t) => {
  const doc = parseIni(readFileSync(file, 'utf8'), file);
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      const v = doc.sections.get(section)?.values.get(key);
      t.ok(v, `[${section}] ${key} is in the example`);
      if (v) t.match(lines[v.line - 2] ?? '', /^#/, `[${section}] ${key} has a comment above it`);
    }
  }
});
