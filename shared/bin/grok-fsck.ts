#!/usr/bin/env node
import { EXIT_FAILURE, EXIT_OK, runCli } from '../cli.js';
import { loadConfig } from '../config/config.js';
import { printCheckedConfig } from '../config/print.js';
import { GrokError } from '../errors.js';
import { fsckCommand, type FsckFlags } from '../fsck/cli-options.js';
import { runFsck } from '../fsck/run.js';
import { Git } from '../git/index.js';
import { checkToplevelUser } from '../fs/toplevel-user.js';
import { configLogger } from '../log.js';
import { createProgress } from '../progress.js';

runCli('grok-fsck', async (argv, cli) => {
  const cmd = fsckCommand().parse(argv, { from: 'user' });
  const flags = cmd.opts<FsckFlags>();
  const exclusive = [flags.repackOnly && '--repack-only', flags.connectivityOnly && '--connectivity-only', flags.repackAllQuick && '--repack-all-quick', flags.repackAllFull && '--repack-all-full'].filter(Boolean);
  if (exclusive.length > 1) throw new GrokError('GROK_ERR_USAGE', `${exclusive.join(' and ')} cannot be used together`);
  const config = loadConfig(flags.config);
  if (flags.checkConfig) return (printCheckedConfig('grok-fsck', config), EXIT_OK);
  const log = configLogger('grok-fsck', config, Boolean(flags.verbose));
  cli.logTo(log);
  const otherUser = checkToplevelUser(config.core.toplevel, { uid: process.geteuid?.() ?? 0, asOtherUser: Boolean(flags.asOtherUser) });
  if (otherUser) log.warn(otherUser);
  const res = await runFsck(
    config,
    {
      force: Boolean(flags.force),
      repackOnly: Boolean(flags.repackOnly),
      connectivityOnly: Boolean(flags.connectivityOnly),
      repackAll: flags.repackAllFull ? 'full' : flags.repackAllQuick ? 'quick' : null,
    },
    { git: new Git(), log, now: Date.now, ...(flags.verbose ? {} : { progress: (total: number) => createProgress({ label: 'grok-fsck', total }) }) },
  );
  if (res.status === 'busy') {
    process.stderr.write('grok-fsck: another grok-fsck is running; nothing to do\n');
    return EXIT_OK;
  }
  if (res.errors.length > 0 && !flags.verbose) process.stderr.write(`grok-fsck: ${res.errors.length} repositories with problems (see the log)\n`);
  return res.errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
});
