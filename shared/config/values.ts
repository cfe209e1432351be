/** Conversions of interpolated config strings into typed values; each returns a value or a reason. */
import path from 'node:path';
import type { KeyDef } from './schema.js';

export type Converted = { ok: true; value: unknown } | { ok: false; why: string };

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const FALSE = new Set(['0', 'no', 'false', 'off']);
const SIZE_RE = /^(\d+)\s*([kmgt]?)i?b?$/i;
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  return undefined;
}

/** One entry per non-empty line (grokmirror's multi-value convention: newline plus indentation). */
export function parseList(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * An absolute path, normalised ("/srv/git/" and "/srv//git" are "/srv/git"). A relative one is
 * refused rather than resolved: it would be taken from the current directory, which is "/" under
 * systemd (a `file://` URL typed into a path key becomes "/file:/...").
 */
function convertPath(text: string, notRoot: boolean): Converted {
  const t = text.trim();
  if (t === '') return { ok: true, value: '' };
  if (/[\u0000-\u001f\u007f]/.test(t)) return { ok: false, why: `a path may not hold control characters (NUL, newline, ...), got ${JSON.stringify(t)}` };
  if (!path.isAbsolute(t)) {
    const url = /^[a-z][a-z0-9+.-]*:/i.test(t) ? ' (a URL is not a path here)' : '';
    return { ok: false, why: `must be an absolute path${url}, got ${JSON.stringify(t)}; a relative one would depend on the directory the command starts in` };
  }
  const norm = path.resolve(t);
  if (notRoot && norm === '/') return { ok: false, why: `may not be the filesystem root, got ${JSON.stringify(t)}` };
  return { ok: true, value: norm };
}

/** A URL of one of `schemes`; a file:// one must name an absolute local path (no host). */
function convertUrl(text: string, schemes: readonly string[]): Converted {
  const t = text.trim();
  if (t === '') return { ok: true, value: '' };
  const want = `a ${schemes.map((s) => `${s}://`).join(', ')} URL`;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return { ok: false, why: `expected ${want}, got ${JSON.stringify(t)}` };
  }
  if (!schemes.includes(u.protocol.slice(0, -1))) return { ok: false, why: `expected ${want}, got ${JSON.stringify(t)}` };
  if (u.protocol === 'file:' && u.host !== '') {
    return { ok: false, why: `a file:// URL names an absolute path, as in file:///srv/manifest.js.gz; got ${JSON.stringify(t)}` };
  }
  return { ok: true, value: t };
}

export function convert(def: KeyDef, text: string): Converted {
  switch (def.kind) {
    case 'string':
      return { ok: true, value: text };
    case 'path':
      return convertPath(text, def.notRoot === true);
    case 'url':
      return convertUrl(text, def.schemes);
    case 'list':
      return { ok: true, value: Object.freeze(parseList(text)) };
    case 'bool': {
      const b = parseBool(text);
      return b === undefined ? { ok: false, why: `expected yes/no, true/false, on/off or 1/0, got "${text}"` } : { ok: true, value: b };
    }
    case 'int': {
      const t = text.trim();
      const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
      if (!Number.isSafeInteger(n) || n < def.min || n > def.max) {
        return { ok: false, why: `expected a whole number from ${def.min} to ${def.max}, got "${text}"` };
      }
      return { ok: true, value: n };
    }
    case 'size': {
      const m = SIZE_RE.exec(text.trim());
      const n = m ? Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0) return { ok: false, why: `expected a size such as 512M or 2G, got "${text}"` };
      return { ok: true, value: n };
    }
    case 'choice': {
      const t = text.trim().toLowerCase();
      return def.choices.includes(t) ? { ok: true, value: t } : { ok: false, why: `expected one of ${def.choices.join(', ')}, got "${text}"` };
    }
  }
}
