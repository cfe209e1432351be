/**
 * Where grok-bundle puts a repository's bundle: `<outdir>/<key without the leading "/" and the
 * trailing ".git">/clone.bundle`, grokmirror 2.x's layout, so that an HTTP server publishing the
 * outdir beside the repositories answers the `<remote url>/clone.bundle` that Android's repo tool
 * asks for (its project URLs usually carry no ".git"). The `.fingerprint` beside it records what
 * the bundle was made from.
 *
 * grokmirror strips every ".git" in the key (Python's str.replace), which turns
 * `/foo.github.io.git` into `foohub.io`; only the trailing one goes here. Shared by grok-bundle, which
 * writes this layout, and grok-origin, which serves it.
 */
export const BUNDLE_FILE = 'clone.bundle';
export const RECORD_FILE = '.fingerprint';

/** The bundle directory of a manifest key, relative to the outdir ("/" separated). */
export function bundleDirFor(key: string): string {
  return key.replace(/^\/+/, '').replace(/\.git$/, '');
}
