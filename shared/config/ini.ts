/**
 * A reader for the INI dialect of Python's `configparser` (the one grokmirror.conf is written in),
 * so that an existing grokmirror.conf loads unchanged:
 * - `key = value` or `key: value`; the key is the text before the first `=` or `:`, lower-cased;
 * - a line indented deeper than its key line continues the value (joined with "\n");
 *   blank lines inside a value are kept, trailing ones dropped; full-line `#`/`;` comments are skipped
 *   anywhere, inline comments are not recognised (configparser's default);
 * - section names are case-sensitive; `[DEFAULT]` supplies fallbacks to every section;
 * - a duplicate section or key is an error (configparser's strict mode).
 * No npm INI library implements continuation lines and `:` delimiters this way (see README).
 */
import { GrokError } from '../errors.js';

export interface IniValue {
  /** Raw value, continuation lines joined with "\n", not yet interpolated. */
  readonly raw: string;
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly values: Map<string, IniValue>;
}

export interface IniDocument {
  readonly file: string;
  readonly defaults: Map<string, IniValue>;
  readonly sections: Map<string, IniSection>;
}

export const DEFAULT_SECTION = 'DEFAULT';
const SECTION_RE = /^\[(.+)\]/;
const OPTION_RE = /^(.*?)\s*[=:]\s*(.*)$/;

interface Pending {
  key: string;
  line: number;
  parts: string[];
}

export function parseIni(text: string, file: string): IniDocument {
  const defaults = new Map<string, IniValue>();
  const sections = new Map<string, IniSection>();
  let current: Map<string, IniValue> | null = null;
  let currentName = '';
  let pending: Pending | null = null;
  let indentLevel = 0;

  const flush = (): void => {
    if (pending && current) {
      while (pending.parts.length > 1 && pending.parts[pending.parts.length - 1] === '') pending.parts.pop();
      current.set(pending.key, { raw: pending.parts.join('\n'), line: pending.line });
    }
    pending = null;
  };
  const fail = (lineNo: number, what: string): never => {
    throw new GrokError('GROK_ERR_CONFIG_SYNTAX', `${file}:${lineNo}: ${what}`, { file, line: lineNo });
  };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i] ?? '';
    const stripped = line.trim();
    if (stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (stripped === '') {
      if (pending) (pending as Pending).parts.push('');
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (pending && indent > indentLevel) {
      (pending as Pending).parts.push(stripped);
      continue;
    }
    flush();
    indentLevel = indent;
    const header = SECTION_RE.exec(stripped);
    if (header) {
      const name = header[1] ?? '';
      if (name === DEFAULT_SECTION) {
        current = defaults;
      } else {
        if (sections.has(name)) fail(lineNo, `section [${name}] appears twice`);
        const section: IniSection = { name, line: lineNo, values: new Map() };
        sections.set(name, section);
        current = section.values;
      }
      currentName = name;
      continue;
    }
    if (!current) fail(lineNo, `"${stripped}" comes before any [section] header`);
    const option = OPTION_RE.exec(stripped);
    const key = option?.[1]?.trimEnd().toLowerCase();
    if (!option || !key) fail(lineNo, `expected "key = value" in [${currentName}], found "${stripped}"`);
    if (current!.has(key!)) fail(lineNo, `key "${key}" appears twice in [${currentName}]`);
    pending = { key: key!, line: lineNo, parts: [(option![2] ?? '').trim()] };
  }
  flush();
  return { file, defaults, sections };
}
