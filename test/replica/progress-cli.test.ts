import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('grok-pull -v shows progress as lines and leaves a summary line, under a pipe too', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const n of ['a', 'b', 'c']) makeRepo(path.join(top, `${n}.git`));
  const origin = await startTestOrigin(t, top);
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${dir}/mirror\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = \${site}/manifest.js.gz\n`);
  const quiet = await runBin(BIN.pull, ['-c', conf, '-n']);
  t.equal(quiet.code, 0, quiet.stderr);
  t.notMatch(quiet.stderr, /repositories/, 'without -v and not on a terminal: no progress');
  const v = await runBin(BIN.pull, ['-c', conf, '-v']);
  t.equal(v.code, 0, v.stderr);
  t.notMatch(v.stderr, /repositories/, 'nothing to do: no progress line');
  const fresh = path.join(dir, 'fresh.conf');
  writeFileSync(fresh, `[core]\ntoplevel = ${dir}/mirror2\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = \${site}/manifest.js.gz\n`);
  const cloned = await runBin(BIN.pull, ['-c', fresh, '-v']);
  t.equal(cloned.code, 0, cloned.stderr);
  t.match(cloned.stderr, /^grok-pull: 3\/3 repositories, [\d.]+\/s, in \d+s$/m, 'the summary line stays');
  t.match(cloned.stderr, /3 cloned, 0 updated/);
  t.notMatch(cloned.stderr, /\r|\x1b/, 'lines, not a redrawn line');
  t.ok(fsckOk(path.join(dir, 'mirror2/a.git')).ok);
});

t.test('grok-fsck -v prints one line per repository it worked on', async (t) => {
  const top = tmpDir(t, 'grok-fsck-v-');
  for (const n of ['a', 'b', 'sub/c']) makeRepo(path.join(top, `${n}.git`));
  const conf = path.join(top, 'fsck.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\n[fsck]\nstatusfile = ${top}/status.js\n`);
  const r = await runBin(BIN.fsck, ['-c', conf, '-f', '-v']);
  t.equal(r.code, 0, r.stderr);
  for (const n of ['a', 'b', 'sub/c']) {
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`grok-fsck: ${path.join(top, `${n}.git`)}: `));
    t.equal(lines.length, 1, `one line for ${n}.git`, { stderr: r.stderr });
    t.match(lines[0], /: (repacked \((quick|full)\)|not repacked), checked, ok$/);
  }
  const again = await runBin(BIN.fsck, ['-c', conf, '-v']);
  t.match(again.stderr, new RegExp(`${path.join(top, 'a.git')}: not repacked, check not due`), 'checked today: not due again');
  t.ok(fsckOk(path.join(top, 'a.git')).ok);
});
