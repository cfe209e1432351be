/**
 * What a failed ls-remote / fetch / clone means, from git's stderr and exit status. Pure. Git's
 * messages are matched in the C locale (the git module sets LC_ALL=C). Only `transient` failures are
 * retried: a 404 or a 401 will answer the same way in a second.
 */
export type FailureKind = 'not_found' | 'auth_required' | 'transient';

const NOT_FOUND = [
  /repository '.*' not found/i,
  /Repository not found/i,
  /The requested URL returned error: 404/,
  /does not appear to be a git repository/,
  /\b404 Not Found\b/,
  /HTTP 410|returned error: 410/,
];
const AUTH = [
  /could not read Username/,
  /could not read Password/,
  /Authentication failed/i,
  /The requested URL returned error: 40[13]/,
  /HTTP Basic: Access denied/,
  /Permission denied \(publickey/,
  /terminal prompts disabled/,
];

export function classifyFailure(stderr: string, exitCode: number | null): FailureKind {
  if (exitCode === null) return 'transient';
  if (AUTH.some((re) => re.test(stderr))) return 'auth_required';
  if (NOT_FOUND.some((re) => re.test(stderr))) return 'not_found';
  return 'transient';
}
