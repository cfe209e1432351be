/**
 * What grok-pi-piper asks git about a public-inbox epoch: its tip, ancestry, and its commits with the
 * message (`m`) or deletion record (`d`) each one writes, streamed from `git log --raw`.
 */
import { untrusted, type Git } from '../../shared/git/index.js';
import type { EpochCommit } from './piper-plan.js';

export const MASTER = 'refs/heads/master';
const HEADER_RE = /^([0-9a-f]{40}|[0-9a-f]{64}) (\d+)$/;
// `:<old mode> <new mode> <old oid> <new oid> <status>\t<path>`
const RAW_RE = /^:\d+ \d+ [0-9a-f]+ ([0-9a-f]+) ([A-Z])\d*\t(.*)$/;
const ZERO_RE = /^0+$/;

/**
 * Turns `git log --format='%H %ct' --raw --no-renames` lines into commits; `push` returns a commit when
 * the next one starts, `end` the last one.
 */
export class RawLogParser {
  private current: { commit: string; ct: number; m?: string; d?: boolean } | null = null;

  push(line: string): EpochCommit | null {
    const h = HEADER_RE.exec(line);
    if (h) {
      const done = this.current;
      this.current = { commit: h[1]!, ct: Number(h[2]) };
      return done;
    }
    const r = RAW_RE.exec(line);
    if (r && this.current) {
      const [, oid, status, file] = r as unknown as [string, string, string, string];
      const written = status !== 'D' && !ZERO_RE.test(oid);
      if (file === 'm' && written) this.current.m = oid;
      if (file === 'd' && written) this.current.d = true;
    }
    return null;
  }

  end(): EpochCommit | null {
    const done = this.current;
    this.current = null;
    return done;
  }
}

export interface WalkOptions {
  /** A revision range such as `A..refs/heads/master`, or one revision. */
  readonly range: string;
  readonly oldestFirst: boolean;
  /** The newest N commits only. */
  readonly max?: number;
}

export async function* epochCommits(git: Git, repo: string, opts: WalkOptions): AsyncGenerator<EpochCommit> {
  const args = ['log', '--no-color', '--no-show-signature', '--no-renames', '--raw', '--no-abbrev', '--root', '--format=%H %ct'];
  if (opts.oldestFirst) args.push('--reverse');
  if (opts.max !== undefined) args.push(`--max-count=${opts.max}`);
  const parser = new RawLogParser();
  for await (const line of git.lines({ gitDir: repo, args: [...args, untrusted(opts.range), '--'] })) {
    const c = parser.push(line);
    if (c) yield c;
  }
  const last = parser.end();
  if (last) yield last;
}

/** The tip of master and its committer time; null when there is no master (an empty clone). */
export async function masterTip(git: Git, repo: string): Promise<{ commit: string; ct: number } | null> {
  const res = await git.run({ gitDir: repo, args: ['log', '--no-color', '--no-show-signature', '-1', '--format=%H %ct', MASTER, '--'], okExit: [128] });
  const m = HEADER_RE.exec(res.stdout.toString('utf8').trim());
  return res.exitCode === 0 && m ? { commit: m[1]!, ct: Number(m[2]) } : null;
}

/** Whether `ancestor` is in the history of `descendant` (false as well when either object is gone). */
export async function isAncestor(git: Git, repo: string, ancestor: string, descendant: string = MASTER): Promise<boolean> {
  const res = await git.run({ gitDir: repo, args: ['merge-base', '--is-ancestor', untrusted(ancestor), untrusted(descendant)], okExit: [1, 128] });
  return res.exitCode === 0;
}

/** A commit's committer time and message blob, when the commit is still here. */
export async function commitInfo(git: Git, repo: string, commit: string): Promise<EpochCommit | null> {
  const res = await git.run({ gitDir: repo, args: ['log', '--no-color', '--no-show-signature', '-1', '--no-renames', '--raw', '--no-abbrev', '--root', '--format=%H %ct', untrusted(commit), '--'], okExit: [128] });
  if (res.exitCode !== 0) return null;
  const parser = new RawLogParser();
  for (const line of res.stdout.toString('utf8').split('\n')) parser.push(line);
  return parser.end();
}

/**
 * Several blobs in one `git cat-file --batch` (one process for a chunk of messages rather than one per
 * message); a blob that is missing is left out of the map.
 */
export async function readBlobs(git: Git, repo: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (oids.length === 0) return out;
  const buf = (await git.run({ gitDir: repo, args: ['cat-file', '--batch'], input: `${oids.join('\n')}\n` })).stdout;
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) break;
    const header = buf.subarray(at, nl).toString('utf8').split(' ');
    at = nl + 1;
    if (header.length !== 3) continue; // `<oid> missing`
    const size = Number(header[2]);
    out.set(header[0]!, buf.subarray(at, at + size));
    at += size + 1;
  }
  return out;
}

export async function readBlob(git: Git, repo: string, oid: string): Promise<Buffer> {
  return (await git.run({ gitDir: repo, args: ['cat-file', 'blob', untrusted(oid)] })).stdout;
}
