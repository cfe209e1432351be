/**
 * grok-pi-indexer's three commands. `init` registers the inboxes of newly cloned repositories that
 * public-inbox does not know yet, then indexes them; `update` indexes the inbox of an updated
 * repository (public-inbox-index takes new epochs in as they appear); `extindex` updates the external
 * index of all inboxes. One line per inbox; a failure leaves the inbox for the next call.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describeError, GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { acquireLock, lockPathFor, type HeldLock } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { epochRepo, epochsOnDisk } from './epochs.js';
import { hasMsgmap, inboxDirs, inboxDirsOf, msgmapOf, type InboxDirs } from './inbox-dirs.js';
import { initInbox, pendingInit, type InitSettings } from './inbox-init.js';
import { extindexTopdir, registeredDir } from './pi-config-file.js';
import { lastLine, requireTools, runTool } from './public-inbox.js';

export interface IndexerOptions {
  readonly piConfig: string;
  readonly toplevel: string;
  readonly piToplevel?: string;
  readonly indexlevel: string;
  readonly jobs?: number;
  readonly fsync: boolean;
}

export interface IndexerDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly fetchText?: (url: string) => Promise<string>;
  /** How long `init` waits for a member repository that grok-pull is working on. */
  readonly lockTimeoutMs?: number;
}

export interface InboxLine {
  readonly ok: boolean;
  readonly line: string;
}

const secs = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

type Registration = 'registered' | 'unregistered';

/** Whether public-inbox knows the inbox here; an error when its name is registered for another directory. */
async function registration(dirs: InboxDirs, opts: IndexerOptions, deps: IndexerDeps): Promise<Registration> {
  const at = await registeredDir(deps.git, opts.piConfig, dirs.name);
  if (at !== null && path.resolve(at) !== dirs.pdir) {
    throw new GrokError('GROK_ERR_PI_FAILED', `the inbox name "${dirs.name}" is registered in ${opts.piConfig} for ${at}; not touching it`, { inbox: dirs.gdir });
  }
  return at !== null && hasMsgmap(dirs.pdir) ? 'registered' : 'unregistered';
}

async function index(dirs: InboxDirs, opts: IndexerOptions, deps: IndexerDeps): Promise<InboxLine> {
  const started = performance.now();
  const args = ['--no-update-extindex', ...(opts.jobs !== undefined ? ['--jobs', String(opts.jobs)] : []), ...(opts.fsync ? [] : ['--no-fsync']), dirs.pdir];
  const out = await runTool('public-inbox-index', args, deps.env);
  if (!out.ok) return { ok: false, line: `${dirs.gdir}: public-inbox-index failed (${out.status}): ${lastLine(out.stderr) || 'no output'}; the next update tries again` };
  return { ok: true, line: `${dirs.gdir}: indexed in ${secs(started)}` };
}

async function lockEpochs(gdir: string, timeoutMs: number): Promise<HeldLock[]> {
  const held: HeldLock[] = [];
  try {
    for (const e of epochsOnDisk(gdir)) held.push(await acquireLock(lockPathFor(epochRepo(gdir, e)), { timeoutMs }));
  } catch (err) {
    for (const h of held) await h.release();
    throw err;
  }
  return held;
}

async function registerThenIndex(dirs: InboxDirs, s: InitSettings, lock: boolean, opts: IndexerOptions, deps: IndexerDeps): Promise<InboxLine> {
  const started = performance.now();
  // While public-inbox-init looks at the epochs, grok-pull leaves them alone (as with grokmirror).
  const held = lock ? await lockEpochs(dirs.gdir, deps.lockTimeoutMs ?? 5 * 60_000) : [];
  try {
    await initInbox(dirs, s, deps);
  } finally {
    for (const h of held) await h.release();
  }
  const res = await index(dirs, opts, deps);
  return res.ok ? { ok: true, line: `${dirs.gdir}: registered with public-inbox as ${dirs.name} and indexed in ${secs(started)}` } : res;
}

async function eachInbox(gdirs: readonly string[], opts: IndexerOptions, deps: IndexerDeps, fn: (dirs: InboxDirs) => Promise<InboxLine>): Promise<InboxLine[]> {
  const lines: InboxLine[] = [];
  for (const g of gdirs) {
    try {
      lines.push(await fn(inboxDirs(g, opts.toplevel, opts.piToplevel)));
    } catch (err) {
      lines.push({ ok: false, line: `${g}: ${describeError(err)}` });
    }
  }
  return lines;
}

/** `init`: the inboxes of the repositories given (stdin), or one inbox directory. */
export async function indexerInit(targets: readonly string[], s: InitSettings & { readonly forceReinit?: boolean }, opts: IndexerOptions, deps: IndexerDeps): Promise<InboxLine[]> {
  requireTools(['public-inbox-init', 'public-inbox-index'], deps.env);
  // A path that is an inbox directory itself (holding git/<N>.git) counts as one.
  const gdirs = inboxDirsOf(targets.map((t) => (epochsOnDisk(t).length > 0 ? epochRepo(t, epochsOnDisk(t)[0]!) : t)));
  return eachInbox(gdirs, opts, deps, async (dirs) => {
    if (s.forceReinit) {
      rmSync(msgmapOf(dirs.pdir), { force: true });
      rmSync(path.join(dirs.pdir, 'xap15'), { recursive: true, force: true });
    }
    if ((await registration(dirs, opts, deps)) === 'registered') return index(dirs, opts, deps);
    return registerThenIndex(dirs, s, true, opts, deps);
  });
}

/** `update`: the inbox of one updated repository. */
export async function indexerUpdate(repo: string, opts: IndexerOptions, deps: IndexerDeps): Promise<InboxLine[]> {
  const gdirs = inboxDirsOf([repo]);
  if (gdirs.length === 0) return [{ ok: true, line: `${repo}: not a public-inbox epoch (<list>/git/<N>.git); nothing to do` }];
  requireTools(['public-inbox-init', 'public-inbox-index'], deps.env);
  return eachInbox(gdirs, opts, deps, async (dirs) => {
    if ((await registration(dirs, opts, deps)) === 'registered') return index(dirs, opts, deps);
    const pending = pendingInit(dirs.pdir);
    // grok-pull runs post_update_hook before post_clone_complete_hook: a new inbox is registered by
    // `init` next. One whose registration failed before is tried again here (its repository is
    // locked by the caller, hence no locking).
    if (!pending) return { ok: true, line: `${dirs.gdir}: not registered with public-inbox yet; "grok-pi-indexer init" does that once it is cloned` };
    return registerThenIndex(dirs, pending, false, opts, deps);
  });
}

/** `extindex`: public-inbox-extindex --all. */
export async function indexerExtindex(opts: IndexerOptions, deps: IndexerDeps): Promise<InboxLine[]> {
  requireTools(['public-inbox-extindex'], deps.env);
  const topdir = await extindexTopdir(deps.git, opts.piConfig);
  if (!topdir) return [{ ok: false, line: `${opts.piConfig} has no [extindex "all"] topdir: nothing to index into (define it, or drop the extindex hook)` }];
  // public-inbox-extindex ignores a topdir that does not exist yet (and then fails with its usage).
  mkdirSync(topdir, { recursive: true });
  const started = performance.now();
  const args = ['-L', opts.indexlevel, '--all', ...(opts.jobs !== undefined ? ['--jobs', String(opts.jobs)] : []), ...(opts.fsync ? [] : ['--no-fsync'])];
  const out = await runTool('public-inbox-extindex', args, deps.env);
  if (!out.ok) return [{ ok: false, line: `${topdir}: public-inbox-extindex failed (${out.status}): ${lastLine(out.stderr) || 'no output'}` }];
  return [{ ok: true, line: `${topdir}: external index updated in ${secs(started)}` }];
}
