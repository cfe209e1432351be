import t from 'tap';
import { classifyFailure } from '../../../replica/dumb/classify.js';
import { parseLsRemote } from '../../../replica/dumb/ls-remote.js';
import { expectedLocalRefs, mapRef, MIRROR_REFSPECS, parseRefspec, planRepo, type Refspec } from '../../../replica/dumb/plan.js';
import { parseUrlList } from '../../../replica/dumb/url-list.js';
import { urlTarget } from '../../../replica/dumb/url-path.js';
import { withRetries } from '../../../replica/dumb/retry.js';
import { GitError } from '../../../shared/git/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const m = (o: Record<string, string>) => new Map(Object.entries(o));

t.test('planRepo: mirror refspecs', async (t) => {
  const rows: [string, Record<string, string>, Record<string, string> | null, string][] = [
    ['no mirror yet', { 'refs/heads/master': A }, null, 'clone'],
    ['empty upstream, no mirror yet', {}, null, 'clone'],
    ['same refs', { HEAD: A, 'refs/heads/master': A, 'refs/tags/v1': B, 'refs/tags/v1^{}': A }, { 'refs/heads/master': A, 'refs/tags/v1': B }, 'unchanged'],
    ['moved branch', { 'refs/heads/master': B }, { 'refs/heads/master': A }, 'fetch'],
    ['new branch', { 'refs/heads/master': A, 'refs/heads/x': A }, { 'refs/heads/master': A }, 'fetch'],
    ['deleted branch (prune)', { 'refs/heads/master': A }, { 'refs/heads/master': A, 'refs/heads/x': A }, 'fetch'],
  ];
  for (const [name, remote, local, want] of rows) t.equal(planRepo(m(remote), local ? m(local) : null, MIRROR_REFSPECS), want, name);
});

t.test('planRepo: classic remote-tracking refspecs', async (t) => {
  const specs = [parseRefspec('+refs/heads/*:refs/remotes/origin/*')!];
  t.equal(mapRef('refs/heads/a/b', specs), 'refs/remotes/origin/a/b');
  t.equal(mapRef('refs/tags/v1', specs), null, 'tags are not mapped by a heads refspec');
  const local = { 'refs/heads/mine': B, 'refs/remotes/origin/master': A };
  t.equal(planRepo(m({ 'refs/heads/master': A, 'refs/tags/v1': B }), m(local), specs), 'unchanged', 'own branches and unmapped tags do not count');
  t.equal(planRepo(m({ 'refs/heads/master': B }), m(local), specs), 'fetch');
  t.equal(planRepo(m({}), m(local), specs), 'fetch', 'a remote branch gone means a prune');
  t.equal(planRepo(m({ 'refs/heads/master': A }), m({}), [] as Refspec[]), 'unchanged', 'no refspec: nothing is compared');
  t.same(parseRefspec('refs/heads/main:refs/remotes/o/main'), { force: false, src: 'refs/heads/main', dst: 'refs/remotes/o/main' });
  t.equal(parseRefspec('^refs/heads/x'), null);
  t.equal(parseRefspec('refs/heads/*:refs/x'), null, 'unbalanced globs');
});

t.test('urlTarget: deterministic safe paths, hostile URLs refused', async (t) => {
  const ok = (u: string) => {
    const r = urlTarget(u);
    return r.ok ? r.key : `refused: ${r.why}`;
  };
  t.equal(ok('https://GitHub.com/torvalds/linux'), '/github.com/torvalds/linux.git');
  t.equal(ok('https://github.com/torvalds/linux.git'), '/github.com/torvalds/linux.git');
  t.equal(ok('http://127.0.0.1:8080/a/b.git/'), '/127.0.0.1+8080/a/b.git');
  t.equal(ok('https://user:secret@example.org/x.git'), '/example.org/x.git', 'credentials never reach the path');
  t.equal(ok('ssh://git@example.org/x'), '/example.org/x.git');
  for (const bad of ['ext::sh -c id', 'file:///etc/x.git', '--upload-pack=touch /tmp/x', 'git@github.com:a/b.git', 'https://h/a/../../b.git', 'https://h/a/%2e%2e/b.git', 'https://h/.hidden/x.git', 'https://h/', 'https://h/a.git?x=1', 'https://h/a%0ab.git', 'https://h/a%5cb.git']) {
    t.match(ok(bad), /^refused: /, `${bad} refused`);
  }
  t.equal(urlTarget('file:///srv/x.git', { allowFile: true }).ok, true, 'file:// only when allowed');
});

t.test('parseUrlList: comments, duplicates, two URLs for one path', async (t) => {
  const l = parseUrlList('# c\n\nhttps://h/a.git\nhttps://h/a.git\nhttp://h/a\next::x\n https://h/b \n');
  t.same(l.items.map((i) => i.key), ['/h/a.git', '/h/b.git']);
  t.equal(l.refused.length, 2);
  t.match(l.refused[0]!.why, /already mirrored from https:\/\/h\/a.git/);
});

t.test('parseUrlList: a mirror never inside another', async (t) => {
  const rows: [string, string, string[], string[], (k: string) => boolean][] = [
    ['outer first', 'https://h/a.git\nhttps://h/a.git/refs/heads/x.git', ['/h/a.git'], ['https://h/a.git/refs/heads/x.git'], () => false],
    ['inner first', 'https://h/a.git/refs/heads/x.git\nhttps://h/a', ['/h/a.git'], ['https://h/a.git/refs/heads/x.git'], () => false],
    ['three levels', 'https://h/a\nhttps://h/a.git/b\nhttps://h/a.git/b.git/c', ['/h/a.git'], ['https://h/a.git/b', 'https://h/a.git/b.git/c'], () => false],
    ['only the inner one exists already: the outer is refused', 'https://h/a\nhttps://h/a.git/x', ['/h/a.git/x.git'], ['https://h/a'], (k) => k === '/h/a.git/x.git'],
    ['both exist (an older version nested them): the inner is refused', 'https://h/a\nhttps://h/a.git/x', ['/h/a.git'], ['https://h/a.git/x'], () => true],
    ['siblings and a shared prefix that is no parent', 'https://h/a\nhttps://h/ab\nhttps://h/a.gitx/y', ['/h/a.git', '/h/ab.git', '/h/a.gitx/y.git'], [], () => false],
    ['another host', 'https://h/a\nhttps://g/a.git/x', ['/h/a.git', '/g/a.git/x.git'], [], () => false],
  ];
  for (const [name, text, keys, refused, isRepo] of rows) {
    const l = parseUrlList(text, { isRepo });
    t.same(l.items.map((i) => i.key).sort(), [...keys].sort(), `${name}: mirrored`);
    t.same(l.refused.map((r) => r.url).sort(), [...refused].sort(), `${name}: refused`);
  }
  t.match(parseUrlList('https://h/a\nhttps://h/a.git/x').refused[0]!.why, /inside the mirror \/h\/a\.git \(of https:\/\/h\/a\)/);
  t.match(parseUrlList('https://h/a\nhttps://h/a.git/x', { isRepo: (k) => k === '/h/a.git/x.git' }).refused[0]!.why, /would contain the mirror \/h\/a\.git\/x\.git/);
});

t.test('classifyFailure and parseLsRemote', async (t) => {
  t.equal(classifyFailure("fatal: repository 'http://h/x.git/' not found", 128), 'not_found');
  t.equal(classifyFailure('remote: Repository not found.\nfatal: ...', 128), 'not_found');
  t.equal(classifyFailure("fatal: could not read Username for 'https://h': terminal prompts disabled", 128), 'auth_required');
  t.equal(classifyFailure('fatal: Authentication failed for ...', 128), 'auth_required');
  t.equal(classifyFailure('fatal: unable to access: The requested URL returned error: 403', 128), 'auth_required');
  t.equal(classifyFailure('fatal: unable to access: The requested URL returned error: 503', 128), 'transient');
  t.equal(classifyFailure('fatal: unable to access: Failed to connect', 128), 'transient');
  t.equal(classifyFailure('', null), 'transient', 'killed by our timeout');
  t.same([...parseLsRemote(`ref: refs/heads/main\tHEAD\n${A}\tHEAD\n${B}\trefs/heads/main\n`)], [['HEAD', A], ['refs/heads/main', B]]);
});

t.test('withRetries: transient failures retried with doubling backoff, others not', async (t) => {
  const slept: number[] = [];
  const policy = { attempts: 3, baseDelayMs: 100, sleep: async (ms: number) => void slept.push(ms) };
  let n = 0;
  const r = await withRetries(policy, async () => {
    if (++n < 3) throw new GitError(['ls-remote'], 128, 'error: 503');
    return 'ok';
  });
  t.same(r, { ok: true, value: 'ok', attempts: 3 });
  t.same(slept, [100, 200]);
  const nf = await withRetries(policy, async () => {
    throw new GitError(['ls-remote'], 128, "fatal: repository 'x' not found");
  });
  t.match(nf, { ok: false, kind: 'not_found', attempts: 1 });
  const tr = await withRetries(policy, async () => {
    throw new GitError(['ls-remote'], 128, 'Connection refused');
  });
  t.match(tr, { ok: false, kind: 'transient', attempts: 3 });
});

t.test('command line: bad values are refused by name', async (t) => {
  const { dumbPullCommand, resolveDumbPullOptions } = await import('../../../replica/dumb/cli-options.js');
  const resolve = (args: string[]) => {
    const cmd = dumbPullCommand().exitOverride().parse(args, { from: 'user' });
    return resolveDumbPullOptions(cmd.opts(), cmd.args);
  };
  const base = ['--list', '/tmp/urls.txt', '--toplevel', '/tmp/top'];
  const ok = resolve(base);
  t.equal(ok.refProbe, 'auto', 'HTTP probe by default');
  t.equal(ok.checkpointMs, 30_000, 'checkpoint every 30 s by default');
  t.equal(resolve([...base, '--ref-probe', 'git', '--checkpoint-secs', '5']).checkpointMs, 5000);
  const cases: [string[], RegExp][] = [
    [['--ref-probe', 'curl'], /--ref-probe must be "auto" or "git", not "curl"/],
    [['--checkpoint-secs', '0'], /--checkpoint-secs must be an integer of at least 1, not "0"/],
    [['--jobs', 'lots'], /--jobs must be an integer of at least 1, not "lots"/],
    [['--per-host', '-1'], /--per-host must be an integer of at least 1/],
    [['--shards', '0-127'], /--shards needs a postgres:\/\/ --state/],
    [['--state', '/tmp/s.sqlite', '--shards', '0'], /--shards needs a postgres:\/\/ --state/],
    [['--state', 'postgres://h/db', '--lease-secs', '0'], /--lease-secs must be an integer of at least 1, not "0"/],
    [['--state', 'postgres://h/db', '--batch', '0'], /--batch must be an integer of at least 1, not "0"/],
  ];
  for (const [extra, re] of cases) t.throws(() => resolve([...base, ...extra]), { code: 'GROK_ERR_USAGE', message: re }, extra.join(' '));
  const pg = resolve([...base, '--state', 'postgres://u:pw@db.example/grok', '--shards', '0-127']);
  t.equal(pg.stateFile, 'postgres://u:pw@db.example/grok', 'a postgres:// state is a URL, not a path to resolve');
  t.same(pg.fleet, { shards: '0-127', leaseMs: 300_000, batch: 500 }, 'a fleet worker: 5 min leases of 500 URLs by default');
  t.equal(resolve([...base, '--collection']).objstoreDir, '/tmp/top/objstore', '--collection with the SQLite state: the objstore under the toplevel by default');
  t.equal(resolve([...base, '--collection', '--objstore', '/tmp/os']).objstoreDir, '/tmp/os');
  const pgCollection = resolve([...base, '--state', 'postgres://h/db', '--collection']);
  t.equal(pgCollection.objstoreDir, '/tmp/top/objstore', '--collection with a postgres:// state: the tip index is a table there');
  t.equal(pgCollection.stateFile, 'postgres://h/db');
  t.equal(resolve(base).objstoreDir, null, 'no --collection: none');
  t.equal(resolve([...base, '--state', 'POSTGRESQL://h/db']).stateFile, 'POSTGRESQL://h/db', 'either scheme name, any case');
  t.match(resolve([...base, '--state', 'postgres-state.db']).stateFile, /^\/.*postgres-state\.db$/, 'a file named like it is a path');
  t.throws(() => resolve(['--list', '/tmp/urls.txt']), { message: /--list needs --toplevel/ });
  t.throws(() => resolve(['-s', '/tmp/r.git']), { message: /--svn is not supported/ });
});

t.test('refspecs at their edges: parsing, exact and glob matches, empty globs, peeled tags', async (t) => {
  const parsed: [string, unknown][] = [
    ['^refs/heads/x:refs/y', null],
    [':refs/x', null],
    ['refs/heads/main', null],
    ['refs/heads/main:', null],
    ['refs/*/*:refs/*/*', null],
    ['+refs/*:refs/*', { force: true, src: 'refs/*', dst: 'refs/*' }],
  ];
  for (const [spec, want] of parsed) t.same(parseRefspec(spec), want, spec);
  const specs = (...l: string[]) => l.map((x) => parseRefspec(x)!);
  const mapped: [string, Refspec[], string | null][] = [
    ['refs/heads/main', specs('refs/heads/main:refs/m'), 'refs/m'],
    ['refs/heads/other', specs('refs/heads/main:refs/m'), null],
    ['refs/heads/x', specs('refs/heads/main:refs/m', 'refs/heads/*:refs/h/*'), 'refs/h/x'],
    ['refs/heads/a', specs('refs/heads/a*a:refs/x/*'), null],
    ['refs/heads/aa', specs('refs/heads/a*a:refs/x/*'), 'refs/x/'],
    ['refs/heads/aba', specs('refs/heads/a*a:refs/x/*'), 'refs/x/b'],
    ['refs/p-x', specs('refs/*-x:refs/y/*-x'), 'refs/y/p-x'],
  ];
  for (const [name, sp, want] of mapped) t.equal(mapRef(name, sp), want, `${name} under ${sp.map((x) => `${x.src}:${x.dst}`).join(' ')}`);
  const remote = new Map([['HEAD', 'a'], ['refs/heads/main', 'b'], ['refs/tags/v1', 'c'], ['refs/tags/v1^{}', 'd']]);
  t.same([...expectedLocalRefs(remote, MIRROR_REFSPECS)], [['refs/heads/main', 'b'], ['refs/tags/v1', 'c']], 'HEAD and peeled lines are no refs a fetch writes');
  t.equal(MIRROR_REFSPECS[0]!.force, true, 'a mirror takes forced updates');
});
