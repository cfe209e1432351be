/** Conversions of interpolated config strings into typed values; each returns a value or a reason. */
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

export function convert(def: KeyDef, text: string): Converted {
  switch (def.kind) {
    case 'string':
      return { ok: true, value: text };
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
