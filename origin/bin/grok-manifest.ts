#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { printCheckedConfig } from '../../shared/config/print.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { checkToplevelUser } from '../../shared/fs/toplevel-user.js';
import { createCliLogger } from '../../shared/log.js';
import { manifestCommand, resolveManifestOptions, type ManifestFlags } from '../manifest/cli-options.js';
import { setArchiveMarks } from '../manifest/archive.js';
import { canHandOff, handOff } from '../manifest/handoff-run.js';

runCli('grok-manifest', async (argv, cli) => {
  const cmd = manifestCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<ManifestFlags>();
  const config = flags.cfgfile ? loadConfig(flags.cfgfile) : null;
  if (flags.checkConfig && !config) throw new GrokError('GROK_ERR_USAGE', '--check-config checks the file given with --cfgfile');
  let opts = resolveManifestOptions(flags, cmd.args, config);
  if (flags.checkConfig && config) return (printCheckedConfig('grok-manifest', config), EXIT_OK);
  const log = createCliLogger({
    name: 'grok-manifest',
    verbose: opts.verbose,
    ...(opts.logfile ? { logfile: opts.logfile } : {}),
    ...(opts.loglevel ? { fileLevel: opts.loglevel } : {}),
  });
  cli.logTo(log);
  for (const w of config?.warnings ?? []) log.warn(w);
  const otherUser = checkToplevelUser(opts.run.toplevel, { uid: process.geteuid?.() ?? 0, asOtherUser: Boolean(flags.asOtherUser) });
  if (otherUser) log.warn(otherUser);
  const started = Date.now();
  const git = new Git();
  let marksFailed = false;
  if (opts.archive !== null) {
    // The marker first: the manifest update below (or grok-origin's) reads it from the repository.
    const marks = await setArchiveMarks(opts.run.toplevel, opts.run.paths, opts.archive, Math.floor(Date.now() / 1000));
    for (const f of marks.failed) log.error({ path: f.path }, `cannot ${opts.archive ? 'archive' : 'unarchive'} ${f.path}: ${f.error}`);
    for (const p of marks.done) log.info({ path: p, action: opts.archive ? 'archive' : 'unarchive' }, `${opts.archive ? 'archived' : 'unarchived'} ${p}`);
    if (marks.done.length === 0) return EXIT_FAILURE;
    marksFailed = marks.failed.length > 0;
    opts = { ...opts, run: { ...opts.run, paths: marks.done } };
  }
  if (!opts.standalone && canHandOff(opts.run)) {
    const handed = await handOff(opts.run, git, log);
    if (handed.handled) return handed.ok && !marksFailed ? EXIT_OK : EXIT_FAILURE;
  }
  // Loaded only here: a hook handing off to grok-origin does not pay for compiling the manifest code.
  const [{ runManifest }, { createProgress }] = await Promise.all([import('../manifest/run.js'), import('../../shared/progress.js')]);
  const progress = (total: number) => createProgress({ label: 'grok-manifest', total });
  const res = await runManifest(opts.run, { git, log, now: Date.now, ...(opts.verbose ? {} : { progress }) });
  log.info(
    `${res.total} repositories listed: ${res.added.length} added, ${res.updated.length} updated, ` +
      `${res.unchanged} unchanged, ${res.removed.length} removed, ${res.failed.length} failed ` +
      `in ${((Date.now() - started) / 1000).toFixed(2)}s`,
  );
  return res.failed.length > 0 || marksFailed ? EXIT_FAILURE : EXIT_OK;
});
