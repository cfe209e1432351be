/**
 * The object filters grok-pull passes to `git clone --filter=` for partial mirrors. Checked strictly
 * because the value comes from a config file and lands on git's command line: only the forms that
 * make sense for a mirror whose missing objects are fetched on demand.
 */
const FILTER_RE = /^(?:blob:none|blob:limit=[1-9][0-9]{0,12}[kmg]?|tree:[0-9]{1,4})$/;

/** Why `filter` is not one we use, or null. */
export function partialFilterProblem(filter: string): string | null {
  return FILTER_RE.test(filter) ? null : `${JSON.stringify(filter)} is not one of blob:none, blob:limit=<n>[k|m|g], tree:<depth>`;
}
