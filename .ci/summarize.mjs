// Reads tap's TAP output and prints the plain closing line CI looks for: "N passed, N failed".
// Uses tap's final "# { total, pass, fail, ... }" record; counts "not ok" lines if tap died before it.
import { readFileSync } from 'node:fs';

const [file, statusArg] = process.argv.slice(2);
const status = Number(statusArg ?? 1);
const text = readFileSync(file, 'utf8');
let passed = 0;
let failed = 0;
let skipped = 0;
const summary = [...text.matchAll(/^# \{ (.*) \}$/gm)].pop();
if (summary) {
  for (const part of summary[1].split(',')) {
    const [k, v] = part.split(':').map((s) => s.trim());
    const n = Number(v);
    if (k === 'pass') passed = n;
    else if (k === 'fail') failed = n;
    else if (k === 'skip' || k === 'todo') skipped += n;
  }
} else {
  passed = (text.match(/^\s*ok \d+/gm) ?? []).length;
  failed = (text.match(/^\s*not ok \d+/gm) ?? []).length;
}
// A non-zero exit with nothing counted as failed (a crash, a build error) still fails.
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
