/**
 * Reads one value from a repository's `config` file without starting git, because a full manifest
 * walk would otherwise spend one extra process per repo on `gitweb.owner`. Covers git's config syntax
 * for plain files (case-insensitive names, quotes, escapes, comments, continuation lines); a file that
 * uses includes, or anything this reader does not understand, answers `undefined` and the caller asks
 * git itself (`readConfigValue` in repo/inspect.ts).
 */
export type ConfigLookup = { found: true; value: string | null } | { found: false } | { fallback: true };

const HEADER_RE = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/;
const NAME_RE = /^([A-Za-z][A-Za-z0-9-]*)\s*(=?)/;

function parseValue(line: string, nextLine: () => string | undefined): string | undefined {
  let out = '';
  let quoted = false;
  let pendingSpace = '';
  let s = line;
  for (let i = 0; ; i++) {
    if (i >= s.length) {
      if (quoted) return undefined; // an unterminated quote spans no line in valid config
      return out;
    }
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) {
        const more = nextLine();
        if (more === undefined) return undefined;
        s = more;
        i = -1;
        continue;
      }
      const esc: Record<string, string> = { n: '\n', t: '\t', b: '\b', '"': '"', '\\': '\\' };
      if (!(n in esc)) return undefined;
      out += pendingSpace + esc[n];
      pendingSpace = '';
      i++;
    } else if (c === '"') {
      out += pendingSpace;
      pendingSpace = '';
      quoted = !quoted;
    } else if (!quoted && (c === '#' || c === ';')) {
      return out;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (out !== '') pendingSpace += c;
    } else {
      out += pendingSpace + c;
      pendingSpace = '';
    }
  }
}

type ConfigEntry = { readonly subsection: string | undefined; readonly value: string | null };

/** Every `section.<any subsection>.key` in file order, or null when git's help is needed. */
function scanConfig(text: string, section: string, key: string): ConfigEntry[] | null {
  if (/^\s*\[\s*include/im.test(text)) return null;
  const lines = text.split(/\r?\n/);
  let inSection = false;
  let sub: string | undefined;
  const out: ConfigEntry[] = [];
  const wantSection = section.toLowerCase();
  const wantKey = key.toLowerCase();
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const m = HEADER_RE.exec(line);
      if (!m) return null;
      sub = m[2] === undefined ? undefined : m[2].replace(/\\(.)/g, '$1');
      inSection = m[1]!.toLowerCase() === wantSection;
      line = line.slice(m[0].length).trimStart();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    }
    const m = NAME_RE.exec(line);
    if (!m) return null;
    const rest = line.slice(m[0].length);
    if (!inSection || m[1]!.toLowerCase() !== wantKey) continue;
    if (m[2] !== '=') {
      if (rest.trim() !== '' && !/^\s*[#;]/.test(rest)) return null;
      out.push({ subsection: sub, value: null });
      continue;
    }
    const value = parseValue(rest, () => lines[++i]);
    if (value === undefined) return null;
    out.push({ subsection: sub, value });
  }
  return out;
}

/**
 * The last value of `section.key` (or `section.subsection.key`), as `git config --get` would print
 * it. Section and key names are case-insensitive, subsections are not.
 */
export function lookupConfigValue(text: string, section: string, key: string, subsection?: string): ConfigLookup {
  const all = scanConfig(text, section, key);
  if (all === null) return { fallback: true };
  const last = all.filter((e) => e.subsection === subsection).pop();
  return last ? { found: true, value: last.value } : { found: false };
}

/**
 * Every subsection's last value of `section.<subsection>.key` (`remote.*.promisor`), or null when
 * git's help would be needed.
 */
export function lookupConfigSubsections(text: string, section: string, key: string): Map<string, string | null> | null {
  const all = scanConfig(text, section, key);
  if (all === null) return null;
  const out = new Map<string, string | null>();
  for (const e of all) if (e.subsection !== undefined) out.set(e.subsection, e.value);
  return out;
}

const INCLUDE_RE = /^\s*\[\s*include\s*\]\s*(?:[#;].*)?$/i;
const INCLUDE_PATH_RE = /^\s*path\s*=\s*(.*?)\s*$/i;
const MAX_INCLUDE_DEPTH = 4;

/**
 * The text with plain `[include] path = <file>` sections replaced by the files' text (relative paths
 * taken from `dir`, the including file's directory), as git reads them: public-inbox's epochs include
 * `../../all.git/config`. Anything else in an include section, a quoted or `~` path, a file that cannot
 * be read, or nesting deeper than git would go, leaves the include in place (and so the readers above
 * answer "ask git"). `[includeIf]` is never expanded.
 */
export function inlineIncludes(text: string, dir: string, read: (file: string) => string | null, depth = 0): string {
  if (!/^\s*\[\s*include\s*\]/im.test(text) || depth >= MAX_INCLUDE_DEPTH) return text;
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!INCLUDE_RE.test(lines[i]!)) {
      out.push(lines[i]!);
      continue;
    }
    const block: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.trimStart().startsWith('['); j++) {
      const l = lines[j]!.trim();
      if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
      const m = INCLUDE_PATH_RE.exec(l);
      const file = m?.[1];
      if (!file || /["\\~]/.test(file)) return text;
      const full = file.startsWith('/') ? file : `${dir.replace(/\/+$/, '')}/${file}`;
      const inner = read(full);
      if (inner === null) return text;
      const innerDir = full.slice(0, full.lastIndexOf('/')) || '/';
      const expanded = inlineIncludes(inner, innerDir, read, depth + 1);
      if (/^\s*\[\s*include\s*\]/im.test(expanded)) return text;
      block.push(expanded);
    }
    out.push(...block);
    i = j - 1;
  }
  return out.join('\n');
}
