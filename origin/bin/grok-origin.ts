#!/usr/bin/env node
import { surviveHangup } from '../../shared/log-file.js';
import { EXIT_OK, newCommand, runCli } from '../../shared/cli.js';
import { loadConfig } from '../../shared/config/config.js';
import { GrokError } from '../../shared/errors.js';
import { Git } from '../../shared/git/index.js';
import { configLogger } from '../../shared/log.js';
import { startOrigin } from '../server/origin.js';
import { originSettings } from '../server/settings.js';


runCli('grok-origin', async (argv) => {
  const cmd = newCommand('grok-origin', 'Serve an origin: the manifest, the repositories over git smart HTTP (read-only), push notices and a change feed.')
    .requiredOption('-c, --config <file>', 'grokmirror.conf ([core], [manifest] and [origin] sections)')
    .option('--listen <address>', 'HOST:PORT, [IPv6]:PORT or a unix socket path (overrides [origin] listen)')
    .option('-v, --verbose', 'log requests and changes to stderr')
    .parse(argv, { from: 'user' });
  const flags = cmd.opts<{ config: string; listen?: string; verbose?: boolean }>();
  const config = loadConfig(flags.config);
  const settings = originSettings(config, flags.listen ? { listen: flags.listen } : {});
  const log = configLogger('grok-origin', config, Boolean(flags.verbose));
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
  });
  return EXIT_OK;
});
