#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { Git } from '../../shared/git/index.js';
import { createCliLogger } from '../../shared/log.js';
import { createProgress } from '../../shared/progress.js';
import { manifestCommand, resolveManifestOptions, type ManifestFlags } from '../manifest/cli-options.js';
import { canHandOff, handOff } from '../manifest/handoff-run.js';
import { runManifest } from '../manifest/run.js';

runCli('grok-manifest', async (argv) => {
  const cmd = manifestCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<ManifestFlags>();
  const config = flags.cfgfile ? loadConfig(flags.cfgfile) : null;
  const opts = resolveManifestOptions(flags, cmd.args, config);
  const log = createCliLogger({
    name: 'grok-manifest',
    verbose: opts.verbose,
    ...(opts.logfile ? { logfile: opts.logfile } : {}),
    ...(opts.loglevel ? { fileLevel: opts.loglevel } : {}),
  });
  for (const w of config?.warnings ?? []) log.warn(w);
  const started = Date.now();
  const git = new Git();
  if (!opts.standalone && canHandOff(opts.run)) {
    const handed = await handOff(opts.run, git, log);
    if (handed.handled) return handed.ok ? EXIT_OK : EXIT_FAILURE;
  }
  const progress = (total: number) => createProgress({ label: 'grok-manifest', total });
  const res = await runManifest(opts.run, { git, log, now: Date.now, ...(opts.verbose ? {} : { progress }) });
  log.info(
    `${res.total} repositories listed: ${res.added.length} added, ${res.updated.length} updated, ` +
      `${res.unchanged} unchanged, ${res.removed.length} removed, ${res.failed.length} failed ` +
      `in ${((Date.now() - started) / 1000).toFixed(2)}s`,
  );
  return res.failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
});
