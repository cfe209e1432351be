/**
 * Where grok-bundle puts a repository's bundle: `<outdir>/<key without the leading "/" and the
 * trailing ".git">/clone.bundle`, grokmirror 2.x's layout, so that an HTTP server publishing the
 * outdir beside the repositories answers the `<remote url>/clone.bundle` that Android's repo tool
 * asks for (its project URLs usually carry no ".git"). The `.fingerprint` beside it records what
 * the bundle was made from, and (ours) for which repository.
 *
 * grokmirror strips every ".git" in the key (Python's str.replace), which turns
 * `/foo.github.io.git` into `foohub.io`; only the trailing one goes here. Shared by grok-bundle, which
 * writes this layout, and grok-origin, which serves it.
 *
 * The layout can make two repositories meet: `/a` and `/a.git` share a directory, and `/x.git`'s
 * `x/clone.bundle` is the directory `/x/clone.bundle.git` needs. grok-bundle gives a directory to one
 * repository only (the one its record names, else the first key) and never makes a directory named
 * like one of its own files (`ownFileName`), so neither can ever break the other.
 */
export const BUNDLE_FILE = 'clone.bundle';
export const RECORD_FILE = '.fingerprint';

/** The bundle directory of a manifest key, relative to the outdir ("/" separated). */
export function bundleDirFor(key: string): string {
  return key.replace(/^\/+/, '').replace(/\.git$/, '');
}

// The bundle, its record, and their temp files (shared/fs/atomic.ts names) with git's lock beside the first.
const OWN_FILE_RE = /^(?:clone\.bundle|\.fingerprint|\.clone\.bundle\.[0-9a-f]+\.tmp(?:\.lock)?|\.\.fingerprint\.[0-9a-f]+\.tmp)$/;
const LEFTOVER_RE = /^(?:\.clone\.bundle\.[0-9a-f]+\.tmp(?:\.lock)?|\.\.fingerprint\.[0-9a-f]+\.tmp)$/;

/** A name grok-bundle gives its own files in a bundle directory. */
export function ownFileName(name: string): boolean {
  return OWN_FILE_RE.test(name);
}

/** A temp file of ours that a killed run left. */
export function leftoverFileName(name: string): boolean {
  return LEFTOVER_RE.test(name);
}

export interface ParsedRecord {
  readonly fingerprint: string;
  /** `args <id>` (ours): the -g/-r arguments; null in grokmirror's records. */
  readonly argsId: string | null;
  /** `repo <key>` (ours): the repository the bundle is of; null in older records and grokmirror's. */
  readonly repo: string | null;
}

/** grokmirror's record (the fingerprint on the first line) with our lines after it. */
export function parseRecord(text: string): ParsedRecord | null {
  const [first, ...rest] = text.split('\n');
  const fingerprint = (first ?? '').trim();
  if (!/^[0-9a-f]{40}$/.test(fingerprint)) return null;
  let argsId: string | null = null;
  let repo: string | null = null;
  for (const line of rest) {
    const args = /^args ([0-9a-f]{16})$/.exec(line.trim());
    if (args) argsId = args[1]!;
    else if (line.startsWith('repo /')) repo = line.slice('repo '.length);
  }
  return { fingerprint, argsId, repo };
}

export function formatRecord(r: { readonly fingerprint: string; readonly argsId: string; readonly repo: string }): string {
  return `${r.fingerprint}\nargs ${r.argsId}\nrepo ${r.repo}\n`;
}
