/**
 * configparser's ExtendedInterpolation: `${key}` (same section, then [DEFAULT]), `${section:key}`,
 * and `$$` for a literal `$`. Any other `$` is an error, as in Python.
 */
import { GrokError } from '../errors.js';
import type { IniDocument, IniValue } from './ini.js';

const MAX_DEPTH = 10;

export type RawLookup = (section: string, key: string) => IniValue | undefined;

export function lookupIn(doc: IniDocument, extra?: RawLookup): RawLookup {
  return (section, key) =>
    doc.sections.get(section)?.values.get(key) ?? doc.defaults.get(key) ?? extra?.(section, key);
}

export function interpolate(raw: string, section: string, key: string, lookup: RawLookup, where: string, depth = 0): string {
  const fail = (why: string): never => {
    throw new GrokError('GROK_ERR_CONFIG_INTERPOLATION', `${where}: [${section}] ${key}: ${why}`, { section, key });
  };
  if (depth > MAX_DEPTH) fail(`interpolation nested deeper than ${MAX_DEPTH} levels (a reference loop?)`);
  let out = '';
  let rest = raw;
  for (;;) {
    const at = rest.indexOf('$');
    if (at < 0) return out + rest;
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
    out += target!.raw.includes('$')
      ? interpolate(target!.raw, refSection, refKey, lookup, where, depth + 1)
      : target!.raw;
  }
}
