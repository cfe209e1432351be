/**
 * Where a repository's objects are, for the privacy tests: what an objstore holds in its own object
 * directory (loose files and pack indexes, alternates ignored), what refers to a member, forks with
 * objects of their own, and a raw upload-pack request for one object by id (protocol v2 upload-pack
 * sends any object it can read, through alternates too, advertised or not).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasObject, refsOf } from './fork-network.js';
import { GIT_ENV, git, gitDir } from './git.js';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';

/** Every object in `repo`'s own object directory: loose files and pack indexes, alternates ignored. */
export function ownObjects(repo: string): Set<string> {
  const objects = path.join(repo, 'objects');
  const out = new Set<string>();
  for (const d of readdirSync(objects)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(path.join(objects, d))) if (/^[0-9a-f]{38}$/.test(f)) out.add(d + f);
  }
  const packs = path.join(objects, 'pack');
  for (const f of existsSync(packs) ? readdirSync(packs) : []) {
    if (!f.endsWith('.idx')) continue;
    const listing = execFileSync('git', ['show-index'], { input: readFileSync(path.join(packs, f)), env: GIT_ENV, encoding: 'utf8', cwd: repo });
    for (const line of listing.split('\n')) if (line) out.add(line.split(' ')[1]!);
  }
  return out;
}

export const allObjects = (repo: string) => new Set(gitDir(repo, ['rev-list', '--objects', '--all']).split('\n').filter(Boolean).map((l) => l.slice(0, 40)));
export const virtref = (repo: string) => createHash('sha1').update(realpathSync(repo)).digest('hex').slice(0, 12);
export const storesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.git') && !n.startsWith('.')).map((n) => path.join(dir, n)) : []);

/** A fork with work of its own: a commit with a new blob (and tree) on `branch`, and an annotated tag. */
export function forkWithSecret(from: string, to: string, secret: string, branch: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  git(['clone', '-q', '--bare', '--no-local', from, to]);
  const work = `${to}.work`;
  git(['clone', '-q', to, work]);
  writeFileSync(path.join(work, 'SECRET.txt'), `${secret}\n`);
  git(['add', 'SECRET.txt'], { cwd: work });
  git(['commit', '-q', '-m', `${secret}: commit`], { cwd: work, env: { GIT_AUTHOR_DATE: '1700000000 +0000', GIT_COMMITTER_DATE: '1700000000 +0000' } });
  git(['tag', '-a', '-m', `${secret}: tag`, `${branch}-tag`], { cwd: work });
  git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`, `refs/tags/${branch}-tag`], { cwd: work });
  execFileSync('rm', ['-rf', work]);
}

/** What an objstore directory holds of the given objects, and what refers to a repository. */
export function storeFindings(objstoreDir: string, oids: readonly string[], repo: string): string[] {
  const found: string[] = [];
  const v = virtref(repo);
  for (const s of storesIn(objstoreDir)) {
    const name = path.basename(s);
    if (existsSync(path.join(s, 'objects/info/alternates'))) found.push(`${name} has an alternates file`);
    const own = ownObjects(s);
    for (const o of oids) if (own.has(o)) found.push(`${name} holds ${o}`);
    for (const o of oids) if (hasObject(s, o)) found.push(`${name}: cat-file -e ${o} succeeds`);
    const refs = refsOf(s);
    if (refs.includes(`refs/virtual/${v}/`)) found.push(`${name} has refs/virtual/${v}/*`);
    for (const o of oids) if (refs.includes(o)) found.push(`${name} has a ref at ${o}`);
    const urls = gitDir(s, ['config', '--get-regexp', '^remote\\..*\\.url$'], undefined);
    if (urls.split('\n').some((l) => l.endsWith(` ${realpathSync(repo)}`) || l.endsWith(` ${repo}`))) found.push(`${name} has ${repo} as a remote`);
    if (readFileSync(path.join(s, 'grokmirror.objstore'), 'utf8').includes(repo)) found.push(`${name} lists ${repo} as a member`);
  }
  return found;
}

/** A raw protocol v2 (or v0) fetch of one object from a repository's upload-pack over HTTP. */
export async function wantObject(url: string, key: string, oid: string, version: 0 | 2, scratch: string): Promise<{ status: number; objects: Set<string>; said: string }> {
  const body =
    version === 2
      ? pkt('command=fetch\n') + '0001' + pkt('no-progress\n') + pkt(`want ${oid}\n`) + pkt('done\n') + '0000'
      : pkt(`want ${oid} side-band-64k no-progress\n`) + '0000' + pkt('done\n');
  const res = await fetch(`${url}${key}/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', ...(version === 2 ? { 'git-protocol': 'version=2' } : {}) },
    body,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  // pkt-lines: collect side-band 1 (pack data) after "packfile" (v2) or "NAK" (v0); keep the rest as text.
  const pack: Buffer[] = [];
  let said = '';
  let inPack = false;
  for (let at = 0; at + 4 <= raw.length; ) {
    const len = parseInt(raw.toString('latin1', at, at + 4), 16);
    if (!Number.isFinite(len)) break;
    if (len < 4) {
      at += 4;
      continue;
    }
    const data = raw.subarray(at + 4, at + len);
    at += len;
    if (inPack && data[0] === 1) pack.push(data.subarray(1));
    else if (inPack && data[0] === 3) said += data.subarray(1).toString('utf8');
    else {
      const text = data.toString('utf8');
      if (text === 'packfile\n' || text.startsWith('NAK')) inPack = true;
      said += text;
    }
  }
  const objects = new Set<string>();
  if (pack.length > 0) {
    const file = path.join(scratch, `want-${oid}-${version}.pack`);
    writeFileSync(file, Buffer.concat(pack));
    execFileSync('git', ['index-pack', file], { env: GIT_ENV, cwd: scratch, stdio: 'ignore' });
    const listing = execFileSync('git', ['show-index'], { input: readFileSync(file.replace(/\.pack$/, '.idx')), env: GIT_ENV, cwd: scratch, encoding: 'utf8' });
    for (const line of listing.split('\n')) if (line) objects.add(line.split(' ')[1]!);
  }
  return { status: res.status, objects, said: said.trim().slice(0, 200) };
}
