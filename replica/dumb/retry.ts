/**
 * Retries with exponential backoff for transient failures (connection reset, 5xx, timeouts); a
 * failure that says "not found" or "authentication required" is returned at once, it will not change
 * in a few seconds. Sleep is injected so tests do not wait.
 */
import { GitError } from '../../shared/git/index.js';
import { describeError } from '../../shared/errors.js';
import { classifyFailure, type FailureKind } from './classify.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export type Attempted<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number }
  | { readonly ok: false; readonly kind: FailureKind; readonly error: string; readonly attempts: number };

export function failureKindOf(err: unknown): FailureKind {
  return err instanceof GitError ? classifyFailure(err.stderr, err.exitCode) : 'transient';
}

export async function withRetries<T>(policy: RetryPolicy, fn: () => Promise<T>): Promise<Attempted<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await fn(), attempts: attempt };
    } catch (err) {
      const kind = failureKindOf(err);
      if (kind !== 'transient' || attempt >= policy.attempts) return { ok: false, kind, error: describeError(err), attempts: attempt };
      await policy.sleep(policy.baseDelayMs * 2 ** (attempt - 1));
    }
  }
}
