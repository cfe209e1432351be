/**
 * grok-fsck's objstore work: the grouping plan (group.ts, pure) and the departures and retirements
 * around it become typed steps (objstore-steps.ts, pure), carried out by one runner
 * (objstore-runner.ts). Each stage is planned from a fresh inventory. Repositories busy with grok-pull
 * are skipped this time (their lock is shared with it).
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.js';
import type { Git } from '../git/index.js';
import { matchesAny } from '../glob.js';
import type { Logger } from '../log.js';
import { cleanObjstoreDir, objstorePath, type RepoFailure } from '../objstore/index.js';
import { isBareRepo } from '../repo/bare.js';
import { groupForks, type RepoRoots, type StoreRoots } from './group.js';
import { takeInventory, type Inventory, type Privacy } from './inventory.js';
import { adoptable, departureSteps, planSteps, retireSteps } from './objstore-steps.js';
import { StepRunner } from './objstore-runner.js';
import { repoRoots } from './roots.js';

export interface ObjstorePhaseOptions {
  readonly toplevel: string;
  readonly objstoreDir: string;
  readonly privacy: Privacy;
  readonly baselines: readonly string[];
  readonly plumbing: boolean;
  /** Manifest forkgroups by repository key (replicas name their objstores after them). */
  readonly forkgroups: ReadonlyMap<string, string>;
  readonly random?: () => string;
  readonly now: () => number;
  /** `[fsck] preload_bundle_outdir` ('' : none): a bundle holding what must not be served goes at once. */
  readonly preloadBundleDir?: string;
  /** Why no repository may join an objstore this run (what is published cannot be told), or null. */
  readonly noJoins?: string | null;
  /** The toplevel is an origin's, served as it is (replicas repair their own borrowing elsewhere). */
  readonly origin?: boolean;
}

export interface ObjstorePhaseResult {
  readonly inventory: Inventory;
  /** Steps that failed (not merely busy: those wait for the next run, in `notes`). */
  readonly problems: readonly RepoFailure[];
  /** Objstores that gained members or were merged into: they get a full repack. */
  readonly grown: ReadonlySet<string>;
  readonly notes: readonly string[];
}

export async function runObjstorePhase(git: Git, o: ObjstorePhaseOptions, log: Logger): Promise<ObjstorePhaseResult> {
  const runner = new StepRunner(git, o, log);
  for (const n of await cleanObjstoreDir(o.objstoreDir)) runner.note(`removed leftover ${n} from an interrupted run`);
  const inventory = () => takeInventory(git, o.toplevel, o.objstoreDir, o.privacy);

  // 1. Members that left (gone, borrowing elsewhere, or private or unexported now), stale refs.
  let inv = await inventory();
  const exists = new Set<string>();
  for (const s of inv.stores) for (const m of s.remotes.values()) if (await isBareRepo(m)) exists.add(m);
  await runner.runAll(departureSteps(inv, exists, o.origin === true));

  // 2. The plan: merges, joins, adoptions, new objstores. Once borrowers have been adopted, their
  // lenders may join too: planned again, once.
  for (let round = 0; round < 2; round++) {
    inv = await inventory();
    const planned = groupForks(...(await groupingInput(git, inv, o, (m) => runner.note(m))));
    const plan = o.noJoins ? { ...planned, joins: [], newStores: [] } : planned;
    if (o.noJoins && planned.joins.length + planned.newStores.length > 0) runner.note(`no repository joins an objstore this run: ${o.noJoins}`);
    const adopted = runner.adopted;
    await runner.runAll(planSteps(plan, inv, (name) => objstorePath(inv.objstoreDir, name), o.random ?? randomUUID));
    if (runner.adopted === adopted) break;
  }

  // 3. Objstores nothing borrows from any more.
  inv = await inventory();
  await runner.runAll(retireSteps(inv));
  if (runner.notes.length > 0) inv = await inventory();
  return { inventory: inv, problems: runner.failures, grown: runner.grown, notes: runner.notes };
}

/** What the pure grouping plan reads: each repository's roots and state, each objstore's. */
async function groupingInput(git: Git, inv: Inventory, o: ObjstorePhaseOptions, note: (m: string) => void): Promise<[RepoRoots[], StoreRoots[]]> {
  const rootsOf = new Map<string, string[]>();
  for (const r of inv.repos) {
    try {
      rootsOf.set(r.path, await repoRoots(git, r.path));
    } catch (err) {
      note(`${r.key}: cannot read its root commits (${describeError(err)}); left out of grouping`);
    }
  }
  const repos: RepoRoots[] = inv.repos.map((r) => ({
    key: r.path,
    roots: rootsOf.get(r.path) ?? [],
    store: r.store,
    forkgroup: o.forkgroups.get(r.key) ?? null,
    // A shared object directory never joins: slimming it would drop what the others need.
    // A lender stays out while anything borrows from it; its borrowers are adopted first.
    optOut: r.optOut || (r.borrowsFrom !== null && !adoptable(r, inv)) || inv.lenders.has(r.path) || r.sharedObjects !== null || !rootsOf.has(r.path),
    baseline: o.baselines.length > 0 && (matchesAny(r.key, o.baselines) || matchesAny(r.path, o.baselines)),
  }));
  const baselines = new Set(repos.filter((r) => r.baseline).map((r) => r.key));
  const fixed = new Set(o.forkgroups.values());
  const stores: StoreRoots[] = inv.stores.map((s) => {
    const roots = new Set<string>();
    for (const u of s.users) for (const x of rootsOf.get(u) ?? []) roots.add(x);
    return { name: s.name, roots: [...roots].sort(), users: s.users.length, hasBaseline: s.users.some((u) => baselines.has(u)), fixedName: fixed.has(s.name) };
  });
  return [repos, stores];
}
