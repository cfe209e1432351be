#!/usr/bin/env node
import { surviveHangup } from '../../shared/log-file.js';
import { EXIT_OK, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { printCheckedConfig } from '../../shared/config/print.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { checkToplevelUser } from '../../shared/fs/toplevel-user.js';
import { configLogger } from '../../shared/log.js';
import { originCommand, type OriginFlags } from '../server/cli-options.js';
import { startOrigin } from '../server/origin.js';
import { originSettings } from '../server/settings.js';


runCli('grok-origin', async (argv, cli) => {
  const cmd = originCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<OriginFlags>();
  const config = loadConfig(flags.config);
  const settings = originSettings(config, flags.listen ? { listen: flags.listen } : {});
  if (flags.checkConfig) return (printCheckedConfig('grok-origin', config), EXIT_OK);
  const log = configLogger('grok-origin', config, Boolean(flags.verbose));
  cli.logTo(log);
  cli.ownSignals();
  const otherUser = checkToplevelUser(settings.toplevel, { uid: process.geteuid?.() ?? 0, asOtherUser: Boolean(flags.asOtherUser) });
  if (otherUser) log.warn(otherUser);
  const origin = await startOrigin(settings, { git: new Git(), log, now: Date.now });
  process.stdout.write(`grok-origin: listening on ${origin.url}\n`);
  await new Promise<void>((resolve, reject) => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping`);
      origin.close().then(resolve, (err: unknown) => reject(new GrokError('GROK_ERR_WRITE', `shutdown failed: ${String(err)}`)));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    surviveHangup();
    process.once('SIGINT', () => stop('SIGINT'));
    // A manifest file found bad while its slices were built (after listening): stop serving it and
    // fail with the error a start-up with that file has always failed with.
    origin.built.catch((err: unknown) => {
      const fail = () => reject(err);
      origin.close().then(fail, fail);
    });
  });
  return EXIT_OK;
});
