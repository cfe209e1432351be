#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { printCheckedConfig } from '../../shared/config/print.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { configLogger } from '../../shared/log.js';
import { bundleCommand, type BundleFlags } from '../bundle/cli-options.js';
import { runBundle } from '../bundle/run.js';

runCli('grok-bundle', async (argv, cli) => {
  const cmd = bundleCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<BundleFlags>();
  const maxSizeGiB = Number(flags.maxsize);
  if (flags.maxsize.trim() === '' || !Number.isFinite(maxSizeGiB) || maxSizeGiB < 0) {
    throw new GrokError('GROK_ERR_USAGE', `-s ${JSON.stringify(flags.maxsize)}: expected a number of GiB, 0 or more`);
  }
  const config = loadConfig(flags.config);
  if (flags.checkConfig) return (printCheckedConfig('grok-bundle', config), EXIT_OK);
  const log = configLogger('grok-bundle', config, Boolean(flags.verbose));
  cli.logTo(log);
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
