/** grok-dumb-pull's state database read back as the JSON record's shape, for assertions. */
import Database from 'better-sqlite3';

export interface DumbStateEntry {
  key?: string;
  state: string;
  attempts: number;
  failures: number;
  lastError?: string;
  digest: string | null;
  lastChanged: number | null;
  nextCheck: number | null;
}

export function readDumbState(file: string): { repos: Record<string, DumbStateEntry> } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const repos: Record<string, DumbStateEntry> = {};
    for (const r of db.prepare('SELECT * FROM dumb_urls').all() as { url: string; key: string | null; state: string; attempts: number; failures: number; last_error: string | null; digest: string | null; last_changed: number | null; next_check: number | null }[]) {
      repos[r.url] = {
        ...(r.key !== null ? { key: r.key } : {}),
        state: r.state,
        attempts: r.attempts,
        failures: r.failures,
        ...(r.last_error !== null ? { lastError: r.last_error } : {}),
        digest: r.digest,
        lastChanged: r.last_changed,
        nextCheck: r.next_check,
      };
    }
    return { repos };
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` of a state database: "ok" when sound. */
export function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
