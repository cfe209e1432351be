/**
 * Two workers sharing a toplevel meet on one mirror only when a lease expired under a worker still
 * at it: then both check the same URL at once. The repository's lock (the one grok-pull and grok-fsck
 * take) makes the second wait for the first, find the clone made, and fetch instead: neither fails,
 * neither removes the other's clone in the making, the mirror is sound.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { HostLimiter } from '../../../replica/dumb/host-limiter.js';
import { lsRemote } from '../../../replica/dumb/ls-remote.js';
import { sweepOne, type SweepContext } from '../../../replica/dumb/sweep.js';
import { parseUrlList } from '../../../replica/dumb/url-list.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import { keyToPath } from '../../../shared/manifest/keys.js';
import { fsckOk, makeRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('two checks of one new URL at once (two workers, one toplevel): one clones, the other then fetches', async (t) => {
  const dir = tmpDir(t, 'grok-sweep-lock-');
  const up = path.join(dir, 'up.git');
  makeRepo(up, { commits: 3 });
  const top = path.join(dir, 'mirror');
  mkdirSync(top);
  const item = parseUrlList(`file://${up}\n`, { allowFile: true }).items[0]!;
  const git = new Git();
  // Two workers: two contexts, nothing shared but the disk.
  const ctx = (): SweepContext => ({
    toplevel: top,
    git,
    log: silentLogger(),
    limiter: new HostLimiter(4),
    retry: { attempts: 1, baseDelayMs: 0, sleep: async () => undefined },
    remoteRefs: (url) => lsRemote(git, url, { timeoutMs: 60_000 }),
    postUpdateHook: [],
    detect: true,
    repoCache: new Map(),
    nowSec: () => 1000,
  });
  for (let round = 0; round < 3; round++) {
    const it = { ...item, key: `${item.key.slice(0, -'.git'.length)}${round}.git` };
    const mirror = keyToPath(top, it.key);
    const outs = await Promise.all([sweepOne(it, undefined, ctx()), sweepOne(it, undefined, ctx())]);
    t.same(
      outs.map((o) => o.state),
      ['fetched', 'fetched'],
      `round ${round}: both end fetched (${outs.map((o) => o.lastError ?? 'ok').join('; ')})`,
    );
    t.ok(fsckOk(mirror).ok, `round ${round}: the mirror is git fsck clean`);
    t.same(
      readdirSync(path.dirname(mirror)).filter((n) => n.includes('.grok-init-')),
      [],
      `round ${round}: no temp clone left`,
    );
  }
});
