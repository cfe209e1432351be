/** grok-bundle's command line (grokmirror's flags) and the hand-written parts of its manual page. */
import type { Command } from 'commander';
import { newCommand, type Manual } from '../../shared/cli.js';
import { DEFAULT_GITARGS, DEFAULT_REVLISTARGS } from './args.js';

export interface BundleFlags {
  config: string;
  outdir: string;
  gitargs: string;
  revlistargs: string;
  maxsize: string;
  include: string[];
  verbose?: boolean;
  checkConfig?: boolean;
}

export function bundleCommand(): Command {
  return newCommand('grok-bundle', 'Generate clone.bundle files for use with "repo".')
    .requiredOption('-c, --config <file>', 'grokmirror.conf (toplevel and manifest from [core])')
    .requiredOption('-o, --outdir <dir>', 'where to store bundle files (<outdir>/<repo without .git>/clone.bundle)')
    .option('-g, --gitargs <args>', 'extra args to pass to git (-c key=value items)', DEFAULT_GITARGS)
    .option('-r, --revlistargs <args>', 'rev-list args to use', DEFAULT_REVLISTARGS)
    .option('-s, --maxsize <GiB>', 'maximum size of git repositories to bundle (in GiB)', '2')
    .option('-i, --include <globs...>', 'list repositories to bundle (accepts shell globbing)', ['*'])
    .option('-v, --verbose', 'be verbose and tell us what you are doing')
    .option('--check-config', 'check the config, print every key as this command uses it (defaults filled in, ${...} resolved, URL credentials hidden) and exit: 0 valid, 1 not');
}

export const bundleManual: Manual = {
  description: [
    "grok-bundle writes a clone.bundle for each repository of the manifest, for Android's repo tool, which downloads it before cloning. A bundle is written beside its place and renamed in, and rewritten only when the repository changed. grok-origin serves the directory given as [origin] bundle_dir.",
  ],
  exitStatus: ['0 when every bundle was written or up to date (or another grok-bundle is writing into the directory); 1 when one failed; 2 for usage errors.'],
  examples: [['Bundles of everything under 2 GiB', 'grok-bundle -c /etc/grokmirror/origin.conf -o /var/lib/git/bundles']],
  seeAlso: ['grok-origin(1)', 'git-bundle(1)'],
};
