/**
 * Whether a repository is a partial clone (a "promisor" repository), decided as git decides it: any
 * remote with `remote.<name>.promisor = true` (or a `partialclonefilter`), or `extensions.partialClone`
 * naming one. git 2.39's `clone --filter` writes only the first, so the extension alone misses every
 * partial clone it made.
 * Such a repository must not join an objstore (the objstore would take its holes for damage, and
 * siblings borrowing from it would lack the objects), never seeds one, and is not repacked by our
 * housekeeping (git's own repack keeps promisor packs apart; ours with -A/-l/-b flags is not written
 * with missing objects in mind). This is the one place that decides it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inlineIncludes, lookupConfigSubsections, lookupConfigValue } from '../git/index.js';
import { partialFilterProblem } from '../git/partial-filter.js';

/** git's boolean: no value, or true/yes/on, or a non-zero number. */
function gitTrue(v: string | null): boolean {
  if (v === null) return true;
  const s = v.trim().toLowerCase();
  return s === 'true' || s === 'yes' || s === 'on' || (/^-?[0-9]+$/.test(s) && Number(s) !== 0);
}

type PartialFacts = { readonly partial: false } | { readonly partial: true; readonly filter: string | null };

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function readConfig(gitDir: string): string | null {
  const text = readText(path.join(gitDir, 'config'));
  return text === null ? null : inlineIncludes(text, gitDir, readText);
}

/** From the text of a repository's config file (null: none). */
function partialFacts(text: string | null): PartialFacts {
  if (text === null) return { partial: false };
  const ext = lookupConfigValue(text, 'extensions', 'partialClone');
  const promisor = lookupConfigSubsections(text, 'remote', 'promisor');
  const filters = lookupConfigSubsections(text, 'remote', 'partialclonefilter');
  // A config our reader cannot follow (includes) is taken as partial: skipping work is the safe side.
  if (!('found' in ext) || promisor === null || filters === null) return { partial: true, filter: null };
  const remotes = [...promisor].filter(([, v]) => gitTrue(v)).map(([name]) => name);
  if (ext.found && ext.value) remotes.push(ext.value);
  // A filter set on a remote makes it a promisor in some git versions: the safe side again.
  for (const [name, f] of filters) if (f !== null && f !== '' && !remotes.includes(name)) remotes.push(name);
  if (remotes.length === 0) return { partial: false };
  const filter = remotes.map((r) => filters.get(r)).find((f): f is string => typeof f === 'string' && partialFilterProblem(f) === null);
  return { partial: true, filter: filter ?? null };
}

export function isPromisorRepo(gitDir: string): boolean {
  return partialFacts(readConfig(gitDir)).partial;
}

/**
 * What a manifest entry says of a partial clone (`"partial"`, see manifest/entry.ts): the filter it was
 * made with, `true` when that is unknown, null for a complete repository.
 */
export function partialMark(gitDir: string): string | true | null {
  return partialMarkOf(readConfig(gitDir));
}

/**
 * partialMark from the config file's text, for a caller that has read it already; with `gitDir`, the
 * files it includes are read too.
 */
export function partialMarkOf(config: string | null, gitDir?: string): string | true | null {
  const f = partialFacts(config !== null && gitDir !== undefined ? inlineIncludes(config, gitDir, readText) : config);
  return f.partial ? (f.filter ?? true) : null;
}
