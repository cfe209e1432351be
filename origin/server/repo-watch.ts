/**
 * Repo-watch mode, for origins that cannot install hooks: watch every repository's refs/ and
 * packed-refs and treat a change as a notice for that repository. Limits: one inotify watch per
 * directory under refs/ (fs.inotify.max_user_watches, 8192 by default on many systems), so it is
 * meant for collections up to a few thousand repositories; repositories created after the server
 * started are not watched until it restarts (a full grok-manifest walk still lists them).
 */
import path from 'node:path';
import { watch } from 'chokidar';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import type { Target } from '../manifest/plan.js';
import type { NotifyQueue } from './notify-queue.js';

const SETTLE_MS = 100;

export async function startRepoWatch(toplevel: string, queue: NotifyQueue, log: Logger): Promise<{ close(): Promise<void> }> {
  const { repos } = await discoverRepos(toplevel);
  const byPath = new Map<string, Target>(repos.map((r) => [r.path, r]));
  const timers = new Map<string, NodeJS.Timeout>();
  const watcher = watch(
    repos.flatMap((r) => [path.join(r.path, 'refs'), path.join(r.path, 'packed-refs')]),
    { ignoreInitial: true, ignored: (p: string) => p.endsWith('.lock') },
  );
  const repoOf = (p: string): Target | undefined => {
    for (let d = path.dirname(p); d.length > toplevel.length; d = path.dirname(d)) {
      const t = byPath.get(d);
      if (t) return t;
    }
    return undefined;
  };
  watcher.on('all', (_event, p) => {
    const t = repoOf(p);
    if (!t) return;
    // A push touches several refs: wait for it to settle, then notice the repository once.
    clearTimeout(timers.get(t.path));
    timers.set(
      t.path,
      setTimeout(() => {
        timers.delete(t.path);
        queue.submit([t], { useNow: false, ignoreRefs: [] }).catch((err: unknown) => log.warn({ repo: t.key }, `repo-watch: ${describeError(err)}`));
      }, SETTLE_MS),
    );
  });
  log.info(`repo-watch: watching the refs of ${repos.length} repositories`);
  return {
    async close() {
      for (const t of timers.values()) clearTimeout(t);
      await watcher.close();
    },
  };
}
