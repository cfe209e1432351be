// The pure planners under mutation testing, each with the table tests that must kill its mutants.
// Only these tests run per mutant: a planner's table is the whole of what it promises.
export const planners = {
  'replica/plan': { mutate: 'replica/plan.ts', tests: ['dist/test/replica/plan.test.js'] },
  'replica/dumb/plan': { mutate: 'replica/dumb/plan.ts', tests: ['dist/test/replica/dumb/plan.test.js'] },
  'shared/fsck/group': { mutate: 'shared/fsck/group.ts', tests: ['dist/test/shared/fsck/group.test.js'] },
  'origin/manifest/plan': { mutate: 'origin/manifest/plan.ts', tests: ['dist/test/origin/plan.test.js'] },
};
