import t from 'tap';
import { BundleHeaderCheck, MAX_HEADER_LINE } from '../../replica/execute/bundle-header.js';

const OID = 'a'.repeat(40);
const OID256 = 'b'.repeat(64);
const good = `# v2 git bundle\n${OID} refs/heads/master\n${OID} refs/tags/v1\n\nPACK\0\0\0\x02`;

/** The verdict for `text` fed in chunks of `size` bytes. */
function check(text: string | Buffer, size = Infinity, max = 1 << 20): string {
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const h = new BundleHeaderCheck(max);
  let r = h.push(Buffer.alloc(0));
  for (let at = 0; at < buf.length && r.status === 'more'; at += Math.min(size, buf.length)) r = h.push(buf.subarray(at, at + size));
  return r.status === 'bad' ? `bad: ${r.why}` : r.status === 'ok' ? `ok ${r.refs}` : 'more';
}

t.test('bundle header: judged as it arrives, whatever the chunking', async (t) => {
  const table: [string, string | Buffer, RegExp][] = [
    ['a v2 bundle', good, /^ok 2$/],
    ['a v3 bundle with capabilities and sha256 ids', `# v3 git bundle\n@object-format=sha256\n@filter=blob:none\n${OID256} refs/heads/main\n\nPACK`, /^ok 1$/],
    ['HEAD among the refs', `# v2 git bundle\n${OID} HEAD\n${OID} refs/heads/x\n\nPACK`, /^ok 2$/],
    ['not yet the pack signature', `# v2 git bundle\n${OID} refs/heads/x\n\nPAC`, /^more$/],
    ['half a signature', '# v2 git b', /^more$/],
    ['zeros from the first byte', Buffer.alloc(1000), /bad: does not start with a git bundle signature/],
    ['HTML from the first byte', '<html>not found</html>', /bad: does not start with a git bundle signature/],
    ['a v4 bundle', `# v4 git bundle\n${OID} refs/heads/x\n\nPACK`, /bad: does not start with a git bundle signature/],
    ['a good header, then zeros', Buffer.concat([Buffer.from(`# v2 git bundle\n${OID} refs/heads/x\n\n`), Buffer.alloc(100)]), /bad: has no pack after its header/],
    ['zeros inside the header', Buffer.concat([Buffer.from(`# v2 git bundle\n${OID} refs/heads/x\n`), Buffer.alloc(100)]), /bad: has a NUL byte in its header \(line 3\)/],
    ['a prerequisite', `# v2 git bundle\n-${OID} a commit message\n${OID} refs/heads/x\n\nPACK`, /bad: needs objects it does not hold/],
    ['no refs', '# v2 git bundle\n\nPACK', /bad: lists no refs/],
    ['a capability in a v2 bundle', `# v2 git bundle\n@object-format=sha1\n${OID} refs/heads/x\n\nPACK`, /bad: has a header line that is not/],
    ['a short object id', `# v2 git bundle\n${'a'.repeat(39)} refs/heads/x\n\nPACK`, /bad: has a header line that is not/],
    ['a ref outside refs/', `# v2 git bundle\n${OID} ../../etc/passwd\n\nPACK`, /bad: has a header line that is not/],
    ['a ref name with a space', `# v2 git bundle\n${OID} refs/heads/a b\n\nPACK`, /bad: has a header line that is not/],
    [`a line of ${MAX_HEADER_LINE} bytes, the limit`, `# v2 git bundle\n${OID} refs/heads/${'x'.repeat(MAX_HEADER_LINE - 52)}\n\nPACK`, /^ok 1$/],
    [`a line of ${MAX_HEADER_LINE + 1} bytes`, `# v2 git bundle\n${OID} refs/heads/${'x'.repeat(MAX_HEADER_LINE - 51)}\n\nPACK`, /bad: has a header line longer than 4096 bytes/],
  ];
  for (const [name, text, want] of table) {
    for (const size of [Infinity, 1, 7]) t.match(check(text, size), want, `${name} (chunks of ${size})`);
  }
});

t.test('bundle header: the bound on its size, exactly at it', async (t) => {
  const header = `# v2 git bundle\n${OID} refs/heads/x\n\n`;
  t.match(check(`${header}PACK`, 5, header.length), /^ok 1$/, 'a header of exactly the bound');
  t.match(check(`${header}PACK`, 5, header.length - 1), /bad: has a header longer than/, 'a byte over');
  t.match(check(`# v2 git bundle\n${`${OID} refs/heads/x\n`.repeat(10_000)}`, 65536, 100_000), /bad: has a header longer than 100000 bytes/, 'an endless list of refs');
});
