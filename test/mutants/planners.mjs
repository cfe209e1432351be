// The pure planners under mutation testing, each with the table tests that must kill its mutants.
// Only these tests run per mutant: a planner's table is the whole of what it promises.
export const planners = {
  'replica/plan': { mutate: 'replica/plan.ts', tests: ['dist/test/replica/plan.test.js'] },
  'replica/dumb/plan': { mutate: 'replica/dumb/plan.ts', tests: ['dist/test/replica/dumb/plan.test.js'] },
  'shared/fsck/group': { mutate: 'shared/fsck/group.ts', tests: ['dist/test/shared/fsck/group.test.js'] },
  'origin/manifest/plan': { mutate: 'origin/manifest/plan.ts', tests: ['dist/test/origin/plan.test.js'] },
  'shared/fsck/repack': { mutate: 'shared/fsck/repack.ts', tests: ['dist/test/shared/fsck/tables.test.js'] },
  'shared/fsck/check': { mutate: 'shared/fsck/check.ts', tests: ['dist/test/shared/fsck/tables.test.js'] },
  'shared/repo/repack-level': { mutate: 'shared/repo/repack-level.ts', tests: ['dist/test/shared/repack-level.test.js'] },
  'replica/bundle/plan': { mutate: 'replica/bundle/plan.ts', tests: ['dist/test/replica/bundle/plan.test.js'] },
  'shared/fsck/objstore-steps': { mutate: 'shared/fsck/objstore-steps.ts', tests: ['dist/test/shared/fsck/objstore-steps.test.js'] },
  'replica/pi/piper-plan': { mutate: 'replica/pi/piper-plan.ts', tests: ['dist/test/replica/pi/piper-plan.test.js'] },
  'replica/dumb/schedule': { mutate: 'replica/dumb/schedule.ts', tests: ['dist/test/replica/dumb/schedule.test.js'] },
  'replica/dumb/lease': { mutate: 'replica/dumb/lease.ts', tests: ['dist/test/replica/dumb/lease.test.js'] },
  'replica/dumb/tips': { mutate: 'replica/dumb/tips.ts', tests: ['dist/test/replica/dumb/tips.test.js'] },
  'replica/pass-record': { mutate: 'replica/pass-record.ts', tests: ['dist/test/replica/pass-record.test.js'] },
};
