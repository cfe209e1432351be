/**
 * How a mirrored inbox is registered with public-inbox-init, from what its origin says about it: the
 * `publicinbox` section that lore.kernel.org-style origins keep in each epoch at `refs/meta/origins:i`
 * (or serve at `<origin>/<list>/_/text/config/raw`). grokmirror's rules: every `address`, the
 * `description` and `newsgroup`, `listid` (plus a search `boost` from its place in --listid-priority)
 * and the keys named by --extra-cfgopts become options; anything else is ignored. Pure.
 */
import { fnmatch } from '../../shared/glob.js';

export interface InboxRegistration {
  readonly addresses: readonly string[];
  readonly description: string;
  readonly newsgroup: string | null;
  /** `-c key=value` options for public-inbox-init, in order. */
  readonly extra: readonly (readonly [string, string])[];
}

export interface OriginsOptions {
  readonly name: string;
  /** Comma-separated globs, highest priority first ('' for none). */
  readonly listidPriority: string;
  /** Comma-separated keys taken besides listid. */
  readonly extraCfgopts: string;
  /** The description to use when the origin gives none (the repository's own), if any. */
  readonly fallbackDescription?: string;
}

const SECTION_RE = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]$/;

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** The boost public-inbox gives a List-Id's messages: 10 and up by place in the priority list, else 1. */
export function listidBoost(listid: string, priority: string): number {
  const globs = priority.split(',').map((g) => g.trim()).filter(Boolean).reverse();
  const at = globs.findIndex((g) => fnmatch(listid, g));
  return at < 0 ? 1 : at + 10;
}

export function registrationFrom(text: string, opts: OriginsOptions): InboxRegistration {
  const accept = new Set(['listid', ...opts.extraCfgopts.split(',').map((k) => k.trim().toLowerCase()).filter(Boolean)]);
  const boosts = opts.listidPriority.trim() !== '';
  const addresses: string[] = [];
  const extra: [string, string][] = [];
  let description: string | null = null;
  let newsgroup: string | null = null;
  let listid: string | null = null;
  let inSection = true;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const sect = SECTION_RE.exec(line);
    if (sect) {
      inSection = sect[1]!.toLowerCase() === 'publicinbox';
      continue;
    }
    const eq = line.indexOf('=');
    if (!inSection || eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = unquote(line.slice(eq + 1).trim());
    if (key === 'address') addresses.push(value);
    else if (key === 'description') description = value;
    else if (key === 'newsgroup') newsgroup = value;
    else {
      if (key === 'listid' && boosts) {
        listid = value;
        extra.push(['boost', String(listidBoost(value, opts.listidPriority))]);
      }
      if (accept.has(key)) extra.push([key, value]);
    }
  }
  return {
    addresses: addresses.length > 0 ? addresses : [`${opts.name}@localhost`],
    description: description ?? opts.fallbackDescription ?? `${listid ?? opts.name} archive mirror`,
    newsgroup,
    extra,
  };
}

export interface InitArgs {
  readonly name: string;
  readonly inboxDir: string;
  readonly url: string;
  readonly indexlevel: string;
}

/**
 * public-inbox-init's arguments, as grokmirror passes them, plus a `--` before the names: the addresses
 * come from the origin, and one starting with "-" must not be read as an option.
 */
export function initArgv(reg: InboxRegistration, a: InitArgs): string[] {
  const argv = ['-V2', '-L', a.indexlevel];
  if (reg.newsgroup) argv.push('--ng', reg.newsgroup);
  for (const [k, v] of reg.extra) argv.push('-c', `${k}=${v}`);
  return [...argv, '--', a.name, a.inboxDir, a.url, ...reg.addresses];
}
