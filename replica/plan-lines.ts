/**
 * grok-pull --dry-run's output: one line per planned action, `<action> <repo>`, with what an update
 * would put right in parentheses. Pure: the plan (plan.ts) in, lines out.
 */
import type { PullPlan, RepoAction, Refusal } from './plan.js';

function actionLine(a: RepoAction): string {
  const archived = a.newlyArchived ? ['archived'] : [];
  if (a.op === 'init') return `clone ${a.key}${archived.length ? ` (${archived.join(', ')})` : ''}`;
  if (a.op === 'reclone') return `reclone ${a.key}`;
  const what = [...(a.fixRemotes ? ['remote'] : []), ...(a.fixParams ? ['settings'] : []), ...archived];
  return `${a.pull ? 'fetch' : 'fix'} ${a.key}${what.length ? ` (${what.join(', ')})` : ''}`;
}

export function planLines(plan: Pick<PullPlan, 'purge' | 'purgeRefused' | 'archivedNotFetched'>, actions: readonly RepoAction[], refused: readonly Refusal[], purgeprotect: number): string[] {
  const lines = actions.map(actionLine);
  for (const r of refused) lines.push(`refuse ${r.key}: ${r.why}`);
  for (const k of plan.archivedNotFetched) lines.push(`skip ${k} (archived)`);
  for (const k of plan.purge) lines.push(`purge ${k}`);
  if (plan.purgeRefused) lines.push(`refuse-purge ${plan.purgeRefused.count} of ${plan.purgeRefused.total} repositories (purgeprotect ${purgeprotect}%; --force-purge to purge them)`);
  return lines;
}
