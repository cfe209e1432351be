/**
 * configparser's ExtendedInterpolation: `${key}` (same section, then [DEFAULT]), `${section:key}`,
 * and `$$` for a literal `$`. Any other `$` is an error, as in Python.
 */
import { GrokError } from '../errors.js';
import type { IniDocument, IniValue } from './ini.js';

const MAX_DEPTH = 10;
/**
 * The longest value interpolation may produce. Ten levels of references that each repeat the level
 * below would otherwise build a value of billions of characters (and take the memory with it).
 */
export const MAX_VALUE_CHARS = 1024 * 1024;

export type RawLookup = (section: string, key: string) => IniValue | undefined;

export function lookupIn(doc: IniDocument, extra?: RawLookup): RawLookup {
  return (section, key) =>
    doc.sections.get(section)?.values.get(key) ?? doc.defaults.get(key) ?? extra?.(section, key);
}

/**
 * Expands `raw`. `memo` keeps the expansions of referenced keys for one config (pass the same map
 * for every key of it): each key is expanded once however often it is referenced.
 */
export function interpolate(raw: string, section: string, key: string, lookup: RawLookup, where: string, memo = new Map<string, string>(), depth = 0, outer?: string): string {
  // Errors name the key being read (at `where`), and the referenced key they arose in, if another.
  const shown = outer ?? `[${section}] ${key}`;
  const fail = (why: string): never => {
    const inner = outer !== undefined ? ` (in [${section}] ${key})` : '';
    throw new GrokError('GROK_ERR_CONFIG_INTERPOLATION', `${where}: ${shown}: ${why}${inner}`, { section, key });
  };
  if (depth > MAX_DEPTH) fail(`interpolation nested deeper than ${MAX_DEPTH} levels (a reference loop?)`);
  const tooLong = () => fail(`the value grows past ${MAX_VALUE_CHARS} characters when interpolated`);
  let out = '';
  let rest = raw;
  for (;;) {
    if (out.length > MAX_VALUE_CHARS) tooLong();
    const at = rest.indexOf('$');
    if (at < 0) return out.length + rest.length > MAX_VALUE_CHARS ? tooLong() : out + rest;
    out += rest.slice(0, at);
    rest = rest.slice(at);
    const next = rest[1];
    if (next === '$') {
      out += '$';
      rest = rest.slice(2);
      continue;
    }
    if (next !== '{') fail(`"$" must be followed by "$" or "{", found ${JSON.stringify(rest)}`);
    const close = rest.indexOf('}');
    if (close < 3) fail(`bad interpolation reference ${JSON.stringify(rest)}`);
    const ref = rest.slice(2, close);
    rest = rest.slice(close + 1);
    const parts = ref.split(':');
    if (parts.length > 2) fail(`more than one ":" in \${${ref}}`);
    const refSection = parts.length === 2 ? (parts[0] ?? '') : section;
    const refKey = (parts.length === 2 ? (parts[1] ?? '') : ref).toLowerCase();
    const target = lookup(refSection, refKey);
    if (!target) fail(`\${${ref}} refers to [${refSection}] ${refKey}, which is not set`);
    const memoKey = `${refSection}\0${refKey}`;
    let value = memo.get(memoKey);
    if (value === undefined) {
      value = target!.raw.includes('$') ? interpolate(target!.raw, refSection, refKey, lookup, where, memo, depth + 1, shown) : target!.raw;
      memo.set(memoKey, value);
    }
    out += value;
  }
}
