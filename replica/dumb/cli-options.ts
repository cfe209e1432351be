/**
 * grok-dumb-pull's command line, parsed once into frozen options with every default here.
 * grokmirror's flags (-r, -u, -s, -l, -v, paths) keep their meaning; list mode adds the rest.
 * Defaults: 32 jobs because ls-remote waits on the network, not the CPU; 8 per host so that one
 * big forge is never hit by the whole pool; 3 attempts with 2 s doubling backoff for transient errors.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { collect, newCommand, type Manual } from '../../shared/cli.js';
import { GrokError } from '../../shared/errors.js';
import { isPostgresUrl } from './state-store.js';
import type { RefProbeMode } from './ref-probe.js';
import type { Schedule } from './schedule.js';

export interface DumbPullFlags {
  list?: string;
  toplevel?: string;
  manifest?: string;
  state?: string;
  jobs: string;
  perHost: string;
  retries: string;
  backoffMs: string;
  lsRemoteTimeout: string;
  remoteNames?: string[];
  postUpdateHook?: string;
  svn?: boolean;
  logfile?: string;
  verbose?: boolean;
  detect: boolean;
  allowFileUrls?: boolean;
  refProbe: string;
  checkpointSecs: string;
  all?: boolean;
  recheckMin: string;
  recheckMax: string;
  shards?: string;
  leaseSecs: string;
  batch: string;
  objstore?: string;
  collection?: boolean;
}

export interface DumbPullOptions {
  readonly mode: 'list' | 'classic';
  readonly paths: readonly string[];
  readonly listFile: string;
  readonly toplevel: string;
  readonly manifestFile: string | null;
  readonly stateFile: string;
  /** The JSON state of earlier versions, taken into a new database (no --state given: `<list>.state.json`). */
  readonly legacyStateFile: string | null;
  readonly jobs: number;
  readonly perHost: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly lsRemoteTimeoutMs: number;
  readonly remoteNames: readonly string[];
  readonly postUpdateHook: readonly string[];
  readonly logfile: string | null;
  readonly verbose: boolean;
  readonly detect: boolean;
  readonly allowFile: boolean;
  readonly refProbe: RefProbeMode;
  readonly checkpointMs: number;
  readonly schedule: Schedule;
  /** Check every URL, due or not. */
  readonly all: boolean;
  /** With a postgres:// state: this worker's part of the fleet (run-list.ts). */
  readonly fleet: { readonly shards: string | null; readonly leaseMs: number; readonly batch: number };
  /** Objects from the whole collection (--collection): the objstore directory (grok-fsck's `[core] objstore`), or null. */
  readonly objstoreDir: string | null;
}

export function dumbPullCommand(): Command {
  return newCommand('grok-dumb-pull', 'Fetch remotes of bare repositories, or mirror a list of upstream URLs, fetching only where ls-remote shows a change.')
    .argument('[paths...]', 'bare repositories (ending in .git) or directories to search for them (classic mode)')
    .option('-r, --remote-names <glob>', 'only fetch remotes whose name matches this glob (repeatable; default all)', collect)
    .option('-u, --post-update-hook <cmd>', 'run this with the repository path after a fetch or clone changed it')
    .option('-s, --svn', 'git-svn remotes (not supported: grok-dumb-pull refuses it)')
    .option('-l, --logfile <file>', 'also write a detailed log to this file')
    .option('-v, --verbose', 'say what is being done')
    .option('--list <file>', 'list mode: a file of upstream URLs, one per line, mirrored under --toplevel')
    .option('--toplevel <dir>', 'list mode: where the mirrors go, as <host>/<path>.git')
    .option('--manifest <file>', 'list mode: write a grokmirror manifest of the toplevel after the sweep')
    .option('--state <file|url>', 'list mode: the state database, a SQLite file (default: <list>.state.sqlite; a JSON state of earlier versions is taken in once), or a postgres:// URL shared by a fleet of workers')
    .option('--shards <list>', 'list mode, postgres state: claim only URLs of these shards (0-255), e.g. "0-127" (default: the toplevel\'s .grok-dumb-shards file, else all)')
    .option('--lease-secs <s>', 'list mode, postgres state: a claimed batch is this worker\'s for this long, renewed while it works; another worker takes it after', '300')
    .option('--batch <n>', 'list mode, postgres state: due URLs claimed at a time', '500')
    .option('-j, --jobs <n>', 'repositories worked on at once', '32')
    .option('--per-host <n>', 'list mode: at most this many at once per upstream host', '8')
    .option('--retries <n>', 'attempts for a transient network failure, the first included', '3')
    .option('--backoff-ms <ms>', 'first retry delay, doubled each time', '2000')
    .option('--ls-remote-timeout <s>', 'seconds an ls-remote may take', '120')
    .option('--no-detect', 'fetch every repository without asking ls-remote first (grokmirror 1.x behaviour)')
    .option('--allow-file-urls', 'list mode: accept file:// URLs (local testing)')
    .option('--ref-probe <how>', 'list mode: "auto" asks http(s) upstreams for their refs with one HTTP request and falls back to git ls-remote; "git" always runs git ls-remote', 'auto')
    .option('--checkpoint-secs <s>', 'list mode: record the rows that changed at most this often during a sweep', '30')
    .option('--all', 'list mode: check every URL this sweep, due or not')
    .option('--recheck-min <s>', 'list mode: first check after a change, and first delay after a failure', '3600')
    .option('--recheck-max <s>', 'list mode: longest time between two checks of a URL, and longest failure delay', '86400')
    .option('--collection', 'list mode: a new or updated URL borrows what other mirrors already hold, through objstores as grok-fsck makes them')
    .option('--objstore <dir>', 'list mode, with --collection: the objstore directory, as grok-fsck\'s [core] objstore (default: <toplevel>/objstore)');
}

export const dumbPullManual: Manual = {
  description: [
    "Classic mode is grokmirror's grok-dumb-pull: it fetches the remotes of the bare repositories given as paths (or found under directories given), only those whose refs moved (asked with git ls-remote first), runs -u with the path of each repository that changed, and updates grokmirror.fingerprint. -s (git-svn) is refused.",
    'List mode mirrors a file of upstream URLs (one per line, # comments) as bare mirrors under --toplevel, at <toplevel>/<host>/<path>.git; before any fetch the upstream is asked for its refs (one HTTP request for http(s) upstreams, git ls-remote otherwise) and only a repository whose refs changed is fetched. Each URL\'s outcome is kept in a SQLite state database (0600, credentials redacted), of which a checkpoint writes only the rows that changed; a sweep checks only the URLs that are due (a changed one again after --recheck-min, then less often as it stays quiet, at least every --recheck-max; a failing one after a doubling delay, at most --recheck-max; --all checks every URL); --manifest writes a grokmirror manifest of the toplevel afterwards.',
    "With --collection, list mode borrows from the whole collection: a new URL whose advertised branch or tag tips another mirror holds (a tip index in the state database says which, checked on disk) is cloned with --reference to that mirror's objstore (one is made, with that mirror as its first member, when it has none) and joins it as grok-fsck would join it, so only the fork's own objects travel and grok-fsck finds nothing to regroup; a member's fetched objects go to its objstore, so the next fork finds them there.",
  ],
  exitStatus: ['0 when every repository ended fetched, unchanged, not found or needing credentials; 1 when one failed after its retries; 2 for usage errors.'],
  files: [
    ['<list>.state.sqlite', "list mode: each URL's last outcome and next check (--state)"],
    ['<list>.state.json', 'list mode: the state of earlier versions, taken into a new database once'],
  ],
  examples: [
    ['Classic mode, every bare repository under a directory', 'grok-dumb-pull -v /srv/mirrors'],
    ['List mode, with a manifest for grok-origin', 'grok-dumb-pull --list upstreams.txt --toplevel /srv/mirror --manifest /srv/mirror/manifest.js.gz'],
  ],
  seeAlso: ['grok-pull(1)', 'grok-manifest(1)', 'git-ls-remote(1)', 'git-fetch(1)'],
};

function count(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new GrokError('GROK_ERR_USAGE', `${name} must be an integer of at least ${min}, not ${JSON.stringify(value)}`);
  return n;
}

function refProbeMode(value: string): RefProbeMode {
  if (value === 'auto' || value === 'git') return value;
  throw new GrokError('GROK_ERR_USAGE', `--ref-probe must be "auto" or "git", not ${JSON.stringify(value)}`);
}

export function resolveDumbPullOptions(flags: DumbPullFlags, args: readonly string[]): DumbPullOptions {
  if (flags.svn) {
    throw new GrokError('GROK_ERR_USAGE', '-s/--svn is not supported: grok-dumb-pull mirrors git remotes only (run `git svn fetch` for git-svn repositories)');
  }
  const list = flags.list !== undefined;
  if (list && args.length > 0) throw new GrokError('GROK_ERR_USAGE', '--list and repository paths are exclusive: give one or the other');
  if (!list && args.length === 0) throw new GrokError('GROK_ERR_USAGE', 'give repository paths or directories to search, or --list FILE --toplevel DIR');
  if (list && !flags.toplevel) throw new GrokError('GROK_ERR_USAGE', '--list needs --toplevel: where the mirrors go');
  if (!list && (flags.toplevel || flags.manifest || flags.state)) {
    throw new GrokError('GROK_ERR_USAGE', '--toplevel, --manifest and --state belong to list mode (--list FILE)');
  }
  const schedule = { firstMs: count('--recheck-min', flags.recheckMin, 0) * 1000, maxMs: count('--recheck-max', flags.recheckMax, 1) * 1000 };
  const pgState = flags.state !== undefined && isPostgresUrl(flags.state);
  if (flags.shards !== undefined && !pgState) throw new GrokError('GROK_ERR_USAGE', '--shards needs a postgres:// --state: shards split a list shared by a fleet');
  if (schedule.firstMs > schedule.maxMs) throw new GrokError('GROK_ERR_USAGE', '--recheck-min must not be more than --recheck-max');
  return Object.freeze({
    mode: list ? 'list' : 'classic',
    paths: [...args],
    listFile: flags.list ? path.resolve(flags.list) : '',
    toplevel: flags.toplevel ? path.resolve(flags.toplevel) : '',
    manifestFile: flags.manifest ? path.resolve(flags.manifest) : null,
    stateFile: pgState ? flags.state! : path.resolve(flags.state ?? `${flags.list ?? ''}.state.sqlite`),
    legacyStateFile: flags.state === undefined ? path.resolve(`${flags.list ?? ''}.state.json`) : null,
    jobs: count('--jobs', flags.jobs, 1),
    perHost: count('--per-host', flags.perHost, 1),
    attempts: count('--retries', flags.retries, 1),
    backoffMs: count('--backoff-ms', flags.backoffMs, 0),
    lsRemoteTimeoutMs: count('--ls-remote-timeout', flags.lsRemoteTimeout, 1) * 1000,
    remoteNames: flags.remoteNames && flags.remoteNames.length > 0 ? flags.remoteNames : ['*'],
    postUpdateHook: flags.postUpdateHook ? [flags.postUpdateHook] : [],
    logfile: flags.logfile ?? null,
    verbose: Boolean(flags.verbose),
    detect: flags.detect,
    allowFile: Boolean(flags.allowFileUrls),
    refProbe: refProbeMode(flags.refProbe),
    checkpointMs: count('--checkpoint-secs', flags.checkpointSecs, 1) * 1000,
    schedule: Object.freeze(schedule),
    all: Boolean(flags.all),
    fleet: Object.freeze({ shards: flags.shards ?? null, leaseMs: count('--lease-secs', flags.leaseSecs, 1) * 1000, batch: count('--batch', flags.batch, 1) }),
    objstoreDir: list && flags.collection === true ? path.resolve(flags.objstore ?? path.join(flags.toplevel ?? '', 'objstore')) : null,
  });
}
