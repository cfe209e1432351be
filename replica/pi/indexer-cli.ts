/**
 * grok-pi-indexer's command line: grokmirror 2.1's flags, names and defaults (its argparse definitions),
 * built with commander like the other commands so that --help and the manual page come from here.
 */
import { Command, InvalidArgumentError } from 'commander';
import { newCommand, type Manual } from '../../shared/cli.js';

export const DEFAULT_ORIGIN_HOSTNAME = 'https://lore.kernel.org/';
export const DEFAULT_LISTID_PRIORITY = '*.linux.dev,*.kernel.org';
export const DEFAULT_EXTRA_CFGOPTS = 'indexheader,replyto';
export const INDEXLEVELS = ['full', 'medium', 'basic'] as const;

/** A whole number from 0 (argparse's `type=int`, negative refused). */
export function count(value: string): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

function indexlevel(value: string): string {
  if (!(INDEXLEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${INDEXLEVELS.join(', ')}`);
  return value;
}

export interface IndexerFlags {
  verbose?: boolean;
  piConfig: string;
  toplevel: string;
  piToplevel?: string;
  logfile?: string;
  indexlevel: string;
  jobs?: number;
  fsync: boolean;
}

export interface InitFlags {
  localToplevel: string;
  originHostname: string;
  listidPriority: string;
  extraCfgopts: string;
  forceReinit?: boolean;
}

export function indexerCommand(): Command {
  const cmd = newCommand('grok-pi-indexer', 'Properly initialize and update mirrored public-inbox repositories.')
    .option('-v, --verbose', 'be verbose and tell us what you are doing')
    .requiredOption('-c, --pi-config <file>', 'location of the public-inbox configuration file')
    .requiredOption('-t, --toplevel <dir>', 'path to git repository mirror toplevel')
    .option('-p, --pi-toplevel <dir>', 'path to public-inbox toplevel, if separate')
    .option('-l, --logfile <file>', 'log activity in this log file')
    .option('-L, --indexlevel <level>', `indexlevel to use with public-inbox (${INDEXLEVELS.join(', ')})`, indexlevel, 'full')
    .option('-j, --jobs <N>', 'the --jobs parameter to pass to public-inbox', count)
    .option('--no-fsync', 'use --no-fsync when invoking public-inbox');
  cmd
    .command('init')
    .description('run public-inbox-init and -index on the repositories named on stdin (post_clone_complete_hook), or on one inboxdir')
    .option('--local-toplevel <url>', 'URL of the local mirror toplevel (omit if serving from /)', '')
    .option('--origin-hostname <url>', 'URL of the origin toplevel serving config files', DEFAULT_ORIGIN_HOSTNAME)
    .option('--listid-priority <globs>', 'List-Ids priority order (comma-separated, can use shell globbing)', DEFAULT_LISTID_PRIORITY)
    .option('--extra-cfgopts <keys>', 'extra config options to accept from remote (comma-separated)', DEFAULT_EXTRA_CFGOPTS)
    .option('--force-reinit', 'force a full (re-)init of an inboxdir')
    .argument('[inboxdir]', 'path to toplevel inboxdir (non-hook mode)');
  cmd
    .command('update')
    .description('run public-inbox-index on the inbox of the repository given (post_update_hook)')
    .argument('<repo>', 'full path to foo/git/N.git public-inbox repository');
  cmd.command('extindex').description('run public-inbox-extindex --all on all inboxes (post_work_complete_hook)');
  return cmd;
}

export const indexerManual: Manual = {
  description: [
    'grok-pi-indexer keeps public-inbox\'s view of a mirror of public-inbox archives current, called from grok-pull\'s hooks. It runs public-inbox\'s own commands, which must be on PATH (public-inbox 1.6 or later; Debian: apt-get install public-inbox), with PI_CONFIG set to the file -c names.',
    'init (post_clone_complete_hook, the new repositories on stdin; or one inbox directory given) registers each new inbox with public-inbox-init, taking its addresses, description, newsgroup, listid and the keys --extra-cfgopts names from the origin: the refs/meta/origins:i file of its newest epoch that has one, else <origin-hostname>/<list>/_/text/config/raw. Then public-inbox-index indexes it. An inbox already registered is only indexed; the epochs are locked against grok-pull while public-inbox-init looks at them. A registration that failed is tried again by the next update of that inbox.',
    'update (post_update_hook) runs public-inbox-index on the inbox of the repository given, which takes in new epochs as they appear. extindex (post_work_complete_hook) runs public-inbox-extindex --all into the [extindex "all"] topdir of the public-inbox configuration (created when missing).',
    'With -p, public-inbox\'s files live under another toplevel at the same relative path, reaching the mirrored epochs through a git symlink. One line per inbox tells what was done.',
  ],
  exitStatus: [
    '0 when every inbox was registered and indexed as asked (or had nothing to do); 1 when public-inbox is missing or one of its commands failed (the inbox is left for the next hook call); 2 for usage errors.',
  ],
  examples: [
    ['In the [pull] section of the grok-pull configuration of a lore.kernel.org mirror', 'post_clone_complete_hook = /usr/bin/grok-pi-indexer -c /etc/public-inbox/config -t ${core:toplevel} init\npost_update_hook = /usr/bin/grok-pi-indexer -c /etc/public-inbox/config -t ${core:toplevel} update\npost_work_complete_hook = /usr/bin/grok-pi-indexer -c /etc/public-inbox/config -t ${core:toplevel} extindex'],
    ['Register and index one inbox by hand, from scratch', 'grok-pi-indexer -c /etc/public-inbox/config -t /var/lib/git/lore.kernel.org init --force-reinit /var/lib/git/lore.kernel.org/linux-mm'],
  ],
  seeAlso: ['grok-pull(1)', 'grok-pi-piper(1)', 'public-inbox-init(1)', 'public-inbox-index(1)', 'public-inbox-extindex(1)'],
};
