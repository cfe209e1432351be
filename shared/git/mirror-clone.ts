/**
 * How grok-dumb-pull clones a new mirror: `clone --mirror`, with `--reference <objstore>` when the
 * collection already holds some of what the upstream advertises, so only the rest travels. The
 * reference is always an objstore, never a sibling mirror (a sibling can be removed or repacked
 * away under the new mirror; an objstore outlives its users, see shared/objstore/).
 */
import { untrusted, type GitCommand } from './command.js';

export function mirrorClone(url: string, dir: string, opts: { reference: string | null }): GitCommand {
  return { args: ['clone', '--mirror', '-q', ...(opts.reference ? ['--reference', untrusted(opts.reference)] : []), '--', untrusted(url), untrusted(dir)] };
}
