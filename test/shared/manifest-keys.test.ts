import t from 'tap';
import { entryProblem, headProblem } from '../../shared/manifest/entry.js';
import { isUnder, keyProblem, keyToPath, pathToKey } from '../../shared/manifest/keys.js';

t.test('unsafe manifest keys are named with the reason', async (t) => {
  const bad: [unknown, RegExp][] = [
    ['/../../etc', /"\.\." segment/],
    ['/pub/../../etc/passwd', /"\.\." segment/],
    ['/pub/./x.git', /"\." segment/],
    ['pub/x.git', /does not start with "\/"/],
    ['//etc/passwd', /empty path segment/],
    ['/pub/x.git/', /empty path segment/],
    ['/pub\0/x.git', /control character/],
    ['/pub/x\n.git', /control character/],
    ['/pub\\..\\x', /backslash/],
    ['', /is empty/],
    ['/', /empty path segment/],
    [42, /not a string/],
    ['/' + 'a'.repeat(5000), /longer than/],
  ];
  for (const [key, why] of bad) t.match(keyProblem(key), why, JSON.stringify(key).slice(0, 40));
  for (const ok of ['/a.git', '/pub/scm/linux.git', '/..a/b.git', '/a b/ü.git', '/.hidden/x.git']) t.equal(keyProblem(ok), null, ok);
});

t.test('keys map to paths strictly under the toplevel', async (t) => {
  t.equal(keyToPath('/srv/top', '/pub/x.git'), '/srv/top/pub/x.git');
  t.throws(() => keyToPath('/srv/top', '/../x'), { code: 'GROK_ERR_MANIFEST_KEY' });
  t.equal(pathToKey('/srv/top', '/srv/top/pub/x.git'), '/pub/x.git');
  t.throws(() => pathToKey('/srv/top', '/srv/topper/x.git'), { code: 'GROK_ERR_OUTSIDE_TOPLEVEL' }, 'a real prefix test, not a substring test');
  t.throws(() => pathToKey('/srv/top', '/srv/top'), { code: 'GROK_ERR_OUTSIDE_TOPLEVEL' });
  t.ok(isUnder('/srv/top', '/srv/top/..a'));
  t.notOk(isUnder('/srv/top', '/srv/top/../x'));
});

t.test('entry checks', async (t) => {
  const good = { modified: 1, fingerprint: 'a'.repeat(40), head: 'ref: refs/heads/main', reference: null };
  t.equal(entryProblem(good), null);
  t.equal(entryProblem({ ...good, archived: true, future: { x: 1 } }), null, 'unknown keys are fine');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...good, fingerprint: undefined }, /no fingerprint/],
    [{ ...good, fingerprint: 'xyz' }, /40 hex/],
    [{ ...good, modified: '2020' }, /modified/],
    [{ ...good, modified: -1 }, /modified/],
    [{ ...good, head: 'ref: refs/heads/../../x' }, /head/],
    [{ ...good, head: '--upload-pack=evil' }, /head/],
    [{ ...good, head: 'ref: refs/heads/a\nb' }, /head/],
    [{ ...good, head: 7 }, /head/],
    [{ ...good, reference: '/../x' }, /reference/],
    [{ ...good, owner: 'a\u0000b' }, /owner.*NUL/],
    [{ ...good, owner: ['x'] }, /owner/],
    [{ ...good, owner: 'x'.repeat(64 * 1024 + 1) }, /owner.*longer than 65536 bytes/],
    [{ ...good, description: 'é'.repeat(32 * 1024) + 'x' }, /description.*longer than 65536 bytes/],
    [{ ...good, description: 7 }, /description/],
    [{ ...good, extra: 'x'.repeat(64 * 1024 - 20), more: null }, /unknown keys taking more than 65536 characters/],
    [{ ...good, deep: JSON.parse('{"a":'.repeat(33) + '1' + '}'.repeat(33)) }, /nested more than 32 levels/],
    [{ ...good, archived: 'yes' }, /archived/],
    [{ ...good, archived: 1 }, /archived/],
    [{ ...good, forkgroup: '../x' }, /forkgroup/],
    [{ ...good, symlinks: '/x' }, /symlinks/],
    [{ ...good, symlinks: ['/../x'] }, /symlink/],
  ];
  for (const [e, why] of bad) t.match(entryProblem(e), why, JSON.stringify(e).slice(0, 60));
  t.match(entryProblem([]), /not an object/);
  // owner and description are data: any text up to 64 KiB of UTF-8 (grokmirror takes any string).
  const data: Record<string, unknown>[] = [
    { ...good, owner: 'tab\there', description: 'two\nlines\r\n' },
    { ...good, owner: 'esc \u001b[31mred\u001b[0m bel\u0007', description: 'nul\u0000 del\u007f c1\u009b' },
    { ...good, owner: 'x'.repeat(64 * 1024), description: 'é'.repeat(32 * 1024) },
    // "extra":"x...x" and "more":null: exactly 65536 characters of JSON
    { ...good, extra: 'x'.repeat(64 * 1024 - 21), more: null },
    { ...good, deep: JSON.parse('{"a":'.repeat(32) + '1' + '}'.repeat(32)) },
    { ...good, modified: 99_999_999_999_999 },
  ];
  for (const e of data) t.equal(entryProblem(e), null, `accepted: ${JSON.stringify(e).slice(80, 160)}`);
  t.equal(headProblem('0123456789abcdef0123456789abcdef01234567'), null, 'detached HEAD');
  t.equal(headProblem(null), null);
});
