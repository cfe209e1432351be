/**
 * Issue 16 item 2: what our own grok-manifest and grok-origin write, our readers accept. A
 * `gitweb.owner` holding a TAB was written by the walk, then dropped by grok-origin at the next notice
 * for another repository, by `grok-manifest -x` and `-p`, and refused by grok-pull. Owner and
 * description are data of any text (as grokmirror takes them), bounded at 64 KiB: each step below
 * must keep them, grok-pull must store them exactly (gitweb.owner through argv, the description
 * file), and nothing may print them raw (stderr, the log file).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('owner-description-data', 'Owner and description values through every writer and reader');
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

t.test('owner and description values survive every step from the walk to the replica', async (t) => {
  const dir = tmpDir(t, 'grok-ownerdesc-');
  const top = path.join(dir, 'origin');
  const values: Record<string, { owner?: string; description?: string }> = {
    '/tab.git': { owner: 'Jane\tDoe', description: 'two\nlines' },
    '/ansi.git': { owner: 'evil \u001b[2J\u001b[31mred\u001b[0m', description: 'x \u001b[31my\u001b[0m \u001b]0;title\u0007' },
    '/nl.git': { owner: 'multi\nline [core]\n\tpager = touch pwned', description: 'cr\r\nlf and bel\u0007 and del\u007f' },
    '/uni.git': { owner: 'Jöhn 中文 😀 \u202e', description: 'naïve – “quotes” 😀' },
    '/dash.git': { owner: '--upload-pack=touch pwned', description: '-x' },
  };
  for (const [k, v] of Object.entries(values)) {
    const repo = path.join(top, k);
    makeRepo(repo, { commits: 2 });
    if (v.owner !== undefined) gitDir(repo, ['config', 'gitweb.owner', v.owner]);
    if (v.description !== undefined) writeFileSync(path.join(repo, 'description'), `${v.description}\n`);
  }
  // Longer than 64 KiB: listed cut at a character boundary.
  const long = path.join(top, 'long.git');
  makeRepo(long);
  writeFileSync(path.join(long, 'description'), 'é'.repeat(40 * 1024));
  makeRepo(path.join(top, 'other.git'));
  makeRepo(path.join(top, 'doomed.git'));

  const file = path.join(top, 'manifest.js.gz');
  const log = path.join(dir, 'origin.log');
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${file}\nlog = ${log}\nloglevel = debug\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 5\n`);
  const check = async (step: string, stderr: string) => {
    const m = await readM(file).catch(() => ({}) as Record<string, ManifestEntry>);
    const problems: string[] = [];
    for (const [k, v] of Object.entries(values)) {
      const e = m[k];
      if (!e) problems.push(`${k} dropped`);
      else {
        if (e.owner !== v.owner) problems.push(`${k} owner ${JSON.stringify(e.owner)}`);
        if (e.description !== v.description) problems.push(`${k} description ${JSON.stringify(e.description)}`);
      }
    }
    const d = m['/long.git']?.description ?? '';
    if (Buffer.byteLength(d) !== 65_536 || d !== 'é'.repeat(32 * 1024)) problems.push(`/long.git description is ${Buffer.byteLength(d)} bytes`);
    if (RAW_CONTROL.test(stderr)) problems.push(`a raw control character on stderr: ${JSON.stringify(stderr.slice(0, 300))}`);
    t.same(problems, [], step);
    table.add(step, 'every owner and description listed exactly; /long.git cut to 65536 bytes; nothing raw on stderr', problems.length ? problems.join('; ') : 'kept', problems.length === 0);
  };

  const walk = await runBin(BIN.manifest, ['--cfgfile', conf]);
  t.equal(walk.code, 0, walk.stderr);
  t.match(walk.stderr, /\/long\.git: its description is longer than 65536 bytes; listed cut to that/, 'the cut is said');
  await check('grok-manifest: full walk', walk.stderr);
  const removed = await runBin(BIN.manifest, ['--cfgfile', conf, '-x', path.join(top, 'doomed.git')]);
  t.equal(removed.code, 0, removed.stderr);
  await check('grok-manifest -x (another repository)', removed.stderr);
  const purged = await runBin(BIN.manifest, ['--cfgfile', conf, '-p']);
  t.equal(purged.code, 0, purged.stderr);
  await check('grok-manifest -p', purged.stderr);
  pushCommit(path.join(top, 'other.git'));
  const fast = await runBin(BIN.manifest, ['--cfgfile', conf, path.join(top, 'other.git')]);
  t.equal(fast.code, 0, fast.stderr);
  await check('grok-manifest <path> (the hook fast path, another repository)', fast.stderr);

  const origin = await startOriginProcess(conf, { t });
  pushCommit(path.join(top, 'other.git'));
  const notice = await runBin(BIN.manifest, ['--cfgfile', conf, path.join(top, 'other.git')]);
  t.equal(notice.code, 0, notice.stderr);
  t.match(notice.stderr + readFileSync(log, 'utf8'), /grok-origin took the notice|took the notice/, 'the notice went to grok-origin');
  await check('grok-origin: a notice for another repository', notice.stderr + origin.stderr());

  const mirror = path.join(dir, 'mirror');
  const rlog = path.join(dir, 'replica.log');
  const rconf = path.join(dir, 'replica.conf');
  writeFileSync(rconf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\nlog = ${rlog}\nloglevel = debug\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nretries = 1\n`);
  const r = await runBin(BIN.pull, ['-c', rconf, '-n', '-v']);
  t.equal(r.code, 0, r.stderr);
  const problems: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const repo = path.join(mirror, k);
    if (!existsSync(repo)) {
      problems.push(`${k} not mirrored`);
      continue;
    }
    const owner = gitDir(repo, ['config', '--get', 'gitweb.owner']);
    if (owner !== v.owner) problems.push(`${k}: gitweb.owner ${JSON.stringify(owner)}`);
    if (readFileSync(path.join(repo, 'description'), 'utf8') !== v.description) problems.push(`${k}: description file differs`);
    try {
      problems.push(`${k}: core.pager ${gitDir(repo, ['config', '--get', 'core.pager'])}`);
    } catch {
      // unset, as it must be
    }
    if (!fsckOk(repo).ok) problems.push(`${k}: git fsck failed`);
  }
  if (existsSync(path.join(dir, 'pwned')) || existsSync(path.join(mirror, 'pwned'))) problems.push('a value ran a command');
  if (RAW_CONTROL.test(r.stderr)) problems.push('a raw control character on stderr');
  for (const f of [rlog, log]) if (RAW_CONTROL.test(readFileSync(f, 'utf8').replaceAll('\n', ''))) problems.push(`a raw control character in ${path.basename(f)}`);
  // A second pass finds nothing to change: what was written reads back the same.
  const again = await runBin(BIN.pull, ['-c', rconf, '-n', '-v']);
  if (again.code !== 0 || /(cloned|updated|fixed) \/|[1-9]\d* (cloned|updated|fixed)\b/.test(again.stderr)) problems.push(`the next pass changed something: ${again.stderr.slice(0, 300)}`);
  // A clone that fails for such an entry: git's command line in the error carries the owner, escaped.
  const m2 = path.join(dir, 'missing.js');
  writeFileSync(m2, JSON.stringify({ '/missing.git': { ...(await readM(file))['/ansi.git'] } }));
  const conf2 = path.join(dir, 'replica2.conf');
  writeFileSync(conf2, `[core]\ntoplevel = ${path.join(dir, 'mirror2')}\nmanifest = ${path.join(dir, 'mirror2', 'manifest.js.gz')}\n[remote]\nsite = ${origin.url}\nmanifest = file://${m2}\n[pull]\nretries = 1\n`);
  const failing = await runBin(BIN.pull, ['-c', conf2, '-n']);
  if (failing.code !== 1) problems.push(`a failing clone exited ${failing.code}`);
  if (RAW_CONTROL.test(failing.stderr)) problems.push(`a failing clone printed a raw control character: ${JSON.stringify(failing.stderr.slice(0, 400))}`);
  if (!failing.stderr.includes('"gitweb.owner=evil \\x1b[2J')) problems.push(`the failing command line does not show the owner escaped: ${failing.stderr.slice(0, 400)}`);
  t.same(problems, [], 'grok-pull stores each value exactly, runs nothing, prints nothing raw, and is stable');
  table.add('grok-pull over HTTP from grok-origin, then a second pass', 'gitweb.owner and description stored exactly; no [core] section; nothing raw on stderr or in the logs; the second pass changes nothing', problems.length ? problems.join('; ') : 'stored exactly; second pass: nothing to do', problems.length === 0);
});

t.test('the record', async (t) => {
  t.comment(table.write());
  t.equal(table.passed, table.rows.length, `${table.passed} of ${table.rows.length} as expected`);
});
