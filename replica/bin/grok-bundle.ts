#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, newCommand, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { configLogger } from '../../shared/log.js';
import { DEFAULT_GITARGS, DEFAULT_REVLISTARGS } from '../bundle/args.js';
import { runBundle } from '../bundle/run.js';

runCli('grok-bundle', async (argv) => {
  const cmd = newCommand('grok-bundle', 'Generate clone.bundle files for use with "repo".')
    .requiredOption('-c, --config <file>', 'grokmirror.conf (toplevel and manifest from [core])')
    .requiredOption('-o, --outdir <dir>', 'where to store bundle files (<outdir>/<repo without .git>/clone.bundle)')
    .option('-g, --gitargs <args>', 'extra args to pass to git (-c key=value items)', DEFAULT_GITARGS)
    .option('-r, --revlistargs <args>', 'rev-list args to use', DEFAULT_REVLISTARGS)
    .option('-s, --maxsize <GiB>', 'maximum size of git repositories to bundle (in GiB)', '2')
    .option('-i, --include <globs...>', 'list repositories to bundle (accepts shell globbing)', ['*'])
    .option('-v, --verbose', 'be verbose and tell us what you are doing')
    .parse(argv, { from: 'user' });
  const flags = cmd.opts<{ config: string; outdir: string; gitargs: string; revlistargs: string; maxsize: string; include: string[]; verbose?: boolean }>();
  const maxSizeGiB = Number(flags.maxsize);
  if (flags.maxsize.trim() === '' || !Number.isFinite(maxSizeGiB) || maxSizeGiB < 0) {
    throw new GrokError('GROK_ERR_USAGE', `-s ${JSON.stringify(flags.maxsize)}: expected a number of GiB, 0 or more`);
  }
  const config = loadConfig(flags.config);
  const log = configLogger('grok-bundle', config, Boolean(flags.verbose));
  const res = await runBundle(
    config.core,
    { outdir: flags.outdir, gitargs: flags.gitargs, revlistargs: flags.revlistargs, maxSizeGiB, include: flags.include },
    { git: new Git(), log },
  );
  if (res.status === 'busy') {
    process.stderr.write('grok-bundle: another grok-bundle is writing into this outdir; nothing to do\n');
    return EXIT_OK;
  }
  const failed = [...res.outcomes].filter(([, r]) => r.status === 'failed');
  if (failed.length > 0 && !flags.verbose) process.stderr.write(`grok-bundle: ${failed.length} bundles failed (see the log)\n`);
  return failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
});
