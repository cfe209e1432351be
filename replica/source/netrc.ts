/**
 * Credentials for the manifest URL from a netrc file ($NETRC or ~/.netrc): `machine HOST login USER
 * password PASS`, else a `default` entry. Tokens are whitespace-separated; `macdef` blocks (which end
 * at a blank line) are skipped.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Credentials {
  readonly login: string;
  readonly password: string;
}

export function parseNetrc(text: string, host: string): Credentials | null {
  const tokens = text.replace(/\bmacdef\b[\s\S]*?(?:\n[ \t]*\n|$)/g, ' ').split(/\s+/).filter((t) => t !== '');
  const entries: { machine: string | null; login?: string; password?: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const cur = entries[entries.length - 1];
    if (t === 'machine') entries.push({ machine: tokens[++i] ?? '' });
    else if (t === 'default') entries.push({ machine: null });
    else if (t === 'login' && cur) cur.login = tokens[++i];
    else if (t === 'password' && cur) cur.password = tokens[++i];
  }
  const e = entries.find((x) => x.machine === host) ?? entries.find((x) => x.machine === null);
  return e?.login !== undefined ? { login: e.login, password: e.password ?? '' } : null;
}

export function netrcCredentials(host: string, env: NodeJS.ProcessEnv = process.env): Credentials | null {
  const file = env.NETRC ?? path.join(env.HOME ?? os.homedir(), '.netrc');
  try {
    return parseNetrc(readFileSync(file, 'utf8'), host);
  } catch {
    return null;
  }
}
