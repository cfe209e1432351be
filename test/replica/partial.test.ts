import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { objectBytes } from '../../shared/repo/object-bytes.js';
import { fsckOk, git, GIT_ENV, makeBigRepo, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

// Anything that may fetch on demand from the in-process origin must not block its event loop.
const gitAsync = async (args: string[]) => (await promisify(execFile)('git', args, { env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 })).stdout;
const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);
/** Objects the repository lacks (promised by its remote); --missing=print never fetches. */
const missing = (repo: string) => git([`--git-dir=${repo}`, 'rev-list', '--objects', '--all', '--missing=print']).split('\n').filter((l) => l.startsWith('?')).length;

t.test('a partial mirror holds the history, fetches file contents on demand, and moves 5x fewer bytes', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeBigRepo(path.join(top, 'big.git'));
  makeRepo(path.join(top, 'small.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);

  const full = path.join(dir, 'full');
  t.same((await pull(replicaConfig(full, origin.url))).failed, []);
  const part = path.join(dir, 'part');
  const cp = replicaConfig(part, origin.url, 'partial = /big.git\npartial_filter = blob:none\n');
  const r = await pull(cp);
  t.same(r.failed, []);
  t.same(r.cloned.sort(), ['/big.git', '/small.git']);
  const big = path.join(part, 'big.git');
  const fullBytes = objectBytes(path.join(full, 'big.git'));
  const partBytes = objectBytes(big);
  t.comment(`object bytes after clone: full ${fullBytes}, partial ${partBytes} (${(fullBytes / partBytes).toFixed(1)}x)`);
  t.ok(fullBytes >= 5 * partBytes, `partial (${partBytes} bytes) is at least 5x smaller than full (${fullBytes} bytes)`);
  t.equal(refsOf(big), refsOf(path.join(top, 'big.git')), 'all refs are there');
  t.equal(git([`--git-dir=${big}`, 'config', 'remote._grokmirror.promisor']), 'true');
  t.equal(git([`--git-dir=${big}`, 'config', 'remote._grokmirror.partialclonefilter']), 'blob:none');
  t.equal(missing(path.join(part, 'small.git')), 0, 'repos not matching the globs are complete');
  t.ok(missing(big) >= 10, 'the large blobs are not here yet');

  // Protocol v0 checks wants against ref tips: grok-origin allows reachable ones (git-http.ts).
  const oldNotes = git([`--git-dir=${big}`, 'rev-parse', 'master~2:notes.txt']);
  t.equal(await gitAsync(['-c', 'protocol.version=0', `--git-dir=${big}`, 'cat-file', '-p', oldNotes]), 'version 2\n', 'a v0 client fetches one blob by id');

  // git log -p reads every blob: they arrive from grok-origin as they are needed.
  const log = await gitAsync([`--git-dir=${big}`, 'log', '-p', '--all']);
  t.match(log, /\+version 4/, 'log -p shows the file contents');
  t.match(log, /Binary files \/dev\/null and b\/blob-4-1\.bin differ/);
  t.equal(missing(big), 0, 'every blob was fetched on demand');
  t.ok(objectBytes(big) > partBytes, 'the on-demand fetches added objects');

  // Updates keep the filter: new contents stay at the origin until read.
  const sha = pushCommit(path.join(top, 'big.git'));
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/big.git'] } });
  const r2 = await pull(cp);
  t.same(r2.updated, ['/big.git']);
  t.equal(git([`--git-dir=${big}`, 'rev-parse', 'refs/heads/master']), sha);
  t.equal(missing(big), 1, 'the pushed blob was not fetched with the update');
  t.equal(git([`--git-dir=${big}`, 'config', 'remote._grokmirror.partialclonefilter']), 'blob:none', 'still partial');

  // git fsck accepts a promisor repository's missing objects.
  t.ok(fsckOk(big).ok, fsckOk(big).output);
  t.ok(fsckOk(path.join(full, 'big.git')).ok);
  t.ok(fsckOk(path.join(part, 'small.git')).ok);
});

t.test('an unsupported partial_filter is refused by name before anything is cloned', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'small.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  await t.rejects(pull(replicaConfig(mirror, origin.url, 'partial = *\npartial_filter = sparse:oid=HEAD:x\n')), {
    code: 'GROK_ERR_CONFIG_VALUE',
    message: /\[pull\] partial_filter: "sparse:oid=HEAD:x" is not one of blob:none/,
  });
});
