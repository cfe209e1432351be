/**
 * A kill -9 of grok-origin while it builds the slices of a manifest in grokmirror's form (after it
 * started listening, a notice waiting): the file on disk is left as it was. The build is made long
 * by the manifest's size (a real process has no test hook); slow for that size.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pushCommit } from '../../helpers/git.js';
import { listening, oneMember, spawnOrigin } from '../../helpers/one-member-origin.js';

t.test('a kill -9 during the build leaves the file as it was', async (t) => {
  // Large enough that the build is still running when the test looks (seconds of CPU), small enough to make fast.
  const { top, file, repo, original } = oneMember(t, 200_000);
  const proc = spawnOrigin(t, top);
  const url = await listening(proc);
  t.ok(url, 'listening');
  const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
  t.equal(health.status, 'starting', 'the build under way');
  pushCommit(repo);
  const token = (JSON.parse(readFileSync(path.join(top, '.manifest.js.gz.origin'), 'utf8')) as { token: string }).token;
  const notice = fetch(`${url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ paths: [repo] }) }).then(
    (r) => r.status,
    () => 'cut',
  );
  await fetch(`${url}/healthz`);
  t.ok(proc.kill('group'), 'killed while running');
  await proc.ended;
  t.equal(await notice, 'cut', 'the notice was never answered');
  t.ok(readFileSync(file).equals(original), 'the file byte for byte as it was');
});
