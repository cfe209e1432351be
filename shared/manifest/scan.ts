/**
 * A validating JSON scanner for manifest bytes that builds no objects: it checks the whole document
 * is valid JSON and records where each top-level entry's key and value lie. grok-manifest uses it to
 * update a few entries of a large manifest in place (manifest/splice.ts) instead of parsing and
 * re-serialising every entry, and a replica to read only the entries it wants (forEachEntry).
 * Iterative, so deep nesting cannot overflow the stack.
 */
import { GrokError } from '../errors.js';

export interface EntrySpan {
  readonly key: string;
  /** Byte offsets: the key's opening quote, and the value's first and one-past-last byte. */
  readonly keyStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

export interface ScanResult {
  readonly spans: readonly EntrySpan[];
  /** Offset of the closing brace of the top-level object. */
  readonly closeBrace: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class ScanError extends Error {
  constructor(readonly at: number, what: string) {
    super(what);
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i]!)) i++;
  return i;
}

/** Index just past the closing quote of the string starting at `i` (which holds the opening quote). */
function skipString(b: Buffer, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j]!;
    if (c === QUOTE) return j + 1;
    if (c < 0x20) throw new ScanError(j, 'control character inside a string');
    if (c === BACKSLASH) {
      const e = b[j + 1];
      if (e === 0x75) {
        for (let k = j + 2; k < j + 6; k++) {
          const h = b[k] ?? 0;
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) throw new ScanError(k, 'bad \\u escape');
        }
        j += 5;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 1;
      } else {
        throw new ScanError(j, 'bad escape');
      }
    }
  }
  throw new ScanError(b.length, 'unterminated string');
}

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function skipScalar(b: Buffer, i: number): number {
  let j = i;
  while (j < b.length) {
    const c = b[j]!;
    if (c === 0x2c || c === 0x7d || c === 0x5d || isWs(c)) break;
    j++;
  }
  const word = b.toString('latin1', i, j);
  if (word !== 'true' && word !== 'false' && word !== 'null' && !NUMBER_RE.test(word)) throw new ScanError(i, `unexpected ${JSON.stringify(word.slice(0, 20))}`);
  return j;
}

/** After an object's `{` or `,` (whitespace skipped): the key and its colon; index just past ":". */
function skipMemberKey(b: Buffer, j: number): number {
  if (b[j] !== QUOTE) throw new ScanError(j, 'expected a key');
  j = skipWs(b, skipString(b, j));
  if (b[j] !== 0x3a) throw new ScanError(j, 'expected ":"');
  return j + 1;
}

/** Index just past the JSON value starting at `i`. */
function skipValue(b: Buffer, i: number): number {
  const stack: number[] = [];
  let j = i;
  for (;;) {
    j = skipWs(b, j);
    const c = b[j];
    if (c === undefined) throw new ScanError(j, 'unexpected end of data');
    if (c === 0x7b || c === 0x5b) {
      stack.push(c);
      j = skipWs(b, j + 1);
      if (b[j] === (c === 0x7b ? 0x7d : 0x5d)) {
        stack.pop();
        j++;
      } else {
        if (c === 0x7b) j = skipMemberKey(b, j);
        continue;
      }
    } else if (c === QUOTE) {
      j = skipString(b, j);
    } else {
      j = skipScalar(b, j);
    }
    // After a value: close containers or move to the next member.
    for (;;) {
      if (stack.length === 0) return j;
      j = skipWs(b, j);
      const top = stack[stack.length - 1]!;
      const d = b[j];
      if (d === 0x2c) {
        j = skipWs(b, j + 1);
        if (top === 0x7b) j = skipMemberKey(b, j);
        break;
      }
      if (d === (top === 0x7b ? 0x7d : 0x5d)) {
        stack.pop();
        j++;
        continue;
      }
      throw new ScanError(j, `expected "," or "${top === 0x7b ? '}' : ']'}"`);
    }
  }
}

/**
 * A key's string. Plain ASCII (no escape, no byte over 0x7f), nearly every key, is the bytes read as
 * latin1, which for ASCII is what UTF-8 gives, without a Buffer view or a UTF-8 decode per key: at
 * 1M entries those were a fifth of a pass's scan and much of its garbage.
 */
function decodeKey(b: Buffer, start: number, end: number): string {
  for (let j = start + 1; j < end - 1; j++) {
    const c = b[j]!;
    if (c === BACKSLASH || c > 0x7f) {
      const raw = b.subarray(start + 1, end - 1);
      return raw.includes(BACKSLASH) ? (JSON.parse(b.toString('utf8', start, end)) as string) : raw.toString('utf8');
    }
  }
  return b.toString('latin1', start + 1, end - 1);
}

/**
 * Walks the top-level entries of manifest bytes in order, checking the whole document, and calls
 * `onEntry` with each key and where its value lies; returns the offset of the closing brace. Nothing
 * is built for an entry the callback does not keep: a replica reads a large manifest this way,
 * parsing only the entries it wants (io.ts parseManifestSubset).
 */
export function forEachEntry(b: Buffer, source: string, onEntry: OnEntry): number {
  return guarded(source, () => {
    let i = skipWs(b, 0);
    if (b[i] !== 0x7b) {
      throw new GrokError('GROK_ERR_MANIFEST_SHAPE', `${source}: expected a JSON object keyed by repository path`, { source });
    }
    i = skipWs(b, i + 1);
    if (b[i] === 0x7d) return checkEnd(b, i);
    return members(b, i, onEntry, true);
  });
}

/**
 * The same over a list of members with no braces around it (`"k":v,"k":v`, the text of one slice of
 * the sliced form): every byte up to the end of `b` must belong to it. Returns `b.length`.
 */
export function forEachMember(b: Buffer, source: string, onEntry: OnEntry): number {
  return guarded(source, () => members(b, skipWs(b, 0), onEntry, false));
}

/** Called with each entry: its key, decoded, and byte offsets as in EntrySpan. */
export type OnEntry = (key: string, keyStart: number, valueStart: number, valueEnd: number) => void;

function members(b: Buffer, i: number, onEntry: OnEntry, inObject: boolean): number {
  for (;;) {
    if (b[i] !== QUOTE) throw new ScanError(i, 'expected a key');
    const keyStart = i;
    const keyEnd = skipString(b, i);
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a) throw new ScanError(i, 'expected ":"');
    const valueStart = skipWs(b, i + 1);
    const valueEnd = skipValue(b, valueStart);
    onEntry(decodeKey(b, keyStart, keyEnd), keyStart, valueStart, valueEnd);
    i = skipWs(b, valueEnd);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1);
      continue;
    }
    if (inObject && b[i] === 0x7d) return checkEnd(b, i);
    if (!inObject && i === b.length) return i;
    throw new ScanError(i, inObject ? 'expected "," or "}"' : 'expected ","');
  }
}

/** Where a scan of a manifest's text given piece by piece stands: before `{`, just after it, at a member, after `}`. */
export type PieceState = 'open' | 'first' | 'member' | 'end';

/**
 * Scans the complete entries of `b` from `i` on (one piece of a manifest's text; stream-read.ts):
 * returns the state after them and where the bytes not consumed start, or 'bad' when a byte present
 * already decides the document is not a manifest a whole scan accepts. An entry counts once the byte
 * after its value (`,` or `}`) is here; an entry that does not scan, cut by the piece's end or
 * broken, is left unconsumed (`next` is its key's quote) for the caller to retry with more bytes.
 * Whitespace is consumed, so what is left is either nothing or one entry.
 */
export function scanPiece(b: Buffer, i: number, state: PieceState, onEntry: OnEntry): { state: PieceState | 'bad'; next: number } {
  for (;;) {
    i = skipWs(b, i);
    if (i === b.length) return { state, next: i };
    if (state === 'end') return { state: 'bad', next: i };
    if (state === 'open') {
      if (b[i] !== 0x7b) return { state: 'bad', next: i };
      state = 'first';
      i++;
      continue;
    }
    if (state === 'first' && b[i] === 0x7d) {
      state = 'end';
      i++;
      continue;
    }
    state = 'member';
    if (b[i] !== QUOTE) return { state: 'bad', next: i };
    let keyEnd: number;
    let valueStart: number;
    let valueEnd: number;
    let after: number;
    try {
      keyEnd = skipString(b, i);
      const colon = skipWs(b, keyEnd);
      if (b[colon] !== 0x3a) throw new ScanError(colon, 'expected ":"');
      valueStart = skipWs(b, colon + 1);
      valueEnd = skipValue(b, valueStart);
      after = skipWs(b, valueEnd);
    } catch (err) {
      if (err instanceof ScanError) return { state, next: i };
      throw err;
    }
    if (after === b.length) return { state, next: i };
    const d = b[after];
    if (d !== 0x2c && d !== 0x7d) return { state: 'bad', next: after };
    onEntry(decodeKey(b, i, keyEnd), i, valueStart, valueEnd);
    if (d === 0x7d) state = 'end';
    i = after + 1;
  }
}

function guarded(source: string, scan: () => number): number {
  try {
    return scan();
  } catch (err) {
    if (err instanceof ScanError) {
      throw new GrokError('GROK_ERR_MANIFEST_PARSE', `${source}: not valid JSON (${err.message} at byte ${err.at})`, { source, at: err.at });
    }
    throw err;
  }
}

export function scanManifest(b: Buffer, source: string): ScanResult {
  const spans: EntrySpan[] = [];
  const closeBrace = forEachEntry(b, source, (key, keyStart, valueStart, valueEnd) => spans.push({ key, keyStart, valueStart, valueEnd }));
  return { spans, closeBrace };
}

function checkEnd(b: Buffer, close: number): number {
  if (skipWs(b, close + 1) !== b.length) throw new ScanError(close + 1, 'data after the end of the object');
  return close;
}
