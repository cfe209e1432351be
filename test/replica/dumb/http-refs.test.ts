import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Checkpoint } from '../../../replica/dumb/checkpoint.js';
import { parseAdvertisement, probeable, probeBlocker } from '../../../replica/dumb/http-refs.js';
import { parseLsRemote } from '../../../replica/dumb/ls-remote.js';
import { Git } from '../../../shared/git/index.js';
import { git, GIT_ENV, gitDir, makeRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';
import { pktLine as pkt } from '../../../shared/git/pkt-line.js';


/** What a smart-HTTP server sends for info/refs: the service line, a flush, then git's own advertisement. */
function advertisement(repo: string): Buffer {
  const refs = execFileSync('git', ['upload-pack', '--advertise-refs', '--stateless-rpc', repo], { env: { ...GIT_ENV, GIT_PROTOCOL: '' } });
  return Buffer.concat([Buffer.from(`${pkt('# service=git-upload-pack\n')}0000`), refs]);
}

t.test('parseAdvertisement reads what git upload-pack advertises, as ls-remote would list it', async (t) => {
  const dir = tmpDir(t);
  const repo = path.join(dir, 'r.git');
  makeRepo(repo, { commits: 3 });
  gitDir(repo, ['tag', '-a', '-m', 'v1', 'v1', 'refs/heads/master']);
  gitDir(repo, ['branch', 'side', 'refs/heads/master~1']);
  const parsed = parseAdvertisement(advertisement(repo));
  t.same(parsed, parseLsRemote(git(['ls-remote', repo])), 'the same refs, HEAD and the peeled tag included');
  t.equal(parsed?.size, 5, 'HEAD, master, side, v1 and v1^{}');

  const empty = path.join(dir, 'empty.git');
  git(['init', '-q', '--bare', empty]);
  t.same(parseAdvertisement(advertisement(empty)), new Map(), 'an empty repository has no refs (only its capabilities line)');
});

t.test('parseAdvertisement says null to anything else, so the caller asks git', async (t) => {
  const dir = tmpDir(t);
  makeRepo(path.join(dir, 'r.git'));
  const good = advertisement(path.join(dir, 'r.git'));
  const cases: [string, Buffer][] = [
    ['cut off before the final flush', good.subarray(0, good.length - 4)],
    ['cut off inside a line', good.subarray(0, good.length - 20)],
    ['no service line', good.subarray(good.indexOf('0000') + 4)],
    ['a dumb server\'s info/refs', Buffer.from(`${'a'.repeat(40)}\trefs/heads/master\n`)],
    ['an HTML page', Buffer.from('<html>hello</html>')],
    ['a bad length', Buffer.from(`${pkt('# service=git-upload-pack\n')}0000zzzz`)],
    ['a bad oid', Buffer.from(`${pkt('# service=git-upload-pack\n')}0000${pkt('nothex refs/heads/x\n')}0000`)],
    ['empty', Buffer.alloc(0)],
  ];
  for (const [name, body] of cases) t.equal(parseAdvertisement(body), null, name);
});

t.test('probeable: http(s) URLs without credentials', async (t) => {
  t.ok(probeable('https://example.org/a.git'));
  t.ok(probeable('http://127.0.0.1:8080/a.git'));
  t.notOk(probeable('https://user:pw@example.org/a.git'), 'credentials in the URL: git handles them');
  t.notOk(probeable('git://example.org/a.git'));
  t.notOk(probeable('ssh://example.org/a.git'));
  t.notOk(probeable('example.org:a.git'));
});

t.test('probeBlocker: git settings or a proxy the HTTP probe would ignore send every upstream to git', async (t) => {
  const dir = tmpDir(t);
  const cfg = path.join(dir, 'gitconfig');
  writeFileSync(cfg, '');
  const gitWith = () => new Git({ env: { ...GIT_ENV, GIT_CONFIG_GLOBAL: cfg, GIT_CONFIG_NOSYSTEM: '1' } });
  t.equal(await probeBlocker(gitWith(), {}), null, 'nothing set: the probe may be used');
  t.match(await probeBlocker(gitWith(), { https_proxy: 'http://proxy:3128' }), /https_proxy is set/);
  writeFileSync(cfg, '[url "https://mirror.example/"]\n\tinsteadOf = https://example.org/\n');
  t.match(await probeBlocker(gitWith(), {}), /git config has url\.https:\/\/mirror\.example\/\.insteadof/);
  writeFileSync(cfg, '[http]\n\textraHeader = X-Token: 1\n');
  t.match(await probeBlocker(gitWith(), {}), /git config has http\.extraheader/);
});

t.test('Checkpoint writes at most every N ms, one at a time, and settles', async (t) => {
  let now = 0;
  const writes: number[] = [];
  let release: () => void = () => undefined;
  const cp = new Checkpoint(() => new Promise<void>((r) => ((release = r), writes.push(now))), 1000, () => now);
  cp.poke();
  t.same(writes, [], 'not before the interval has passed');
  now = 1000;
  cp.poke();
  t.same(writes, [1000], 'written once the interval has passed');
  now = 5000;
  cp.poke();
  t.same(writes, [1000], 'not while a write is running');
  release();
  await cp.settle();
  now = 5500;
  cp.poke();
  t.same(writes, [1000, 5500], 'once the running one is done, the next poke writes');
  now = 6000;
  cp.poke();
  t.same(writes, [1000, 5500], 'but not sooner than the interval after it began');
  release();
  await cp.settle();
  now = 7000;
  cp.poke();
  t.same(writes, [1000, 5500, 7000]);
  release();
  await cp.settle();
});
