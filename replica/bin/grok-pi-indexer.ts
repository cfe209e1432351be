#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { createCliLogger } from '../../shared/log.js';
import { indexerCommand, type IndexerFlags, type InitFlags } from '../pi/indexer-cli.js';
import { indexerExtindex, indexerInit, indexerUpdate, type IndexerOptions, type InboxLine } from '../pi/indexer-run.js';
import { piEnv } from '../pi/public-inbox.js';

/** The repository paths grok-pull's post_clone_complete_hook writes to stdin, one a line; none from a terminal. */
function stdinPaths(): string[] {
  if (process.stdin.isTTY) return [];
  return readFileSync(0, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
}

runCli('grok-pi-indexer', async (argv) => {
  const program = indexerCommand();
  let chosen: { name: string; sub: Command } | undefined;
  for (const sub of program.commands) sub.action(() => void (chosen = { name: sub.name(), sub }));
  program.parse(argv, { from: 'user' });
  if (!chosen) {
    program.outputHelp({ error: true });
    return EXIT_FAILURE;
  }
  const flags = program.opts<IndexerFlags>();
  const log = createCliLogger({ name: 'grok-pi-indexer', verbose: Boolean(flags.verbose), ...(flags.logfile ? { logfile: flags.logfile } : {}), fileLevel: flags.verbose ? 'debug' : 'info', followRotation: false });
  const opts: IndexerOptions = {
    piConfig: flags.piConfig,
    toplevel: flags.toplevel,
    ...(flags.piToplevel ? { piToplevel: flags.piToplevel } : {}),
    indexlevel: flags.indexlevel,
    ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
    fsync: flags.fsync,
  };
  const deps = { git: new Git(), log, env: piEnv(flags.piConfig) };
  let lines: InboxLine[];
  if (chosen.name === 'init') {
    const init = chosen.sub.opts<InitFlags>();
    const inboxdir = chosen.sub.args[0];
    if (init.forceReinit && !inboxdir) throw new GrokError('GROK_ERR_USAGE', '--force-reinit needs the inboxdir to re-initialise');
    const targets = inboxdir ? [inboxdir] : stdinPaths();
    lines = await indexerInit(targets, { ...init, indexlevel: flags.indexlevel }, opts, deps);
  } else if (chosen.name === 'update') {
    lines = await indexerUpdate(chosen.sub.args[0]!, opts, deps);
  } else {
    lines = await indexerExtindex(opts, deps);
  }
  if (lines.length === 0) process.stdout.write('grok-pi-indexer: nothing to do\n');
  for (const l of lines) {
    if (l.ok) {
      process.stdout.write(`${l.line}\n`);
      log.info(l.line);
    } else {
      log.error(l.line);
    }
  }
  return lines.every((l) => l.ok) ? EXIT_OK : EXIT_FAILURE;
});
