#!/usr/bin/env node
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { Git } from '../../shared/git/index.js';
import { createCliLogger } from '../../shared/log.js';
import { dumbPullCommand, resolveDumbPullOptions, type DumbPullFlags } from '../dumb/cli-options.js';
import { runClassic } from '../dumb/run-classic.js';
import { runList } from '../dumb/run-list.js';

// Exit status: 0 when every repository ended fetched, unchanged, not found or auth-required (the
// last two are recorded and warned about, as grokmirror's tools do); 1 when any failed for another
// reason after its retries, so that cron notices a sick network or disk.
runCli('grok-dumb-pull', async (argv, cli) => {
  const cmd = dumbPullCommand().parse(argv, { from: 'user' });
  const opts = resolveDumbPullOptions(cmd.opts<DumbPullFlags>(), cmd.args);
  const log = createCliLogger({ name: 'grok-dumb-pull', verbose: opts.verbose, ...(opts.logfile ? { logfile: opts.logfile, fileLevel: 'debug' } : {}) });
  cli.logTo(log);
  const git = new Git();
  const started = Date.now();
  const secs = () => ((Date.now() - started) / 1000).toFixed(2);
  if (opts.mode === 'classic') {
    const res = await runClassic(
      {
        paths: opts.paths,
        remoteNames: opts.remoteNames,
        postUpdateHook: opts.postUpdateHook,
        jobs: opts.jobs,
        lsRemoteTimeoutMs: opts.lsRemoteTimeoutMs,
        retry: { attempts: opts.attempts, baseDelayMs: opts.backoffMs, sleep: (ms) => sleep(ms) },
        detect: opts.detect,
      },
      { git, log },
    );
    log.info(`${res.repos} repositories: ${res.fetched.length} fetched, ${res.unchanged} unchanged, ${res.unreachable.length} unreachable remotes, ${res.failed.length} failed in ${secs()}s`);
    return res.failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
  }
  const res = await runList(opts, { git, log, now: Date.now, sleep: (ms) => sleep(ms) });
  const c = res.counts;
  log.info(
    `${c.fetched} fetched, ${c.unchanged} unchanged, ${c.not_found} not found, ${c.auth_required} auth required, ` +
      `${c.failed} failed, ${c.invalid} invalid, ${c.pending} pending, ${res.notDue} not due in ${secs()}s` +
      ` (refs asked over HTTP ${res.probes.http}, with git ls-remote ${res.probes.git}; ${res.rowsWritten} state rows written)` +
      (res.fleet ? `; leases ${res.fleet.leases}, taken over ${res.fleet.takenOver}, lost ${res.fleet.lost}` : '') +
      (res.manifestWritten ? '; manifest written' : ''),
  );
  return c.failed > 0 ? EXIT_FAILURE : EXIT_OK;
});
