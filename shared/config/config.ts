/**
 * Loads grokmirror.conf once into a typed, deeply frozen object. Unknown sections and keys are
 * reported as warnings (an existing grokmirror.conf must load unchanged), except one edit away from
 * a known one: a typo (`[pul]`) would otherwise run with defaults in its place (near.ts). Every
 * error names the file, the section, the key and the line.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../errors.js';
import { parseIni, type IniDocument, type IniValue } from './ini.js';
import { interpolate, lookupIn } from './interpolate.js';
import { SCHEMA, type KeyDef, type SectionConfig, type SectionName } from './schema.js';
import { pathClash } from './paths.js';
import { convert } from './values.js';
import { oneEditAway } from './near.js';

export interface GrokConfig {
  readonly file: string;
  /** mtime of the config file in ms: grok-pull re-reads everything when the config changed. */
  readonly lastModified: number;
  readonly core: SectionConfig<'core'>;
  readonly manifest: SectionConfig<'manifest'>;
  readonly remote: SectionConfig<'remote'>;
  readonly pull: SectionConfig<'pull'>;
  readonly fsck: SectionConfig<'fsck'>;
  readonly origin: SectionConfig<'origin'>;
  /** Sections we do not know (e.g. a newer grokmirror's), raw and interpolated. */
  readonly extra: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly warnings: readonly string[];
  /** Where each known key's value came from, by "[section] key": "file:line", or "file (default)". */
  readonly locations: Readonly<Record<string, string>>;
}

/** "file:line: [section] key" for messages about a value found wrong after loading (a socket path that is a file). */
export function configWhere(config: Pick<GrokConfig, 'file' | 'locations'>, section: SectionName, key: string): string {
  return `${config.locations[`[${section}] ${key}`] ?? config.file}: [${section}] ${key}`;
}

export function loadConfig(file: string): GrokConfig {
  const abs = path.resolve(file);
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(abs, 'utf8');
    mtime = statSync(abs).mtimeMs;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GrokError('GROK_ERR_CONFIG_NOT_FOUND', `${abs}: cannot read config file (${code ?? String(err)})`, { file: abs }, { cause: err });
  }
  return buildConfig(parseIni(text, abs), mtime);
}

export function buildConfig(doc: IniDocument, lastModified = 0): GrokConfig {
  const warnings: string[] = [];
  if (!doc.sections.has('core')) {
    throw new GrokError('GROK_ERR_CONFIG_MISSING', `${doc.file}: section [core] is missing (is this a grokmirror 1.x config?)`, { file: doc.file });
  }
  // Lookups fall back to schema defaults, so `${core:objstore}` works even when the file does not set it.
  const defaultsLookup = (section: string, key: string): IniValue | undefined => {
    const schema = SCHEMA as Record<string, Record<string, KeyDef>>;
    // Own properties only: a section or key named `constructor` or `__proto__` is unknown, not Object's.
    const def = Object.hasOwn(schema, section) && Object.hasOwn(schema[section]!, key) ? schema[section]![key] : undefined;
    return def && def.default !== undefined ? { raw: def.default, line: 0 } : undefined;
  };
  const lookup = lookupIn(doc, defaultsLookup);
  const memo = new Map<string, string>();
  const locations: Record<string, string> = {};
  const out: Record<string, unknown> = {};
  const effective: Record<string, Record<string, string>> = {};
  for (const [name, section] of doc.sections) {
    const near = Object.hasOwn(SCHEMA, name) ? null : oneEditAway(name, Object.keys(SCHEMA));
    if (near) throw new GrokError('GROK_ERR_CONFIG_SYNTAX', `${doc.file}:${section.line}: unknown section [${name}]; did you mean [${near}]?`, { file: doc.file, section: name });
  }
  for (const [section, keys] of Object.entries(SCHEMA) as [SectionName, Record<string, KeyDef>][]) {
    const values = doc.sections.get(section)?.values ?? new Map<string, IniValue>();
    const typed: Record<string, unknown> = {};
    const texts: Record<string, string> = (effective[section] = {});
    for (const [key, value] of values) {
      const near = Object.hasOwn(keys, key) ? null : oneEditAway(key, Object.keys(keys));
      if (near) throw new GrokError('GROK_ERR_CONFIG_SYNTAX', `${doc.file}:${value.line}: unknown key "${key}" in [${section}]; did you mean "${near}"?`, { file: doc.file, section, key });
    }
    for (const [key, def] of Object.entries(keys)) {
      const given = values.get(key) ?? doc.defaults.get(key);
      const where = given ? `${doc.file}:${given.line}` : `${doc.file} (default)`;
      locations[`[${section}] ${key}`] = where;
      const required = (def.kind === 'string' || def.kind === 'path') && def.required === true;
      if (!given && required) {
        throw new GrokError('GROK_ERR_CONFIG_MISSING', `${doc.file}: [${section}] ${key} is required`, { file: doc.file, section, key });
      }
      // An empty value means "use the default" for typed keys (grokmirror.conf often says `purge =`).
      const raw = given && !(given.raw.trim() === '' && def.kind !== 'string' && def.kind !== 'path' && def.kind !== 'list') ? given.raw : def.default ?? '';
      const text = interpolate(raw, section, key, lookup, where, memo);
      // A NUL reaches no file name or git argument: Node refuses such strings with a raw error.
      if (text.includes('\0')) {
        throw new GrokError('GROK_ERR_CONFIG_VALUE', `${where}: [${section}] ${key}: holds a NUL character`, { file: doc.file, section, key, line: given?.line });
      }
      if (required && text.trim() === '') {
        throw new GrokError('GROK_ERR_CONFIG_MISSING', `${where}: [${section}] ${key} is required and is empty`, { file: doc.file, section, key });
      }
      const result = convert(def, text);
      if (!result.ok) {
        throw new GrokError('GROK_ERR_CONFIG_VALUE', `${where}: [${section}] ${key}: ${result.why}`, { file: doc.file, section, key, line: given?.line });
      }
      typed[key] = result.value;
      texts[key] = text;
    }
    for (const [key, value] of values) {
      if (!Object.hasOwn(keys, key)) warnings.push(`${doc.file}:${value.line}: unknown key "${key}" in [${section}] (ignored)`);
    }
    out[section] = Object.freeze(typed);
  }
  // Null-prototype objects: a section or key named `__proto__` is data like any other.
  const extra: Record<string, Readonly<Record<string, string>>> = Object.create(null);
  for (const [name, section] of doc.sections) {
    if (Object.hasOwn(SCHEMA, name)) continue;
    warnings.push(`${doc.file}:${section.line}: unknown section [${name}] (kept, not used)`);
    const values: Record<string, string> = Object.create(null);
    for (const [key, value] of section.values) {
      const where = `${doc.file}:${value.line}`;
      values[key] = interpolate(value.raw, name, key, lookup, where, memo);
      if (values[key].includes('\0')) throw new GrokError('GROK_ERR_CONFIG_VALUE', `${where}: [${name}] ${key}: holds a NUL character`, { file: doc.file, section: name, key });
    }
    extra[name] = Object.freeze(values);
  }
  const typed = out as Pick<GrokConfig, SectionName>;
  const clash = pathClash(typed, locations);
  if (clash) throw new GrokError('GROK_ERR_CONFIG_VALUE', clash, { file: doc.file });
  const config: GrokConfig = Object.freeze({
    file: doc.file,
    lastModified,
    ...typed,
    extra: Object.freeze(extra),
    warnings: Object.freeze(warnings),
    locations: Object.freeze(locations),
  });
  EFFECTIVE.set(config, effective);
  return config;
}

const EFFECTIVE = new WeakMap<GrokConfig, Readonly<Record<string, Readonly<Record<string, string>>>>>();

/** Each known key's value as the config gives it, defaults filled in and `${...}` resolved (text, not typed). */
export function effectiveValues(config: GrokConfig): Readonly<Record<string, Readonly<Record<string, string>>>> {
  return EFFECTIVE.get(config) ?? {};
}
