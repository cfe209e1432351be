/**
 * Asking a remote for its refs: one `git ls-remote`, the cheap question that decides whether a
 * fetch is needed. The output is read whole: ls-remote of one repository is small next to a fetch.
 */
import { untrusted, type Git } from '../../shared/git/index.js';

/** ls-remote's "<oid>\t<ref>" lines as a map; HEAD and peeled tags are kept for the caller to drop. */
export function parseLsRemote(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0 || line.startsWith('ref: ')) continue;
    refs.set(line.slice(tab + 1), line.slice(0, tab));
  }
  return refs;
}

/** `target` is a URL (list mode) or a remote name run inside `gitDir` (classic mode). */
export async function lsRemote(git: Git, target: string, opts: { gitDir?: string; timeoutMs: number }): Promise<Map<string, string>> {
  const res = await git.run({ ...(opts.gitDir ? { gitDir: opts.gitDir } : {}), args: ['ls-remote', untrusted(target)], timeoutMs: opts.timeoutMs });
  return parseLsRemote(res.stdout.toString('latin1'));
}
