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
    [{ ...good, owner: 'a\u0007b' }, /owner/],
    [{ ...good, owner: ['x'] }, /owner/],
    [{ ...good, archived: 'yes' }, /archived/],
    [{ ...good, archived: 1 }, /archived/],
    [{ ...good, description: 'nul\u0000' }, /description/],
    [{ ...good, forkgroup: '../x' }, /forkgroup/],
    [{ ...good, symlinks: '/x' }, /symlinks/],
    [{ ...good, symlinks: ['/../x'] }, /symlink/],
  ];
  for (const [e, why] of bad) t.match(entryProblem(e), why, JSON.stringify(e).slice(0, 60));
  t.match(entryProblem([]), /not an object/);
  t.equal(headProblem('0123456789abcdef0123456789abcdef01234567'), null, 'detached HEAD');
  t.equal(headProblem(null), null);
});
