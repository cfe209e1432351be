/**
 * Reads a repository's refs straight from its files (packed-refs plus loose refs under refs/), the
 * way `git show-ref` would list them, without starting git: a full manifest walk over thousands of
 * repos would otherwise spend a process per repo. It covers the plain "files" ref backend; anything
 * it is not sure about (reftable, a ref it cannot parse, a symlinked or oddly named ref, a dangling
 * symref) answers `fallback` and the caller asks git (`git for-each-ref`) instead.
 * Ref names are kept as latin1 strings so every byte survives and sorting is by bytes, as git sorts.
 * The files are tiny and read synchronously (see repo/inspect.ts for why).
 */
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import path from 'node:path';

export interface FileRef {
  readonly name: string;
  readonly oid: string;
}

export type FileRefs = { readonly ok: true; readonly refs: readonly FileRef[] } | { readonly ok: false; readonly why: string };

const OID_RE = /^[0-9a-f]{40}$/;
const PACKED_LINE_RE = /^([0-9a-f]{40}) (refs\/[^\n]+)$/;
// Components git would refuse (see git-check-ref-format); seeing one means "let git decide".
const BAD_COMPONENT_RE = /^\.|[\u0000-\u0020\u007f~^:?*[\\]|\.\.|@\{/;

const SLASH = Buffer.from('/');

class Fallback extends Error {}

function readPacked(gitDir: string, into: Map<string, string>): void {
  let text: string;
  try {
    text = readFileSync(path.join(gitDir, 'packed-refs'), 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const m = PACKED_LINE_RE.exec(line);
    if (!m) throw new Fallback(`unparseable packed-refs line ${JSON.stringify(line.slice(0, 80))}`);
    into.set(m[2]!, m[1]!);
  }
}

/** `dir` is a Buffer so that non-UTF-8 ref names reach the filesystem byte for byte. */
function readLoose(dir: Buffer, prefix: string, oids: Map<string, string>, symrefs: Map<string, string>): void {
  let entries: Dirent<Buffer>[];
  try {
    entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const name = e.name.toString('latin1');
    // A ref being updated right now; git's iteration skips these too.
    if (name.endsWith('.lock')) continue;
    if (BAD_COMPONENT_RE.test(name)) throw new Fallback(`unusual ref name component ${JSON.stringify(name)}`);
    const full = Buffer.concat([dir, SLASH, e.name]);
    const refname = `${prefix}${name}`;
    if (e.isDirectory()) {
      readLoose(full, `${refname}/`, oids, symrefs);
      continue;
    }
    if (!e.isFile()) throw new Fallback(`${refname} is not a regular file`);
    const content = readFileSync(full, 'latin1').replace(/\s+$/, '');
    if (OID_RE.test(content)) oids.set(refname, content);
    else if (content.startsWith('ref: refs/')) symrefs.set(refname, content.slice(5));
    else throw new Fallback(`cannot parse loose ref ${refname}`);
  }
}

export function readRefFiles(gitDir: string): FileRefs {
  try {
    if (existsSync(path.join(gitDir, 'reftable'))) throw new Fallback('reftable ref storage');
    const oids = new Map<string, string>();
    const symrefs = new Map<string, string>();
    readPacked(gitDir, oids);
    // Loose refs override packed ones: read them into their own map, then merge.
    const loose = new Map<string, string>();
    readLoose(Buffer.from(path.join(gitDir, 'refs')), 'refs/', loose, symrefs);
    for (const [k, v] of loose) oids.set(k, v);
    for (const k of symrefs.keys()) oids.delete(k);
    for (const [name, target] of symrefs) {
      let t = target;
      for (let hops = 0; hops < 5 && symrefs.has(t); hops++) t = symrefs.get(t)!;
      const oid = oids.get(t);
      if (!oid) throw new Fallback(`symbolic ref ${name} points at missing ${target}`);
      oids.set(name, oid);
    }
    const names = [...oids.keys()].sort();
    return { ok: true, refs: names.map((name) => ({ name, oid: oids.get(name)! })) };
  } catch (err) {
    if (err instanceof Fallback) return { ok: false, why: err.message };
    return { ok: false, why: `cannot read refs: ${(err as Error).message}` };
  }
}
