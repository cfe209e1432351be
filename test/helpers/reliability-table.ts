/**
 * The reliability suite's record: every case a file runs, what was expected and what happened, as a
 * markdown table in test-output/reliability/<file-stem>.md (git-ignored), so a reader can see each
 * hostile input and its outcome without reading tap output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixture.js';

export interface CaseRecord {
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
  readonly cases: CaseRecord[] = [];

  constructor(readonly stem: string, readonly title: string) {}

  add(name: string, expected: string, result: string, ok: boolean): void {
    this.cases.push({ name, expected, result, ok });
  }

  get passed(): number {
    return this.cases.filter((c) => c.ok).length;
  }

  /** Writes the table and returns its path. */
  write(notes: readonly string[] = []): string {
    const dir = path.join(REPO_ROOT, 'test-output', 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.stem}.md`);
    const lines = [
      `# ${this.title}`,
      '',
      `${this.cases.length} cases, ${this.passed} as expected, ${this.cases.length - this.passed} not.`,
      '',
      ...notes.flatMap((n) => [n, '']),
      '| # | case | expected | result |',
      '|---|---|---|---|',
      ...this.cases.map((c, i) => `| ${i + 1} | ${cell(c.name)} | ${cell(c.expected, 200)} | ${c.ok ? '' : '**UNEXPECTED** '}${cell(c.result, 400)} |`),
      '',
    ];
    writeFileSync(file, lines.join('\n'));
    return file;
  }
}
