/**
 * Manifest keys are repository paths relative to the toplevel with one leading `/`. A key from a
 * manifest is untrusted input: it must be a plain relative path that stays under the toplevel.
 */
import path from 'node:path';
import { GrokError } from '../errors.js';

const MAX_KEY_LENGTH = 4096;
// C0 controls and DEL: no file or URL we make should ever carry them.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

// The common case in one test: "/"-separated segments, none empty, "." or "..", no control
// characters or backslashes. Keys that fail it go through the checks below for a precise reason.
const SAFE_KEY_RE = /^(?:\/(?!\.\.?(?:\/|$))[^/\\\u0000-\u001f\u007f]+)+$/;

/** Why a key is unsafe, or null when it is fine. */
export function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'is not a string';
  if (key.length <= MAX_KEY_LENGTH && SAFE_KEY_RE.test(key)) return null;
  if (key.length === 0) return 'is empty';
  if (key.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  if (!key.startsWith('/')) return 'does not start with "/"';
  if (CONTROL_RE.test(key)) return 'contains a control character (NUL, newline, ...)';
  if (key.includes('\\')) return 'contains a backslash';
  const segments = key.slice(1).split('/');
  for (const seg of segments) {
    if (seg === '') return 'has an empty path segment ("//" or a trailing "/")';
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`;
  }
  return null;
}

export function assertSafeKey(key: unknown, context = 'manifest key'): asserts key is string {
  const why = keyProblem(key);
  if (why) throw new GrokError('GROK_ERR_MANIFEST_KEY', `${context} ${JSON.stringify(key)} ${why}`, { key });
}

/** True when `child` is `parent` or lies below it (a real prefix test on resolved paths). */
export function isUnder(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** Absolute path of a key under the toplevel; throws for unsafe keys. */
export function keyToPath(toplevel: string, key: string): string {
  assertSafeKey(key);
  const full = path.join(toplevel, key);
  if (!isUnder(toplevel, full) || full === toplevel) {
    throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `manifest key ${JSON.stringify(key)} leaves the toplevel`, { key });
  }
  return full;
}

/**
 * A key as the path of a URL: each segment percent-encoded (UTF-8), so that a space, "#", "?", "%",
 * ";" or any non-ASCII character reaches the server as part of the name. Only A-Z a-z 0-9 and
 * - _ . ! ~ * ' ( ) stay as they are: they mean nothing special in a URL path.
 */
export function keyToUrlPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Manifest key of an absolute path under the toplevel. */
export function pathToKey(toplevel: string, fullpath: string): string {
  const rel = path.relative(toplevel, fullpath);
  if (rel === '' || !isUnder(toplevel, fullpath)) {
    throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `${fullpath} is not under the toplevel ${toplevel}`, { path: fullpath, toplevel });
  }
  return '/' + rel.split(path.sep).join('/');
}
