#!/usr/bin/env node
import { surviveHangup } from '../../shared/log-file.js';
import { EXIT_FAILURE, EXIT_OK, newCommand, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { Git } from '../../shared/git/index.js';
import { configLogger } from '../../shared/log.js';
import type { PullEvents } from '../events.js';
import { runPull } from '../run.js';
import { createProgress, type Progress } from '../../shared/progress.js';

/** A progress line on a terminal while repositories are cloned and fetched. */
function progressEvents(): PullEvents {
  let progress: Progress | null = null;
  return {
    onPlan: (p) => {
      progress = createProgress({ label: 'grok-pull', total: p.total });
    },
    onRepoDone: () => progress?.tick(),
    onPassDone: () => progress?.end(),
  };
}

runCli('grok-pull', async (argv) => {
  const cmd = newCommand('grok-pull', 'Mirror the repositories listed in a remote grokmirror manifest.')
    .requiredOption('-c, --config <file>', 'grokmirror.conf ([core], [remote] and [pull] sections)')
    .option('-n, --no-mtime-check', 'fetch the remote manifest even if it has not changed')
    .option('-p, --purge', 'remove local repositories that left the remote manifest')
    .option('--force-purge', 'purge even past purgeprotect, and accept an empty remote manifest')
    .option('-o, --continuous', 'keep running: re-check every [pull] refresh seconds, follow the change feed, listen on [pull] socket')
    .option('-v, --verbose', 'say what is being done')
    .parse(argv, { from: 'user' });
  const flags = cmd.opts<{ config: string; mtimeCheck: boolean; purge?: boolean; forcePurge?: boolean; continuous?: boolean; verbose?: boolean }>();
  const config = loadConfig(flags.config);
  const log = configLogger('grok-pull', config, Boolean(flags.verbose));
  if (flags.continuous) {
    const stop = new AbortController();
    process.once('SIGTERM', () => stop.abort());
    surviveHangup();
    process.once('SIGINT', () => stop.abort());
    // Loaded only here: the daemon's feed client, socket listener and node-cron are start-up cost a
    // one-pass run (often a single 304) should not pay.
    const { runDaemon } = await import('../daemon.js');
    await runDaemon(config, { purge: Boolean(flags.purge), forcePurge: Boolean(flags.forcePurge) }, { git: new Git(), log, now: Date.now }, stop.signal);
    log.info('stopped');
    return EXIT_OK;
  }
  const started = Date.now();
  const res = await runPull(
    config,
    { force: !flags.mtimeCheck, purge: Boolean(flags.purge), forcePurge: Boolean(flags.forcePurge) },
    { git: new Git(), log, now: Date.now, ...(flags.verbose ? {} : { events: progressEvents() }) },
  );
  const secs = ((Date.now() - started) / 1000).toFixed(2);
  const summary =
    res.status === 'unchanged'
      ? `remote manifest unchanged (${secs}s)`
      : `${res.cloned.length} cloned, ${res.updated.length} updated, ${res.fixed.length} fixed, ${res.purged.length} purged, ${res.deferred.length} deferred, ${res.failed.length} failed in ${secs}s`;
  log.info(summary);
  if (!flags.verbose) process.stderr.write(res.failed.length > 0 || res.purgeRefused ? `grok-pull: ${summary}\n` : '');
  return res.failed.length > 0 || res.purgeRefused ? EXIT_FAILURE : EXIT_OK;
});
