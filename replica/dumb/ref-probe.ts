/**
 * How a list-mode sweep asks an upstream for its refs: `auto` (the default) tries one HTTP request
 * (http-refs.ts) for http(s) URLs and falls back to git ls-remote for everything that is not a plain
 * smart-HTTP answer; `git` always runs git ls-remote. Auto turns itself into git for the whole sweep
 * when git settings or a proxy would make the two disagree (probeBlocker). Counts each way, for the
 * summary line.
 */
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { undiciLite } from '../source/undici-lite.js';
import { httpRefs, probeBlocker, probeable } from './http-refs.js';
import { lsRemote } from './ls-remote.js';

export type RefProbeMode = 'auto' | 'git';

export interface RefProbe {
  readonly remoteRefs: (url: string) => Promise<Map<string, string>>;
  /** Answers from the HTTP probe and from git ls-remote so far. */
  readonly counts: { http: number; git: number };
  close(): Promise<void>;
}

export async function refProbe(mode: RefProbeMode, deps: { git: Git; log: Logger; timeoutMs: number; connectionsPerHost: number }): Promise<RefProbe> {
  const counts = { http: 0, git: 0 };
  const viaGit = async (url: string) => {
    counts.git++;
    return lsRemote(deps.git, url, { timeoutMs: deps.timeoutMs });
  };
  const blocker = mode === 'auto' ? await probeBlocker(deps.git) : 'asked for (--ref-probe git)';
  if (blocker !== null) {
    deps.log.debug(`asking every upstream with git ls-remote: ${blocker}`);
    return { remoteRefs: viaGit, counts, close: async () => undefined };
  }
  const { Agent } = await undiciLite();
  const dispatcher = new Agent({ connections: deps.connectionsPerHost, connectTimeout: Math.min(deps.timeoutMs, 30_000) });
  return {
    counts,
    async remoteRefs(url) {
      const refs = probeable(url) ? await httpRefs(url, { dispatcher, timeoutMs: deps.timeoutMs }) : null;
      if (refs === null) return viaGit(url);
      counts.http++;
      return refs;
    },
    close: () => dispatcher.close(),
  };
}
