/**
 * What a pull pass reports while it runs, for observers: the daemon's status page (replica/status/)
 * and grok-pull's progress line. Every callback is optional and synchronous; guardEvents() makes one
 * that throws a logged warning, so a broken observer can never fail or stall a pass.
 *
 * Order within one pass: onPassStart, onManifestChecked (full passes only), onPlan, then onRepoDone
 * exactly `total` times (once per repository worked on, whatever its outcome), then onPassDone, also
 * when the pass failed.
 */
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RepoAction } from './plan.js';

/** A full pass reads the remote manifest; a targeted one works on repositories named by the feed or socket. */
export type PassKind = 'full' | 'targeted';

export interface ManifestChecked {
  readonly status: 'unchanged' | 'fetched' | 'failed';
  readonly error?: string;
  /** Fetched: the bytes downloaded (compressed, when they came so). */
  readonly bytes?: number;
}

export interface PlanInfo {
  readonly kind: PassKind;
  /** Repositories that will be worked on: onRepoDone fires this many times. */
  readonly total: number;
  /** Repositories the pass means to purge (not counted in total; purges are reported in onPassDone). */
  readonly purge: number;
}

/** fixed: only its config or remotes were put right, nothing fetched; deferred: locked elsewhere, left for the next pass. */
export type RepoResult = 'cloned' | 'updated' | 'fixed' | 'failed' | 'deferred';

export interface RepoDone {
  readonly key: string;
  readonly op: RepoAction['op'];
  readonly result: RepoResult;
  /** Done as planned (cloned, updated or fixed). */
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
  /** Growth of the repository's own object files (packs and loose objects) across the fetch or clone. */
  readonly bytes?: number;
}

export interface PassSummary {
  readonly kind: PassKind;
  /** unchanged: the remote manifest had not changed (a full pass that did nothing); failed: the pass threw. */
  readonly status: 'unchanged' | 'done' | 'failed';
  readonly ms: number;
  readonly cloned: number;
  readonly updated: number;
  /** Worked on without a fetch (settings, remote or archived flag put right). */
  readonly fixed?: number;
  readonly purged: number;
  readonly deferred: number;
  readonly failed: number;
  /** Repositories in the local manifest afterwards, when the pass read it. */
  readonly held?: number;
  readonly error?: string;
}

export interface PullEvents {
  onPassStart?(pass: { readonly kind: PassKind }): void;
  onManifestChecked?(check: ManifestChecked): void;
  onPlan?(plan: PlanInfo): void;
  onRepoDone?(repo: RepoDone): void;
  onPassDone?(summary: PassSummary): void;
}

/** Every callback present, none able to throw into the caller. */
export function guardEvents(events: PullEvents | undefined, log: Logger): Required<PullEvents> {
  const guard = <A>(name: keyof PullEvents, fn: ((arg: A) => void) | undefined) => (arg: A): void => {
    if (!fn) return;
    try {
      fn.call(events, arg);
    } catch (err) {
      log.warn(`a pull-event observer failed in ${name}: ${describeError(err)}`);
    }
  };
  return {
    onPassStart: guard('onPassStart', events?.onPassStart),
    onManifestChecked: guard('onManifestChecked', events?.onManifestChecked),
    onPlan: guard('onPlan', events?.onPlan),
    onRepoDone: guard('onRepoDone', events?.onRepoDone),
    onPassDone: guard('onPassDone', events?.onPassDone),
  };
}

/** Several observers as one, each called in turn; one that throws does not keep the others from being told. */
export function allEvents(...list: readonly (PullEvents | undefined)[]): Required<PullEvents> {
  const each = <K extends keyof PullEvents>(k: K) => (arg: Parameters<Required<PullEvents>[K]>[0]) => {
    let failed: { err: unknown } | null = null;
    for (const e of list) {
      try {
        (e?.[k] as ((a: typeof arg) => void) | undefined)?.call(e, arg);
      } catch (err) {
        failed ??= { err };
      }
    }
    if (failed) throw failed.err;
  };
  return { onPassStart: each('onPassStart'), onManifestChecked: each('onManifestChecked'), onPlan: each('onPlan'), onRepoDone: each('onRepoDone'), onPassDone: each('onPassDone') };
}
