/**
 * Every reliability case with what was expected and what happened, written as a markdown table to
 * test-output/reliability/<stem>.md (git-ignored) so a run can be read and compared afterwards.
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

  constructor(
    readonly stem: string,
    readonly title: string,
  ) {}

  add(name: string, expected: string, result: string, ok: boolean): void {
    this.rows.push({ name, expected, result: ok ? result : `FAILED: ${result}`, ok });
  }

  get passed(): number {
    return this.rows.filter((r) => r.ok).length;
  }

  /** Writes the table; `notes` go above it (the seed, what was measured). */
  write(notes: readonly string[] = []): string {
    const dir = path.join(REPO_ROOT, 'test-output', 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.stem}.md`);
    const lines = [
      `# ${this.title}`,
      '',
      ...notes.map((n) => `- ${n}`),
      ...(notes.length > 0 ? [''] : []),
      `${this.passed} of ${this.rows.length} cases as expected.`,
      '',
      '| case | expected | result |',
      '| --- | --- | --- |',
      ...this.rows.map((r) => `| ${cell(r.name)} | ${cell(r.expected)} | ${cell(r.result)} |`),
      '',
    ];
    writeFileSync(file, lines.join('\n'));
    return file;
  }
}
