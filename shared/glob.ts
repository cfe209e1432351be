/**
 * Glob matching with Python fnmatch.fnmatchcase semantics, which grokmirror.conf globs are written for:
 * `*` matches any run of characters including `/`, `?` any one character, `[seq]` and `[!seq]` classes
 * (a `]` first in the class is literal), no braces, no escapes, case-sensitive, whole-string match.
 * picomatch and minimatch treat `/` specially and `!` as negation, so they disagree with fnmatch
 * (measured: 48 of 999 cases in test/shared/glob.test.ts); see README.
 */
const cache = new Map<string, RegExp>();

function escapeClassChar(ch: string): string {
  return '\\]-[^'.includes(ch) ? `\\${ch}` : ch;
}

function translate(pattern: string): string {
  let re = '';
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i++]!;
    if (c === '*') {
      while (pattern[i] === '*') i++;
      re += '[\\s\\S]*';
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < n && pattern[j] !== ']') j++;
      if (j >= n) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i, j);
      i = j + 1;
      let negate = false;
      if (body.startsWith('!')) {
        negate = true;
        body = body.slice(1);
      }
      // Ranges whose end comes before their start match nothing in Python; drop them the same way.
      let cls = '';
      for (let k = 0; k < body.length; k++) {
        const a = body[k]!;
        if (body[k + 1] === '-' && k + 2 < body.length) {
          const b = body[k + 2]!;
          if (a <= b) cls += `${escapeClassChar(a)}-${escapeClassChar(b)}`;
          k += 2;
        } else {
          cls += escapeClassChar(a);
        }
      }
      if (cls === '') re += negate ? '[\\s\\S]' : '(?!)';
      else re += negate ? `[^${cls}]` : `[${cls}]`;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return `^${re}$`;
}

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(translate(pattern), 'u');
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

export function fnmatch(name: string, pattern: string): boolean {
  return globToRegExp(pattern).test(name);
}

export function matchesAny(name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) if (fnmatch(name, p)) return true;
  return false;
}
