#!/usr/bin/env node
import { surviveHangup } from '../../shared/log-file.js';
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { printCheckedConfig } from '../../shared/config/print.js';
import { Git } from '../../shared/git/index.js';
import { checkToplevelUser } from '../../shared/fs/toplevel-user.js';
import { configLogger } from '../../shared/log.js';
import { allEvents, type PullEvents } from '../events.js';
import { EXIT_UNKNOWN, PASS_RECORD, statusReport } from '../pass-record.js';
import { readPassRecord } from '../pass-recorder.js';
import { fileRecordStore, passRecorder } from '../pass-recorder.js';
import { pullCommand, type PullFlags } from '../cli-options.js';
import { planOnly, runPull } from '../run.js';
import { planLines } from '../plan-lines.js';
import { describeError, GrokError } from '../../shared/errors.js';
import { safeText } from '../../shared/safe-text.js';
import { holdDaemonLock, holdPassLock, runningDaemon } from '../daemon-lock.js';
import { createProgress, type Progress } from '../../shared/progress.js';

/** A progress line while repositories are cloned and fetched: on a terminal, or as lines with -v. */
function progressEvents(verbose: boolean): PullEvents {
  let progress: Progress | null = null;
  return {
    onPlan: (p) => {
      progress = createProgress({ label: 'grok-pull', total: p.total, lines: verbose });
    },
    onRepoDone: () => progress?.tick(),
    onPassDone: () => progress?.end(),
  };
}

runCli('grok-pull', async (argv, cli) => {
  const cmd = pullCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<PullFlags>();
  const config = loadConfig(flags.config);
  if (flags.checkConfig) return (printCheckedConfig('grok-pull', config), EXIT_OK);
  if (flags.dryRun && flags.continuous) throw new GrokError('GROK_ERR_USAGE', '--dry-run and -o cannot be used together');
  // A dry run changes nothing on disk, [core] log included: its log is stderr alone.
  if (flags.status) {
    if (flags.continuous || flags.dryRun) throw new GrokError('GROK_ERR_USAGE', '--status cannot be used with -o or --dry-run');
    let record;
    try {
      record = readPassRecord(config.core.toplevel);
    } catch (err) {
      process.stdout.write(`toplevel ${safeText(config.core.toplevel)}\ncannot read ${PASS_RECORD} (${safeText(describeError(err))}); the next pass writes it again\n`);
      return EXIT_UNKNOWN;
    }
    const report = statusReport(config.core.toplevel, record, Date.now(), runningDaemon(config.core.toplevel));
    process.stdout.write(report.lines.map((l) => `${safeText(l)}\n`).join(''));
    return report.code;
  }
  const log = configLogger('grok-pull', flags.dryRun ? { ...config, core: { ...config.core, log: '' } } : config, Boolean(flags.verbose));
  cli.logTo(log);
  const otherUser = checkToplevelUser(config.core.toplevel, { uid: process.geteuid?.() ?? 0, asOtherUser: Boolean(flags.asOtherUser) });
  if (otherUser) log.warn(otherUser);
  if (flags.continuous) {
    const stop = new AbortController();
    cli.ownSignals();
    process.once('SIGTERM', () => stop.abort());
    surviveHangup();
    process.once('SIGINT', () => stop.abort());
    // Loaded only here: the daemon's feed client, socket listener and node-cron are start-up cost a
    // one-pass run (often a single 304) should not pay.
    const { runDaemon } = await import('../daemon.js');
    const held = await holdDaemonLock(config.core.toplevel);
    try {
      await runDaemon(config, { purge: Boolean(flags.purge), forcePurge: Boolean(flags.forcePurge) }, { git: new Git(), log, now: Date.now }, stop.signal);
    } finally {
      await held.release();
    }
    log.info('stopped');
    return EXIT_OK;
  }
  const runOpts = { force: !flags.mtimeCheck, purge: Boolean(flags.purge), forcePurge: Boolean(flags.forcePurge) };
  if (flags.dryRun) {
    const planned = await planOnly(config, runOpts, { git: new Git(), log, now: Date.now });
    if (!planned) {
      process.stderr.write('grok-pull: dry run: the remote manifest has not changed, so a pass would do nothing (-n to plan anyway)\n');
      return EXIT_OK;
    }
    const lines = planLines(planned.plan, planned.actions, planned.refused, config.pull.purgeprotect);
    process.stdout.write(lines.map((l) => `${safeText(l)}\n`).join(''));
    process.stderr.write(`grok-pull: dry run: ${planned.plan.wanted.size} repositories wanted, ${planned.actions.length} need work, ${planned.refused.length} refused, ${planned.plan.purge.length} to purge; nothing changed\n`);
    return EXIT_OK;
  }
  // One pass at a time on a toplevel (daemon-lock.ts): a second one-shot, from a timer or by hand,
  // says which pass runs and does nothing, exiting 0 as a second grok-fsck does: the running pass is
  // doing the work, and a timer's next start picks up whatever it missed.
  const passLock = await holdPassLock(config.core.toplevel, { wait: false });
  if ('busy' in passLock) {
    const msg = `another grok-pull pass is running (${passLock.busy !== null ? `pid ${passLock.busy}` : 'pid unknown'}) on toplevel ${config.core.toplevel}; this one does nothing`;
    log.info({ action: 'exit' }, msg);
    if (!flags.verbose) process.stderr.write(`grok-pull: ${msg}\n`);
    return EXIT_OK;
  }
  const started = Date.now();
  let res;
  try {
    res = await runPull(
      config,
      runOpts,
      { git: new Git(), log, now: Date.now, events: allEvents(progressEvents(Boolean(flags.verbose)), passRecorder(fileRecordStore(config.core.toplevel), { now: Date.now, log, nextRetryAt: () => null })) },
    );
  } finally {
    await passLock.release();
  }
  const secs = ((Date.now() - started) / 1000).toFixed(2);
  const summary =
    res.status === 'unchanged'
      ? `remote manifest unchanged (${secs}s)`
      : `${res.cloned.length} cloned, ${res.updated.length} updated, ${res.fixed.length} fixed, ${res.purged.length} purged, ${res.deferred.length} deferred, ${res.failed.length} failed in ${secs}s`;
  log.info(summary);
  if (!flags.verbose) process.stderr.write(res.failed.length > 0 || res.purgeRefused ? `grok-pull: ${summary}\n` : '');
  return res.failed.length > 0 || res.purgeRefused ? EXIT_FAILURE : EXIT_OK;
});
