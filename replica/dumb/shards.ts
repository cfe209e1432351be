/**
 * Sharding list mode beyond one machine's disk. Pure, but for reading the toplevel's shard file. A
 * URL's shard is a stable hash of its mirror path (the key under the toplevel) modulo SHARD_COUNT;
 * a worker claims only URLs of the shards its toplevel holds. A toplevel says which in a file
 * `<toplevel>/.grok-dumb-shards` (so the declaration moves with the disk), or the worker is told
 * with --shards, which wins; with neither it holds them all.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';

/** Fixed for a database (recorded in it): shards move between toplevels, they never split. */
export const SHARD_COUNT = 256;
export const SHARD_FILE = '.grok-dumb-shards';

export function shardOf(key: string, count = SHARD_COUNT): number {
  return createHash('sha1').update(key, 'utf8').digest().readUInt32BE(0) % count;
}

/** "all", or a list like "0-3,7" (spaces, commas or newlines between parts; # comments). */
export function parseShards(text: string, where: string, count = SHARD_COUNT): number[] {
  const parts = text.replace(/#.*$/gm, '').split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 1 && parts[0] === 'all') return Array.from({ length: count }, (_, i) => i);
  if (parts.length === 0) throw new GrokError('GROK_ERR_USAGE', `${where}: no shards given (a list like 0-127,200 or "all")`);
  const out = new Set<number>();
  for (const part of parts) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo > hi || hi >= count) {
      throw new GrokError('GROK_ERR_USAGE', `${where}: ${JSON.stringify(part)} is not a shard or range of shards within 0-${count - 1}`);
    }
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** The shards this toplevel holds: the flag's, else its shard file's, else null (all of them). */
export function toplevelShards(toplevel: string, flag: string | null): number[] | null {
  if (flag !== null) return parseShards(flag, '--shards');
  const file = path.join(toplevel, SHARD_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GrokError('GROK_ERR_USAGE', `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseShards(text, file);
}
