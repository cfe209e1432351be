/**
 * The reliability suite's record (issue 8): every case a file runs, what was expected and what
 * happened, as a markdown table in test-output/reliability/<stem>.md (git-ignored), so a reader can
 * see each case and its outcome without reading tap output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixture.js';

export interface CaseRow {
  readonly name: string;
  readonly expected: string;
  readonly result: string;
  readonly ok: boolean;
}

/** Markdown-safe, one line, bounded: case names carry NULs, newlines and 5000-character keys. */
export function cell(text: string, max = 160): string {
  const s = JSON.stringify(text).slice(1, -1).replace(/\|/g, '\\|').replace(/`/g, "'");
  return s.length > max ? `${s.slice(0, max)}... (${s.length} chars)` : s;
}

export class CaseTable {
  readonly rows: CaseRow[] = [];

  constructor(readonly stem: string, readonly title: string) {}

  /** Records a case; returns `ok` so the caller can assert on it too. */
  add(name: string, expected: string, result: string, ok: boolean): boolean {
    this.rows.push({ name, expected, result, ok });
    return ok;
  }

  get passed(): number {
    return this.rows.filter((r) => r.ok).length;
  }

  /** Writes the table (whole, so a rerun replaces the old record) and returns its path. */
  write(notes: string | readonly string[] = []): string {
    const dir = path.join(REPO_ROOT, 'test-output', 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.stem}.md`);
    const lines = [
      `# ${this.title}`,
      '',
      `${this.rows.length} cases, ${this.passed} as expected, ${this.rows.length - this.passed} not.`,
      '',
      ...(typeof notes === 'string' ? [notes] : notes).flatMap((n) => [n, '']),
      '| # | case | expected | result |',
      '|---|---|---|---|',
      ...this.rows.map((r, i) => `| ${i + 1} | ${cell(r.name)} | ${cell(r.expected, 200)} | ${r.ok ? '' : '**UNEXPECTED** '}${cell(r.result, 400)} |`),
      '',
    ];
    writeFileSync(file, lines.join('\n'));
    return file;
  }
}
