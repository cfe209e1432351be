/**
 * grok-manifest, ours against grokmirror's, value by value, on one collection, for the command lines
 * origins run: a full walk, the hook form (-n with a path), -x, -c, -r, -i. Both write to their own
 * manifest from the same repositories at the same moments; every entry must carry the same keys and
 * values (`modified` under -n: "now" for both, so within the seconds the two runs took).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/fixture.js';
import { pushCommit } from '../helpers/git.js';
import { readRawManifest } from './mirror-check.js';
import { interopSuite, peerOk, runOurs } from './peer.js';

const readRaw = readRawManifest;

const suite = interopSuite(t);
if (suite) {
  const { dir, c } = suite;
  const theirs = path.join(dir, 'grokmirror.js.gz');
  const ours = path.join(dir, 'ours.js.gz');
  const both = async (args: readonly string[], paths: readonly string[] = []) => {
    const started = Math.floor(Date.now() / 1000);
    await peerOk('manifest', ['-m', theirs, '-t', c.top, ...args, ...paths]);
    const r = await runOurs(BIN.manifest, ['-m', ours, '-t', c.top, ...args, ...paths]);
    if (r.code !== 0) throw new Error(`our grok-manifest ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return { started, ended: Math.ceil(Date.now() / 1000) };
  };

  /** Every difference between the two files, one sentence each; `now` bounds "modified" for entries written with -n. */
  const differences = (nowKeys: readonly string[] = [], window?: { started: number; ended: number }): string[] => {
    const a = readRaw(theirs);
    const b = readRaw(ours);
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a) || !(k in b)) {
        out.push(`${k}: only in ${k in a ? "grokmirror's" : 'ours'}`);
        continue;
      }
      for (const f of new Set([...Object.keys(a[k]!), ...Object.keys(b[k]!)])) {
        const [x, y] = [a[k]![f], b[k]![f]];
        if (f === 'modified' && nowKeys.includes(k) && window) {
          for (const [who, v] of [['grokmirror', x], ['ours', y]] as const) {
            if (typeof v !== 'number' || v < window.started || v > window.ended) out.push(`${k}: ${who} modified ${String(v)} is not "now"`);
          }
          continue;
        }
        if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${k}.${f}: grokmirror ${JSON.stringify(x)}, ours ${JSON.stringify(y)}`);
      }
    }
    return out;
  };
  const full = (key: string) => path.join(c.top, key);
  let hookWindow: { started: number; ended: number } | undefined;
  /** Differences about the control-character owner's entry, and the others. */
  const split = (diffs: string[]): [string[], string[]] => [diffs.filter((d) => d.startsWith(`${c.controlOwner}`)), diffs.filter((d) => !d.startsWith(`${c.controlOwner}`))];

  t.test('a full walk: same entries, same values', async (t) => {
    await both([]);
    t.same(differences(), []);
    const m = readRaw(ours);
    t.same(Object.keys(m).sort(), [...c.keys].sort(), 'every repository, symlinks as symlinks');
    t.same(m[c.upstream]!.symlinks, ['/alias.git'], 'the symlink at the top');
    t.same(m[c.deep]!.symlinks, ['/pub/sub/link.git'], 'the symlink in a subfolder');
    t.equal(m[c.upstream]!.description, c.twoLineDescription, 'a two-line description, whole');
    t.equal(m[c.upstream]!.owner, c.nonAsciiOwner);
    t.equal(m[c.controlOwner]!.owner, c.controlOwnerValue, 'an owner with control characters, as git config holds it');
    t.equal(m[c.forks[0]!]!.reference, c.upstream, 'a clone -s fork: reference, no forkgroup (what 1.x wrote)');
    t.notOk('forkgroup' in m[c.forks[0]!]!);
  });

  t.test('the hook form, -n with a path, after a push', async (t) => {
    pushCommit(full(c.nonAscii), { date: 1_700_000_000, branch: 'nouvelle' });
    hookWindow = await both(['-n'], [full(c.nonAscii)]);
    t.same(differences([c.nonAscii], hookWindow), []);
    t.equal(readRaw(ours)[c.nonAscii]!.modified === readRaw(ours)[c.space]!.modified, false);
  });

  t.test('-x removes a repository and a symlink', async (t) => {
    await both(['-x'], [full(c.manyRefs), full('/pub/sub/link.git')]);
    // the -n entry keeps its "now" in both files until a walk without -n recomputes it
    const [control, rest] = split(differences([c.nonAscii], hookWindow));
    t.same(rest, []);
    // An owner with control characters is data (issue 16.2): rewriting the file keeps that entry.
    t.same(control, [], 'the entry whose owner holds control characters is kept as grokmirror keeps it');
    const m = readRaw(ours);
    t.notOk(c.manyRefs in m);
    t.notOk('symlinks' in m[c.deep]!, 'the symlink left its target entry');
  });

  t.test('-c lists only exported repositories', async (t) => {
    for (const k of [c.upstream, c.space, c.forks[1]!]) writeFileSync(path.join(full(k), 'git-daemon-export-ok'), '');
    await both(['-c']);
    t.same(differences(), []);
    t.same(Object.keys(readRaw(ours)).sort(), [c.upstream, c.space, c.forks[1]!].sort());
  });

  t.test('-r leaves refs out of fingerprints', async (t) => {
    await both(['-r', 'refs/heads/branch-0*', '-r', 'refs/tags/*']);
    t.same(differences(), []);
    t.equal(Object.keys(readRaw(ours)).length, c.keys.length, 'a full walk again (-c not given)');
  });

  t.test('-i skips paths by glob', async (t) => {
    // From empty files: grokmirror's walk crashes when it has entries to drop (its purge_manifest, the -p bug)
    rmSync(theirs);
    rmSync(ours);
    // grokmirror matches -i against the full path, so this form is the one both understand
    await both(['-i', '*/forks/*', '-i', `${c.top}/deep/*`]);
    t.same(differences(), []);
    t.same(Object.keys(readRaw(ours)).sort(), c.keys.filter((k) => !k.startsWith('/forks/') && !k.startsWith('/deep/')).sort());
  });
}
