/**
 * Has a replica converged on its origin, and did it leave anything behind? Used after faults and
 * kills: every problem is returned as a sentence (an empty list means converged), so a test can put
 * them in its case table and in its assertion at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { readManifestFile } from '../../shared/manifest/io.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { refsOf } from './fork-network.js';
import { mapPool } from '../../shared/pool.js';
import { GIT_ENV } from './git.js';

/**
 * Names our commands give work in progress: clones built aside (`.<repo>.grok-init-<hex>`), old copies
 * of a reclone (`grok-old`), objstores being made or removed (`grok-new`, `grok-del`), preload
 * bundles (`grok-preload`), and atomicWrite's temp files (`.<file>.<12 hex>.tmp`).
 */
export const TEMP_DIR_RE = /^\..+\.grok-(?:init|old|new|del|preload)-[0-9a-f]+/;
export const TEMP_FILE_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export interface Leftovers {
  readonly dirs: string[];
  readonly files: string[];
}

/** Temp directories and temp files anywhere under `top` (object directories are git's business). */
export function leftovers(top: string): Leftovers {
  const found: Leftovers = { dirs: [], files: [] };
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (TEMP_DIR_RE.test(e.name)) found.dirs.push(path.relative(top, p));
        else if (e.name !== 'objects') walk(p);
      } else if (TEMP_FILE_RE.test(e.name)) found.files.push(path.relative(top, p));
    }
  };
  walk(top);
  return found;
}

/** `git fsck` (as test/helpers/git.ts fsckOk) of many repositories, two at a time; the failures. */
export async function fsckFailures(dirs: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  await mapPool(dirs, 2, async (dir) => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const p = spawn('git', [`--git-dir=${dir}`, 'fsck', '--no-progress', '--no-dangling'], { env: GIT_ENV });
      let output = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      p.on('error', reject);
      p.on('close', (c) => resolve({ code: c, output }));
    });
    if (code !== 0) failed.push(`${dir}: git fsck: ${output.trim().split('\n').slice(0, 3).join('; ')}`);
  });
  return failed.sort();
}

/** Every repository under `top` and every lock a next run needs can be taken at once. */
export async function blockedLocks(files: readonly string[]): Promise<string[]> {
  const blocked: string[] = [];
  for (const f of files) {
    try {
      const held = await acquireLock(f, { timeoutMs: 0 });
      await held.release();
    } catch (err) {
      blocked.push(`${f}: ${(err as Error).message}`);
    }
  }
  return blocked;
}

export interface MirrorCheck {
  readonly originTop: string;
  readonly originManifest: string;
  readonly mirror: string;
  readonly mirrorManifest: string;
  readonly projectsList?: string;
  /** Also run git fsck on every repository and objstore (the slow part). */
  readonly fsck?: boolean;
  /** Also take every lock a next run needs (off while a daemon is running: it takes them itself). */
  readonly locks?: boolean;
  /** Origin refs by `<key> <fingerprint>`, kept across checks: they change only with the fingerprint. */
  readonly originRefs?: Map<string, string>;
}

const sameSet = (a: Iterable<string>, b: Iterable<string>) => {
  const sa = new Set(a);
  const sb = new Set(b);
  return { missing: [...sa].filter((x) => !sb.has(x)).sort(), extra: [...sb].filter((x) => !sa.has(x)).sort() };
};

function describeDiff(what: string, d: { missing: string[]; extra: string[] }): string[] {
  const out: string[] = [];
  if (d.missing.length > 0) out.push(`${what} lacks ${d.missing.join(', ')}`);
  if (d.extra.length > 0) out.push(`${what} has extra ${d.extra.join(', ')}`);
  return out;
}

/** Why the mirror has not converged on the origin, or [] when it has. */
export async function convergenceProblems(c: MirrorCheck): Promise<string[]> {
  const problems: string[] = [];
  const origin = (await readManifestFile(c.originManifest))?.entries;
  if (!origin) return [`origin manifest ${c.originManifest} missing`];
  let local;
  try {
    local = (await readManifestFile(c.mirrorManifest))?.entries;
  } catch (err) {
    return [`replica manifest does not parse: ${(err as Error).message}`];
  }
  if (!local) return ['replica manifest missing'];
  const keys = [...origin.keys()];
  problems.push(...describeDiff('replica manifest', sameSet(keys, local.keys())));
  if (c.projectsList) {
    const lines = existsSync(c.projectsList) ? readFileSync(c.projectsList, 'utf8').split('\n').filter((l) => l !== '') : [];
    problems.push(...describeDiff('projects.list', sameSet(keys.map((k) => k.slice(1)), lines)));
  }
  for (const [key, entry] of origin) {
    const repo = keyToPath(c.mirror, key);
    if (!existsSync(path.join(repo, 'HEAD'))) {
      problems.push(`${key} missing on the replica`);
      continue;
    }
    const fp = readFingerprintFile(repo);
    if (fp !== entry.fingerprint) problems.push(`${key}: fingerprint ${fp?.slice(0, 12)} where the origin lists ${entry.fingerprint.slice(0, 12)}`);
    const held = local.get(key);
    if (held && held.fingerprint !== entry.fingerprint) problems.push(`${key}: replica manifest says ${held.fingerprint.slice(0, 12)}, origin ${entry.fingerprint.slice(0, 12)}`);
    const cacheKey = `${key} ${entry.fingerprint}`;
    const originRefs = c.originRefs?.get(cacheKey) ?? refsOf(keyToPath(c.originTop, key));
    c.originRefs?.set(cacheKey, originRefs);
    if (refsOf(repo) !== originRefs) problems.push(`${key}: refs differ from the origin's`);
  }
  if (c.fsck !== false) problems.push(...(await fsckFailures([...keys.map((k) => keyToPath(c.mirror, k)), ...objstoresIn(c.mirror)])).map((f) => path.relative(c.mirror, f)));
  problems.push(...alternatesProblems(c.mirror));
  // Nothing half-made may look like a repository (grok-manifest on a next tier, or a purge, would list it).
  const seen = (await discoverRepos(c.mirror)).repos.map((r) => r.key);
  problems.push(...describeDiff('repositories found on disk', sameSet(keys, seen)));
  const left = leftovers(c.mirror);
  if (left.dirs.length > 0) problems.push(`temp directories left: ${left.dirs.join(', ')}`);
  if (left.files.length > 0) problems.push(`temp files left: ${left.files.join(', ')}`);
  if (c.locks !== false) {
    const locks = [lockPathFor(c.mirrorManifest), ...keys.map((k) => lockPathFor(keyToPath(c.mirror, k)))];
    problems.push(...(await blockedLocks(locks)).map((b) => `lock still held: ${b}`));
  }
  return problems;
}

/** The objstores under `<top>/objstore` (not work in progress). */
export function objstoresIn(top: string): string[] {
  const dir = path.join(top, 'objstore');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.git') && !n.startsWith('.')).map((n) => path.join(dir, n)) : [];
}

/** Every alternates file under `top` names the objects of a repository that exists. */
export function alternatesProblems(top: string): string[] {
  const problems: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === 'objects' || e.name === 'refs') continue;
      const p = path.join(d, e.name);
      const alt = path.join(p, 'objects', 'info', 'alternates');
      if (existsSync(alt)) {
        for (const line of readFileSync(alt, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
          const target = path.resolve(path.join(p, 'objects'), line.trim());
          if (!existsSync(target) || !statSync(target).isDirectory()) problems.push(`${path.relative(top, p)} borrows from ${line.trim()}, which does not exist`);
        }
      }
      walk(p);
    }
  };
  walk(top);
  return problems;
}

/**
 * git's lock files under `top` (and packed-refs.new, written under packed-refs.lock), left by a killed
 * git, made a minute older: our commands leave younger ones alone (shared/repo/git-locks.ts) and the
 * work for the next run, which in production comes minutes or hours later. Returns how many there were.
 */
export function ageGitLeftovers(top: string): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.name.endsWith('.lock') && !e.name.startsWith('.')) || e.name === 'packed-refs.new') {
        const old = (statSync(p).mtimeMs - 61_000) / 1000;
        utimesSync(p, old, old);
        n++;
      }
    }
  };
  walk(top);
  return n;
}
