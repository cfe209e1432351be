/** Values read from public-inbox's config file (git-config format, so read with git config). */
import { existsSync } from 'node:fs';
import { untrusted, type Git } from '../../shared/git/index.js';

async function get(git: Git, file: string, key: string): Promise<string | null> {
  if (!existsSync(file)) return null;
  const res = await git.run({ args: ['config', '--file', untrusted(file), '--get', untrusted(key)], okExit: [1] });
  return res.exitCode === 0 ? res.stdout.toString('utf8').trim() : null;
}

/** The inboxdir an inbox name is registered with, or null. */
export function registeredDir(git: Git, piConfig: string, name: string): Promise<string | null> {
  return get(git, piConfig, `publicinbox.${name}.inboxdir`);
}

/** Where `public-inbox-extindex --all` writes (`[extindex "all"] topdir`), or null. */
export function extindexTopdir(git: Git, piConfig: string): Promise<string | null> {
  return get(git, piConfig, 'extindex.all.topdir');
}
