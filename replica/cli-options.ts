/** grok-pull's command line (grokmirror 2.x flags) and the hand-written parts of its manual page. */
import type { Command } from 'commander';
import { newCommand, type Manual } from '../shared/cli.js';

export interface PullFlags {
  config: string;
  mtimeCheck: boolean;
  purge?: boolean;
  forcePurge?: boolean;
  continuous?: boolean;
  verbose?: boolean;
  asOtherUser?: boolean;
  checkConfig?: boolean;
  dryRun?: boolean;
  status?: boolean;
}

export function pullCommand(): Command {
  return newCommand('grok-pull', 'Mirror the repositories listed in a remote grokmirror manifest.')
    .requiredOption('-c, --config <file>', 'grokmirror.conf ([core], [remote] and [pull] sections)')
    .option('-n, --no-mtime-check', 'fetch the remote manifest even if it has not changed')
    .option('-p, --purge', 'remove local repositories that left the remote manifest')
    .option('--force-purge', 'purge even past purgeprotect, and accept an empty remote manifest')
    .option('-o, --continuous', 'keep running: re-check every [pull] refresh seconds, follow the change feed, listen on [pull] socket')
    .option('-v, --verbose', 'say what is being done')
    .option('--as-other-user', "run as root on a toplevel another user owns (what root makes there stays root's)")
    .option('--dry-run', 'read the remote manifest and the disk, print what a pass would do (one line per repository: clone, reclone, fetch, fix, refuse, skip, purge) and change nothing')
    .option('--status', 'print, from the state the passes leave in the toplevel (no daemon needed), the last pass and the failing repositories with their last error and next retry; exit 0 all well, 1 something failing, 3 no pass recorded yet')
    .option('--check-config', 'check the config, print every key as this command uses it (defaults filled in, ${...} resolved, URL credentials hidden) and exit: 0 valid, 1 not');
}

export const pullManual: Manual = {
  description: [
    'grok-pull keeps a replica: bare mirrors, under [core] toplevel, of the repositories an origin lists in its manifest. It is a drop-in for grokmirror 2.x: the same config file, flags, manifest, lock files, state files and objstores.',
    'One pass reads the remote manifest ([remote] manifest_command, or [remote] manifest over http(s) with If-Modified-Since and ETag, or file://), checks every entry before anything acts on it, and clones, fetches, reconfigures or purges what differs. New clones are built aside and renamed into place when complete; removals go through <toplevel>/.grokmirror-trash. Forks of a forkgroup (and grokmirror 1.x entries with a reference) are cloned against a shared objstore. The fetch is recorded only once the work it implied is done, so a killed or failed pass is redone.',
    'With -o it keeps running: it follows a grok-origin change feed ([pull] feed), takes manifest paths on [pull] socket, re-reads the manifest every [pull] refresh seconds, and can serve a status page ([pull] status_listen).',
  ],
  exitStatus: [
    '0 when every repository was done (or the manifest had not changed), and when another pass was running on the toplevel (it says so and does nothing); 1 when a repository failed or a purge was refused (grokmirror always exits 0); 2 for usage errors.',
    'With --status: 0 when the last pass ended well and no repository is failing; 1 when one is, or the last pass failed; 3 when no pass was recorded yet.',
  ],
  files: [
    ['/etc/grokmirror/<instance>.conf', 'the configuration (grokmirror.conf format)'],
    ['<toplevel>/.<manifest>.remote', 'the last fetch of the remote manifest (grokmirror\'s format)'],
    ['<repo>/grokmirror.fingerprint', 'what the repository holds, as the manifest computes it'],
    ['<toplevel>/.grok-pull-status.json', 'the last pass and the failing repositories, for --status'],
    ['<toplevel>/.grok-pull-pass.lck, .grok-pull-pass.pid', 'one pass at a time: the lock, and the pid of the pass holding it'],
    ['<repo>/grokmirror.reclone', 'written by grok-fsck: the next pass clones the repository again'],
  ],
  examples: [
    ['One pass, from a timer', 'grok-pull -c /etc/grokmirror/mirror.conf'],
    ['Re-read the manifest even if unchanged, and purge what left it', 'grok-pull -c /etc/grokmirror/mirror.conf -n -p'],
    ['Keep running (systemd unit grok-pull@.service)', 'grok-pull -c /etc/grokmirror/mirror.conf -o'],
  ],
  seeAlso: ['grok-fsck(1)', 'grok-origin(1)', 'grok-manifest(1)', 'grok-dumb-pull(1)', 'git-clone(1)'],
};
