/**
 * The start of a git bundle, judged while it downloads, before anything is written to disk: the
 * signature (`# v2 git bundle` or `# v3 git bundle`), v3 capabilities, no prerequisites (a preload
 * bundle must be complete), at least one `<oid> <refname>` line, the blank line, then a pack's
 * "PACK" signature. Whatever follows is the pack, which `git bundle verify` and the fetch check.
 * A download that is not a bundle is stopped at its first bytes, not after it has filled the disk.
 * Incremental (each byte is looked at once: a network's header can hold hundreds of thousands of
 * refs) and pure.
 */

export type HeaderCheck =
  /** Not enough bytes yet to tell. */
  | { readonly status: 'more' }
  /** A good header and the start of a pack. */
  | { readonly status: 'ok'; readonly refs: number }
  | { readonly status: 'bad'; readonly why: string };

const SIGNATURES = ['# v2 git bundle', '# v3 git bundle'];
const NOT_A_BUNDLE = 'does not start with a git bundle signature ("# v2 git bundle")';
const OID = '(?:[0-9a-f]{40}|[0-9a-f]{64})';
const REF_RE = new RegExp(`^${OID} (?:refs/[^\\0\\s~^:?*\\[\\\\]+|HEAD)$`);
const CAPABILITY_RE = /^@[a-z][a-z0-9-]*(?:=[^\0]*)?$/;
const PREREQUISITE_RE = new RegExp(`^-${OID}(?: |$)`);
/** A header line longer than this is no ref line (git's ref names are far shorter). */
export const MAX_HEADER_LINE = 4096;

export class BundleHeaderCheck {
  private line = '';
  private lineNo = 0;
  private seen = 0;
  private refs = 0;
  private v3 = false;
  private pack = '';
  private result: HeaderCheck = { status: 'more' };

  /** `maxHeader` bounds the header's bytes (the refs of a whole fork network). */
  constructor(private readonly maxHeader: number) {}

  /** Takes the next bytes; once the answer is not 'more', later calls return it unchanged. */
  push(chunk: Buffer): HeaderCheck {
    for (let i = 0; i < chunk.length && this.result.status === 'more'; i++) {
      if (this.lineNo >= 0 && ++this.seen > this.maxHeader) return this.bad(`has a header longer than ${this.maxHeader} bytes`);
      const c = chunk[i]!;
      if (this.lineNo < 0) {
        this.pack += String.fromCharCode(c);
        if (this.pack.length === 4) this.result = this.pack === 'PACK' ? { status: 'ok', refs: this.refs } : { status: 'bad', why: 'has no pack after its header' };
      } else if (c === 0x0a) {
        this.endLine();
      } else if (c === 0) {
        this.bad(this.lineNo === 0 ? NOT_A_BUNDLE : `has a NUL byte in its header (line ${this.lineNo + 1})`);
      } else if (this.line.length >= MAX_HEADER_LINE) {
        this.bad(`has a header line longer than ${MAX_HEADER_LINE} bytes`);
      } else {
        this.line += String.fromCharCode(c);
        if (this.lineNo === 0 && !SIGNATURES.some((s) => s.startsWith(this.line))) this.bad(NOT_A_BUNDLE);
      }
    }
    return this.result;
  }

  private endLine(): void {
    const line = this.line;
    this.line = '';
    const n = ++this.lineNo;
    if (n === 1) {
      if (!SIGNATURES.includes(line)) this.bad(NOT_A_BUNDLE);
      this.v3 = line === SIGNATURES[1];
    } else if (line === '') {
      if (this.refs === 0) this.bad('lists no refs');
      this.lineNo = -1; // the pack follows
    } else if (this.v3 && this.refs === 0 && CAPABILITY_RE.test(line)) {
      // a v3 capability (object-format, filter): git bundle verify judges it
    } else if (PREREQUISITE_RE.test(line)) {
      this.bad('needs objects it does not hold (a prerequisite line): a preload bundle must be complete');
    } else if (!REF_RE.test(line)) {
      this.bad(`has a header line that is not "<object id> <ref name>" (line ${n}: ${JSON.stringify(line.slice(0, 80))})`);
    } else {
      this.refs++;
    }
  }

  private bad(why: string): HeaderCheck {
    if (this.result.status === 'more') this.result = { status: 'bad', why };
    return this.result;
  }
}
