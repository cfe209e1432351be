// `npm run mutants [-- planner...]`: Stryker once per pure planner (all of them by default), then one
// line per planner: mutants killed of those the tests can reach, and how long the run took.
// Not part of `npm test`: a full run takes minutes per planner on two cores.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { planners } from './planners.mjs';

const asked = process.argv.slice(2).map((a) => a.replace(/\.ts$/, ''));
for (const a of asked) {
  if (!planners[a]) {
    console.error(`unknown planner ${a}: one of ${Object.keys(planners).join(', ')}`);
    process.exit(2);
  }
}
const names = asked.length > 0 ? asked : Object.keys(planners);
const rows = [];
let failed = false;
for (const name of names) {
  const started = Date.now();
  const run = spawnSync('npx', ['stryker', 'run', 'test/mutants/stryker.config.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, GROK_MUTANTS_PLANNER: name },
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (run.status !== 0) {
    failed = true;
    rows.push(`${name}: stryker exited ${run.status} after ${seconds}s`);
    continue;
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${name.replaceAll('/', '-')}.json`, 'utf8'));
  const count = {};
  for (const file of Object.values(report.files)) {
    for (const m of file.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  }
  const detected = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const valid = detected + (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  rows.push(
    `${name}: ${score.toFixed(1)}% killed (${detected}/${valid}; survived ${count.Survived ?? 0}, ` +
      `no coverage ${count.NoCoverage ?? 0}, compile errors ${count.CompileError ?? 0}) in ${seconds}s`,
  );
}
console.log('\nmutation score per planner:');
for (const r of rows) console.log(`  ${r}`);
process.exit(failed ? 1 : 0);
