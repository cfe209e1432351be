/**
 * Registering one mirrored inbox with public-inbox (`grok-pi-indexer init`): what the origin says about
 * it (refs/meta/origins:i in its newest epoch that has one, else the origin's config/raw page), then
 * public-inbox-init, then its description. A marker file records an unfinished registration and the
 * options it used, so that the next `update` of that inbox tries again.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { describeError, GrokError } from '../../shared/errors.js';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Git } from '../../shared/git/index.js';
import { epochRepo, epochsOnDisk } from './epochs.js';
import type { InboxDirs } from './inbox-dirs.js';
import { initArgv, registrationFrom } from './origins.js';
import { lastLine, runTool } from './public-inbox.js';

export interface InitSettings {
  readonly localToplevel: string;
  readonly originHostname: string;
  readonly listidPriority: string;
  readonly extraCfgopts: string;
  readonly indexlevel: string;
}

export interface InitDeps {
  readonly git: Git;
  readonly env: NodeJS.ProcessEnv;
  readonly fetchText?: (url: string) => Promise<string>;
}

const PENDING = 'grok-pi-indexer.init.json';
const pendingFile = (pdir: string) => path.join(pdir, PENDING);

/** The settings of an unfinished registration, or null. */
export function pendingInit(pdir: string): InitSettings | null {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(pendingFile(pdir), 'utf8'));
  } catch {
    return null;
  }
  const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const keys = ['localToplevel', 'originHostname', 'listidPriority', 'extraCfgopts', 'indexlevel'] as const;
  return keys.every((k) => typeof o[k] === 'string') ? (o as unknown as InitSettings) : null;
}

async function originsFromRepos(git: Git, gdir: string): Promise<string | null> {
  for (const e of epochsOnDisk(gdir).reverse()) {
    const res = await git.run({ gitDir: epochRepo(gdir, e), args: ['cat-file', 'blob', 'refs/meta/origins:i'], okExit: [128] });
    const text = res.stdout.toString('utf8');
    if (res.exitCode === 0 && text.trim()) return text;
  }
  return null;
}

/** The newest epoch's description as the mirror got it, unless it is git's placeholder. */
function repoDescription(gdir: string): string | undefined {
  const newest = epochsOnDisk(gdir).pop();
  if (newest === undefined) return undefined;
  try {
    const d = readFileSync(path.join(epochRepo(gdir, newest), 'description'), 'utf8').trim();
    return d && !d.startsWith('Unnamed repository') ? d : undefined;
  } catch {
    return undefined;
  }
}

export async function fetchConfigRaw(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000), redirect: 'follow' });
  if (res.status !== 200) throw new Error(`server answered ${res.status}`);
  const text = await res.text();
  if (text.length > 1024 * 1024) throw new Error('larger than 1 MiB');
  return text;
}

/** Registers the inbox; throws a one-line GrokError when it cannot. */
export async function initInbox(dirs: InboxDirs, s: InitSettings, deps: InitDeps): Promise<void> {
  mkdirSync(dirs.pdir, { recursive: true });
  await atomicWrite(pendingFile(dirs.pdir), `${JSON.stringify(s)}\n`);
  let text = await originsFromRepos(deps.git, dirs.gdir);
  if (text === null) {
    if (!s.originHostname) throw new GrokError('GROK_ERR_PI_FAILED', 'not registered: no refs/meta/origins in its epochs and no --origin-hostname to ask', { inbox: dirs.gdir });
    const url = `${s.originHostname.replace(/\/+$/, '')}/${encodeURIComponent(dirs.name)}/_/text/config/raw`;
    try {
      text = await (deps.fetchText ?? fetchConfigRaw)(url);
    } catch (err) {
      const why = err instanceof Error && err.cause instanceof Error ? `${describeError(err)} (${describeError(err.cause)})` : describeError(err);
      throw new GrokError('GROK_ERR_PI_FAILED', `not registered: no refs/meta/origins in its epochs, and ${url}: ${why}`, { inbox: dirs.gdir, url }, { cause: err });
    }
  }
  const reg = registrationFrom(text, { name: dirs.name, listidPriority: s.listidPriority, extraCfgopts: s.extraCfgopts, fallbackDescription: repoDescription(dirs.gdir) });
  if (dirs.pdir !== dirs.gdir) linkEpochs(dirs);
  const url = s.localToplevel ? `${s.localToplevel.replace(/\/+$/, '')}/${dirs.name}` : dirs.name;
  const out = await runTool('public-inbox-init', initArgv(reg, { name: dirs.name, inboxDir: dirs.pdir, url, indexlevel: s.indexlevel }), deps.env);
  if (!out.ok) throw new GrokError('GROK_ERR_PI_FAILED', `public-inbox-init ${dirs.name} failed (${out.status}): ${lastLine(out.stderr) || 'no output'}`, { inbox: dirs.gdir });
  // grokmirror writes it without a newline, over public-inbox-init's "public inbox for <address>".
  await atomicWrite(path.join(dirs.pdir, 'description'), reg.description);
  rmSync(pendingFile(dirs.pdir), { force: true });
}

/** With -p, the public-inbox directory reaches the mirrored epochs through a `git` symlink. */
function linkEpochs(dirs: InboxDirs): void {
  const link = path.join(dirs.pdir, 'git');
  let isLink: boolean;
  try {
    isLink = lstatSync(link).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    symlinkSync(path.join(dirs.gdir, 'git'), link);
    return;
  }
  if (!isLink) throw new GrokError('GROK_ERR_PI_FAILED', `${link} exists and is not a symlink to ${path.join(dirs.gdir, 'git')}`, { path: link });
}
