/**
 * Reading `git fsck` output (docs/architecture.md "grok-fsck"): lines holding any `[fsck] ignore_errors` entry are
 * dropped (an empty entry matches nothing: grokmirror's matched every line), and lines holding a
 * `reclone_on_errors` entry ask for a reclone. git's own `notice:` lines (an objstore's unborn HEAD,
 * for one) are information, never findings. Pure.
 */
export interface FsckFindings {
  readonly errors: readonly string[];
  readonly reclone: boolean;
}

export function classifyFsckOutput(output: string, ignore: readonly string[], reclone: readonly string[]): FsckFindings {
  const ign = ignore.filter((s) => s.trim() !== '');
  const rec = reclone.filter((s) => s.trim() !== '');
  const errors = output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !l.startsWith('notice:') && !ign.some((s) => l.includes(s)));
  return { errors, reclone: errors.some((l) => rec.some((s) => l.includes(s))) };
}

/** The arguments of the check itself. */
export function fsckArgs(connectivityOnly: boolean): string[] {
  return ['fsck', '--no-progress', '--no-dangling', '--no-reflogs', ...(connectivityOnly ? ['--connectivity-only'] : [])];
}
