/**
 * grokmirror's dumb-pull: repositories named on the command line (a path ending in .git) or found
 * under the directories given, each remote whose name matches a -r glob fetched, the post-update hook
 * run for each repository that changed. Unlike grokmirror, a remote is only fetched when ls-remote
 * shows refs that differ from what its fetch refspecs put locally (plan.ts), so an unchanged remote
 * costs one ls-remote. A problem with one repository is logged and the rest go on.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { matchesAny } from '../../shared/glob.js';
import { mirrorFetch, untrusted, type Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { mapPool } from '../../shared/pool.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import { runHooks } from '../execute/hooks.js';
import { localRefs } from './local-refs.js';
import { lsRemote } from './ls-remote.js';
import { parseRefspec, planRepo, type Refspec } from './plan.js';
import { withRetries, type RetryPolicy } from './retry.js';

export interface ClassicOptions {
  readonly paths: readonly string[];
  /** fnmatch globs of remote names; grokmirror's default is every remote. */
  readonly remoteNames: readonly string[];
  readonly postUpdateHook: readonly string[];
  readonly jobs: number;
  readonly lsRemoteTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly detect: boolean;
}

export interface ClassicResult {
  repos: number;
  readonly fetched: string[];
  unchanged: number;
  /** not_found / auth_required: recorded as warnings. */
  readonly unreachable: { repo: string; remote: string; why: string }[];
  readonly failed: { repo: string; error: string }[];
}

async function findRepos(paths: readonly string[], log: Logger, failed: ClassicResult['failed']): Promise<string[]> {
  const repos: string[] = [];
  for (const p of paths) {
    const full = path.resolve(p);
    if (p.endsWith('.git')) {
      if (await isBareRepo(full)) repos.push(full);
      else {
        failed.push({ repo: full, error: 'does not exist or is not a bare git repository' });
        log.error(`${full} does not exist or is not a bare git repository`);
      }
      continue;
    }
    const st = await fsp.stat(full).catch(() => null);
    if (!st?.isDirectory()) {
      failed.push({ repo: full, error: 'does not exist or is not a directory' });
      log.error(`${full} does not exist or is not a directory`);
      continue;
    }
    const found = await discoverRepos(await fsp.realpath(full));
    for (const w of found.warnings) log.warn(w);
    repos.push(...found.repos.map((r) => r.path));
  }
  return [...new Set(repos)];
}

async function gitLines(git: Git, gitDir: string, args: (string | { untrusted: string })[]): Promise<string[]> {
  const res = await git.run({ gitDir, args, okExit: [1] });
  return res.stdout.toString('utf8').split('\n').filter((l) => l !== '');
}

/** Returns whether anything was fetched. */
async function pullRepo(git: Git, dir: string, opts: ClassicOptions, log: Logger, res: ClassicResult): Promise<boolean> {
  const remotes = (await gitLines(git, dir, ['remote'])).filter((r) => matchesAny(r, opts.remoteNames));
  if (remotes.length === 0) {
    log.info(`${dir}: no remotes matching ${opts.remoteNames.join(', ')}`);
    return false;
  }
  let fetched = false;
  for (const remote of remotes) {
    const specs = (await gitLines(git, dir, ['config', '--get-all', untrusted(`remote.${remote}.fetch`)]))
      .map(parseRefspec)
      .filter((s): s is Refspec => s !== null);
    if (opts.detect) {
      const seen = await withRetries(opts.retry, () => lsRemote(git, remote, { gitDir: dir, timeoutMs: opts.lsRemoteTimeoutMs }));
      if (!seen.ok) {
        if (seen.kind === 'transient') res.failed.push({ repo: dir, error: `${remote}: ${seen.error}` });
        else res.unreachable.push({ repo: dir, remote, why: seen.kind });
        log.warn(`${dir}: remote ${remote}: ${seen.kind}: ${seen.error}`);
        continue;
      }
      if (planRepo(seen.value, (await localRefs(git, dir)) ?? new Map(), specs) === 'unchanged') {
        log.debug(`${dir}: remote ${remote} unchanged`);
        continue;
      }
    }
    const cmd = mirrorFetch(dir, remote, { forcedRefspecs: specs.length > 0 && specs.every((s) => s.force) });
    const done = await withRetries(opts.retry, () => git.run(cmd));
    if (!done.ok) {
      res.failed.push({ repo: dir, error: `${remote}: ${done.error}` });
      log.warn(`${dir}: fetching ${remote}: ${done.error}`);
      continue;
    }
    log.info(`${dir}: fetched ${remote}`);
    fetched = true;
  }
  return fetched;
}

export async function runClassic(opts: ClassicOptions, deps: { git: Git; log: Logger }): Promise<ClassicResult> {
  const res: ClassicResult = { repos: 0, fetched: [], unchanged: 0, unreachable: [], failed: [] };
  const repos = await findRepos(opts.paths, deps.log, res.failed);
  res.repos = repos.length;
  await mapPool(repos, opts.jobs, async (dir) => {
    const log = deps.log.child({ repo: dir });
    try {
      if (!(await pullRepo(deps.git, dir, opts, log, res))) {
        res.unchanged++;
        return;
      }
      res.fetched.push(dir);
      if (opts.postUpdateHook.length > 0) await runHooks('post_update_hook', opts.postUpdateHook, { args: [dir] }, log);
    } catch (err) {
      res.failed.push({ repo: dir, error: describeError(err) });
      log.error({ repo: dir, action: 'fetch' }, `${dir}: ${describeError(err)}`);
    }
  });
  return res;
}
