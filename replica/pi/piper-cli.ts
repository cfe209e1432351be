/**
 * grok-pi-piper's command line: grokmirror 2.1's flags, names and defaults (its argparse definitions),
 * built with commander like the other commands so that --help and the manual page come from here.
 */
import { Command } from 'commander';
import { newCommand, type Manual } from '../../shared/cli.js';
import { count } from './indexer-cli.js';

export interface PiperFlags {
  verbose?: boolean;
  dryRun?: boolean;
  config: string;
  pipeLast?: number;
}

export function piperCommand(): Command {
  return newCommand('grok-pi-piper', 'Pipe new messages from public-inbox repositories to arbitrary commands.')
    .option('-v, --verbose', 'be verbose and tell us what you are doing')
    .option('-d, --dry-run', 'do a dry-run and just show what would be done')
    .requiredOption('-c, --config <file>', 'location of the configuration file (pi-piper.conf)')
    .option('-l, --pipe-last <N>', 'force pipe last N messages in the list, regardless of tracking', count)
    .argument('<repo>', 'full path to foo/git/N.git public-inbox repository');
}

export const piperManual: Manual = {
  description: [
    'grok-pi-piper is a post_update_hook for mirrors of public-inbox archives (lore.kernel.org and the like: one repository per epoch of a list, <list>/git/<N>.git, each commit adding one message as the file m, or a deletion record as d). It pipes every message that is new since its last run to the command given by pipe in its configuration file (procmail, a script), one message per run of the command, oldest first. The file is grokmirror\'s pi-piper.conf: [DEFAULT] settings, overridden by a section named after a list (the repository path is matched against */<section>/git/*.git); pipe = None leaves a list alone; shallow = yes prunes what was piped; log and loglevel name a log file and its level.',
    'The first run on a list pipes nothing and records where the list stands (as grokmirror does). After that, each message is piped exactly once: where the piper stopped is kept per repository in <list>/git/<N>.git.pi-piper.json (beside the repository, so a reclone does not start it over) and, for grokmirror\'s piper, in the repository\'s pi-piper.latest. A message is marked done only once the command exited 0; a run that is killed pipes the message it was on again next time (and says so). A new epoch of a followed list is piped from its first message; a deletion commit (d) and a purged message are skipped; a rewritten epoch (public-inbox-purge, a force push) resumes after the newest message already piped rather than starting over. With shallow = yes the repository becomes a shallow clone cut at the last message handled, and later fetches add to it as usual (git fetch _grokmirror master --deepen N brings old messages back).',
    'One line per repository tells what was done (on stdout, which grok-pull logs); a failure goes to stderr.',
  ],
  exitStatus: [
    '0 when every new message was piped (or the list is not piped: pipe = None, or the path is not a public-inbox epoch); 1 when the pipe command failed or could not be run: the message it failed on and those after it are left for the next run; 2 for usage errors.',
  ],
  files: [
    ['~/.config/pi-piper.conf', 'the configuration file the manual of grokmirror suggests (-c names it)'],
    ['<list>/git/<N>.git.pi-piper.json', 'where piping stopped in that epoch'],
    ['<list>/git/<N>.git/pi-piper.latest', 'the last commit handled, as grokmirror\'s grok-pi-piper writes it'],
  ],
  examples: [
    ['In the [pull] section of the grok-pull configuration', 'post_update_hook = ~/.local/bin/grok-pi-piper -c ~/.config/pi-piper.conf'],
    ['A pi-piper.conf that delivers every list to procmail, pruning what was delivered', '[DEFAULT]\npipe = /usr/bin/procmail\nshallow = yes'],
    ['Pipe the last 10 messages of an epoch again, whatever was piped before', 'grok-pi-piper -c ~/.config/pi-piper.conf -l 10 ~/.local/share/grokmirror/lore/linux-mm/git/0.git'],
  ],
  seeAlso: ['grok-pull(1)', 'grok-pi-indexer(1)', 'procmail(1)'],
};

