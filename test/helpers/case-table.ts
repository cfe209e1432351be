/**
 * The record a reliability test keeps of its cases (issue 8): each case with what was expected and
 * what happened, written as a markdown table to test-output/reliability/<file-stem>.md (git-ignored)
 * so a reader can see every case and its result without reading the tap output.
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

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export class CaseTable {
  readonly rows: CaseRow[] = [];

  constructor(readonly stem: string, readonly title: string) {}

  /** Records a case; returns `ok` so the caller can assert on it too. */
  add(name: string, expected: string, result: string, ok: boolean): boolean {
    this.rows.push({ name, expected, result: ok ? result : `FAILED: ${result}`, ok });
    return ok;
  }

  get passed(): number {
    return this.rows.filter((r) => r.ok).length;
  }

  /** Writes the table (the file is rewritten whole, so a rerun replaces the old record). */
  write(preamble = ''): string {
    const dir = path.join(REPO_ROOT, 'test-output', 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.stem}.md`);
    const lines = [
      `# ${this.title}`,
      '',
      ...(preamble ? [preamble, ''] : []),
      '| case | expected | result |',
      '|---|---|---|',
      ...this.rows.map((r) => `| ${cell(r.name)} | ${cell(r.expected)} | ${cell(r.result)} |`),
      '',
      `${this.rows.length} cases, ${this.passed} as expected.`,
      '',
    ];
    writeFileSync(file, lines.join('\n'));
    return file;
  }
}
