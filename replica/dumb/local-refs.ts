/**
 * A mirror's refs, for comparison with ls-remote: straight from the ref files when they are plain
 * (no process: most of a sweep is repositories that did not change), through `git for-each-ref`
 * when the files reader is unsure (reftable, odd names). Null when there is no repository yet.
 */
import { readRefFiles, type Git } from '../../shared/git/index.js';
import { isBareRepo } from '../../shared/repo/bare.js';

export async function localRefs(git: Git, dir: string): Promise<Map<string, string> | null> {
  if (!(await isBareRepo(dir))) return null;
  const files = readRefFiles(dir);
  if (files.ok) return new Map(files.refs.map((r) => [r.name, r.oid]));
  const out = new Map<string, string>();
  for await (const line of git.lines({ gitDir: dir, args: ['for-each-ref', '--format=%(objectname) %(refname)'] })) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(sp + 1), line.slice(0, sp));
  }
  return out;
}
