#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, runCli } from '../../shared/cli.js';
import { Git } from '../../shared/git/index.js';
import { createCliLogger } from '../../shared/log.js';
import { piperCommand, type PiperFlags } from '../pi/piper-cli.js';
import { resolvePipe } from '../pi/pipe-command.js';
import { piperSettings, readPiperConfig } from '../pi/piper-config.js';
import { runPiper } from '../pi/piper-run.js';

runCli('grok-pi-piper', async (argv) => {
  const cmd = piperCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<PiperFlags>();
  const repo = cmd.args[0]!;
  const settings = piperSettings(readPiperConfig(flags.config), repo);
  // grokmirror's way to leave a list out: a quiet success.
  if (settings.pipe === null) return EXIT_OK;
  const log = createCliLogger({ name: 'grok-pi-piper', verbose: Boolean(flags.verbose), ...(settings.log ? { logfile: settings.log } : {}), fileLevel: settings.loglevel, followRotation: false });
  const res = await runPiper(
    { repo, pipe: resolvePipe(settings.pipe), shallow: settings.shallow, dryRun: Boolean(flags.dryRun), pipeLast: flags.pipeLast ?? null },
    { git: new Git(), log, now: () => Math.floor(Date.now() / 1000) },
  );
  // The line goes to stdout when all went well (grok-pull logs a hook's stdout at info), to stderr as an error otherwise.
  if (res.ok) {
    process.stdout.write(`${res.line}\n`);
    log.info(res.line);
    return EXIT_OK;
  }
  log.error(res.line);
  return EXIT_FAILURE;
});
