/**
 * grok-manifest's command line (grokmirror 2.x flags, plus --regenerate) and how it combines with
 * `--cfgfile`: flags win, config fills in what flags leave unset, ignore globs from both apply.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { collect, newCommand, type Manual } from '../../shared/cli.js';
import type { GrokConfig } from '../../shared/config/config.js';
import { GrokError } from '../../shared/errors.js';
import type { ManifestRunOptions } from './run.js';

export interface ManifestFlags {
  cfgfile?: string;
  manifest?: string;
  toplevel?: string;
  logfile?: string;
  useNow?: boolean;
  checkExportOk?: boolean;
  purge?: boolean;
  remove?: boolean;
  pretty?: boolean;
  ignorePaths?: string[];
  ignoreRefs?: string[];
  waitForManifest?: boolean;
  fetchObjstore?: boolean;
  regenerate?: boolean;
  standalone?: boolean;
  archive?: boolean;
  unarchive?: boolean;
  verbose?: boolean;
  asOtherUser?: boolean;
  checkConfig?: boolean;
}

export function manifestCommand(): Command {
  return newCommand('grok-manifest', 'Create or update a grokmirror manifest of the bare repositories under a toplevel.')
    .usage('[options] [paths...]')
    .argument('[paths...]', 'repositories to update (default: walk the whole toplevel)')
    .option('--cfgfile <file>', 'grokmirror.conf to read [core] and [manifest] settings from')
    .option('-m, --manifest <file>', 'manifest file (manifest.js or manifest.js.gz)')
    .option('-t, --toplevel <dir>', 'directory holding the repositories')
    .option('-l, --logfile <file>', 'also write a structured log to this file')
    .option('-n, --use-now', 'use the current time as "modified" instead of the newest commit')
    .option('-c, --check-export-ok', 'list only repositories that have git-daemon-export-ok')
    .option('-p, --purge', 'walk the toplevel and drop entries whose repository is gone')
    .option('-x, --remove', 'remove the given repositories from the manifest')
    .option('-y, --pretty', 'pretty-print the manifest (indented, keys sorted)')
    .option('-i, --ignore-paths <glob>', 'skip repositories matching this glob (repeatable)', collect)
    .option('-r, --ignore-refs <glob>', 'leave refs matching this glob out of fingerprints, e.g. refs/meta/* (repeatable)', collect)
    .option('-w, --wait-for-manifest', 'with paths: wait until the manifest file exists')
    .option('-o, --fetch-objstore', 'fetch updated repositories into their objstore repository')
    .option('--regenerate', 'rebuild from a full walk when the existing manifest cannot be read')
    .option('--archive', 'mark the given repositories archived (a grokmirror.archived file): still served, no longer fetched by replicas')
    .option('--unarchive', 'remove the archived mark from the given repositories; replicas fetch them again')
    .option('--standalone', 'never hand the paths to a running grok-origin; update the file here')
    .option('-v, --verbose', 'say what is being done')
    .option('--as-other-user', "run as root on a toplevel another user owns (what root makes there stays root's)")
    .option('--check-config', 'check the --cfgfile config, print every key as this command uses it (defaults filled in, ${...} resolved, URL credentials hidden) and exit: 0 valid, 1 not');
}

export const manifestManual: Manual = {
  description: [
    'grok-manifest writes the manifest of the bare repositories under a toplevel: a JSON object (gzip when the file name ends in .gz) keyed by repository path, each entry with modified, fingerprint, head, reference and, when they apply, owner, description, forkgroup and symlinks. It is a drop-in for grokmirror 2.x: the same flags, the same keys and values, the same lock file (.<manifest>.lock).',
    'Without paths, or with -p, it walks the toplevel (symlinks to repositories are listed in their target\'s symlinks; objstores and -i globs are skipped). With paths it updates just those entries: the hook form, grok-manifest -n -m M -t T $GIT_DIR. When a grok-origin serves the manifest the paths are handed to it, and it writes the file; --standalone updates the file here regardless.',
    'Unlike grokmirror it never rebuilds an unreadable manifest silently (--regenerate does it on purpose), recomputes every field of an updated entry, rewrites the file only when something changed, and -p works.',
  ],
  exitStatus: ['0 when every path was processed; 1 when one failed (each is named on stderr, the others are still processed); 2 for usage errors.'],
  files: [
    ['<manifest dir>/.<manifest>.lock', 'the lock every writer of the manifest takes (grokmirror\'s too)'],
    ['<repo>/grokmirror.fingerprint', 'the fingerprint of the repository\'s refs, as the manifest lists it'],
    ['<repo>/grokmirror.archived', 'written by --archive: the repository is still served, replicas stop fetching it'],
  ],
  examples: [
    ['A full walk', 'grok-manifest -m /srv/git/manifest.js.gz -t /srv/git'],
    ['From a post-receive hook', 'grok-manifest -n -m /srv/git/manifest.js.gz -t /srv/git "$GIT_DIR"'],
    ['Settings from the config, a nightly walk that drops what is gone', 'grok-manifest --cfgfile /etc/grokmirror/origin.conf -p'],
  ],
  seeAlso: ['grok-origin(1)', 'grok-pull(1)', 'grok-fsck(1)', 'githooks(5)'],
};

export interface ResolvedManifestCli {
  readonly run: ManifestRunOptions;
  readonly logfile?: string;
  readonly loglevel?: string;
  readonly verbose: boolean;
  readonly standalone: boolean;
  /** --archive (true) / --unarchive (false): set the marker on `run.paths` first; null: neither. */
  readonly archive: boolean | null;
}

export function resolveManifestOptions(flags: ManifestFlags, paths: string[], config: GrokConfig | null): ResolvedManifestCli {
  const manifestFile = flags.manifest ?? config?.core.manifest;
  const toplevel = flags.toplevel ?? config?.core.toplevel;
  if (!manifestFile) throw new GrokError('GROK_ERR_USAGE', 'no manifest file: give -m/--manifest or --cfgfile with [core] manifest');
  if (!toplevel) throw new GrokError('GROK_ERR_USAGE', 'no toplevel: give -t/--toplevel or --cfgfile with [core] toplevel');
  if (flags.waitForManifest && paths.length === 0) throw new GrokError('GROK_ERR_USAGE', '-w/--wait-for-manifest only makes sense with paths');
  if (flags.remove && paths.length === 0) throw new GrokError('GROK_ERR_USAGE', '-x/--remove needs the paths to remove');
  if (flags.archive && flags.unarchive) throw new GrokError('GROK_ERR_USAGE', '--archive and --unarchive cannot be given together');
  if ((flags.archive || flags.unarchive) && (paths.length === 0 || flags.remove)) {
    throw new GrokError('GROK_ERR_USAGE', `--${flags.archive ? 'archive' : 'unarchive'} needs the paths of the repositories (and no -x/--remove)`);
  }
  const logfile = flags.logfile ?? (config?.core.log || undefined);
  // The log written over the manifest would corrupt it (a config is checked for this when read).
  if (logfile && path.resolve(logfile) === path.resolve(manifestFile)) {
    throw new GrokError('GROK_ERR_USAGE', `the log file and the manifest are the same file (${path.resolve(manifestFile)}); give each its own path`);
  }
  return {
    run: {
      toplevel,
      manifestFile,
      paths,
      pretty: Boolean(flags.pretty || config?.manifest.pretty),
      useNow: Boolean(flags.useNow),
      checkExportOk: Boolean(flags.checkExportOk || config?.manifest.check_export_ok),
      purge: Boolean(flags.purge),
      remove: Boolean(flags.remove),
      wait: Boolean(flags.waitForManifest),
      fetchObjstore: Boolean(flags.fetchObjstore || config?.manifest.fetch_objstore),
      regenerate: Boolean(flags.regenerate),
      ignorePaths: [...(flags.ignorePaths ?? []), ...(config?.manifest.ignore ?? [])],
      ignoreRefs: flags.ignoreRefs ?? [],
      ...(config ? { maxBytes: config.core.manifest_max_size } : {}),
    },
    ...(logfile ? { logfile } : {}),
    ...(config ? { loglevel: config.core.loglevel } : {}),
    verbose: Boolean(flags.verbose),
    standalone: Boolean(flags.standalone),
    archive: flags.archive ? true : flags.unarchive ? false : null,
  };
}
