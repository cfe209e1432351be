// Reads tap's TAP output of one or more runs and prints the plain closing line CI looks for:
// "N passed, N failed". Arguments: pairs of <file> <exit status>. Uses each run's final
// "# { total, pass, fail, ... }" record; counts "not ok" lines if tap died before it.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let worst = 0;
for (let i = 0; i < args.length; i += 2) {
  const text = readFileSync(args[i], 'utf8');
  const status = Number(args[i + 1] ?? 1);
  let p = 0;
  let f = 0;
  const summary = [...text.matchAll(/^# \{ (.*) \}$/gm)].pop();
  if (summary) {
    for (const part of summary[1].split(',')) {
      const [k, v] = part.split(':').map((s) => s.trim());
      const n = Number(v);
      if (k === 'pass') p = n;
      else if (k === 'fail') f = n;
      else if (k === 'skip' || k === 'todo') skipped += n;
    }
  } else {
    p = (text.match(/^\s*ok \d+/gm) ?? []).length;
    f = (text.match(/^\s*not ok \d+/gm) ?? []).length;
  }
  // A non-zero exit with nothing counted as failed (a crash, a build error) still fails.
  if (status !== 0 && f === 0) f = 1;
  passed += p;
  failed += f;
  if (status !== 0) worst = status;
}
if (skipped) console.log(`${skipped} skipped or todo`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(worst !== 0 ? worst : failed > 0 ? 1 : 0);
