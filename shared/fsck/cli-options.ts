/** grok-fsck's command line (grokmirror 2.x flags) and the hand-written parts of its manual page. */
import type { Command } from 'commander';
import { newCommand, type Manual } from '../cli.js';

export interface FsckFlags {
  config: string;
  verbose?: boolean;
  force?: boolean;
  repackOnly?: boolean;
  connectivityOnly?: boolean;
  repackAllQuick?: boolean;
  repackAllFull?: boolean;
  asOtherUser?: boolean;
  checkConfig?: boolean;
}

export function fsckCommand(): Command {
  return newCommand('grok-fsck', 'Group forks into objstores, repack and check the repositories of a mirror.')
    .requiredOption('-c, --config <file>', 'grokmirror.conf ([core] and [fsck] sections)')
    .option('-v, --verbose', 'say what is being done')
    .option('-f, --force', 'check every repository now, whatever the schedule says')
    .option('--repack-only', 'objstore work and repacks only, no git fsck')
    .option('--connectivity-only', 'git fsck --connectivity-only (much faster; no object checks)')
    .option('--repack-all-quick', 'quick-repack every repository (implies --force)')
    .option('--repack-all-full', 'fully repack every repository (implies --force)')
    .option('--as-other-user', "run as root on a toplevel another user owns (what root makes there stays root's)")
    .option('--check-config', 'check the config, print every key as this command uses it (defaults filled in, ${...} resolved, URL credentials hidden) and exit: 0 valid, 1 not');
}

export const fsckManual: Manual = {
  description: [
    'grok-fsck keeps a mirror small and sound, on an origin or a replica, as a drop-in for grokmirror 2.x: the same config, status file ([fsck] statusfile), locks and objstores.',
    'Forks are found from their root commits (cached in grokmirror.roots) and share one objstore repository under [core] objstore; public members are remotes of it, [core] private ones borrow without giving. Every step keeps the repositories whole: objects reach the objstore before a member borrows from it, and a member is slimmed only after that. On an origin, members\' manifest entries get forkgroup and reference.',
    'Each repository and objstore is repacked when worth it and checked with git fsck when its day comes ([fsck] frequency days); findings go to grokmirror.fsck.err, [fsck] reclone_on_errors makes a replica clone a repository again, and critical findings are mailed to [fsck] report_to. One grok-fsck runs at a time (a second exits 0 saying so).',
  ],
  exitStatus: ['0 when no repository has problems (or another grok-fsck is running); 1 when one has; 2 for usage errors (the four exclusive options together, for one).'],
  files: [
    ['[fsck] statusfile', 'when each repository was last checked and repacked (grokmirror\'s format), and its lock beside it'],
    ['<repo>/grokmirror.fsck.err', "git fsck's findings for that repository"],
    ['<objstore>/grokmirror.objstore', 'marks an objstore repository, and lists its members'],
  ],
  examples: [
    ['The weekly run (grok-fsck@.timer)', 'grok-fsck -c /etc/grokmirror/mirror.conf'],
    ['Check everything now, connectivity only', 'grok-fsck -c /etc/grokmirror/mirror.conf -f --connectivity-only'],
  ],
  seeAlso: ['grok-pull(1)', 'grok-manifest(1)', 'git-fsck(1)', 'git-repack(1)'],
};
