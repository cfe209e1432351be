// Stryker for one planner (GROK_MUTANTS_PLANNER, a key of planners.mjs); `npm run mutants` runs it
// once per planner. The instrumented TypeScript is compiled in Stryker's sandbox (the tests run the
// compiled files under dist/), then the tap runner runs the planner's table tests against each mutant.
import { planners } from './planners.mjs';

const name = process.env.GROK_MUTANTS_PLANNER ?? 'replica/plan';
const planner = planners[name];
if (!planner) throw new Error(`unknown planner ${name}: one of ${Object.keys(planners).join(', ')}`);

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: [planner.mutate],
  tap: { testFiles: planner.tests },
  buildCommand: 'npx tsc -p tsconfig.json',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  ignorePatterns: ['dist', 'reports', '.tap', 'bench-out', 'demo-out', 'test-output'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name.replaceAll("/", "-")}.json` },
  thresholds: { high: 90, low: 80, break: null },
  timeoutMS: 20000,
  cleanTempDir: true,
};
