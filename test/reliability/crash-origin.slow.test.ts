/**
 * kill -9 of the real grok-origin while it takes hook notices: three writers change repositories
 * and POST /_grok/notify as post-receive hooks do, and the server is killed at seeded random
 * moments. What the code promises (origin/server/routes/notify.ts, notify-queue.ts; docs/architecture.md "A push, from the origin's hook to a replica's mirror"):
 * a notice is answered 2xx only once the manifest write carrying it is on disk, and a hook that gets
 * no answer updates the manifest itself (grok-manifest -n finds the dead server's handoff file and
 * works stand-alone). So after each kill: the manifest on disk parses, every acknowledged change is
 * in it; the hooks left without an answer then run as they would, and after the restart the server
 * serves every repository's latest state, and no temp file of a write the kill cut short is left.
 */
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { handoffPathFor, readHandoff } from '../../origin/manifest/handoff.js';
import { readManifestFile } from '../../shared/manifest/io.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { TEMP_FILE_RE } from '../helpers/convergence.js';
import { BIN } from '../helpers/fixture.js';
import { git, makeRepo } from '../helpers/git.js';
import { BARE_NODE_ENV } from '../helpers/killable.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { runM } from '../helpers/manifest.js';
import { pick, rng, seedFor, spreadMoments } from '../helpers/seeded.js';
import { tmpDir } from '../helpers/tmp.js';

const SEED = seedFor(0x5eed_0003);
const KILLS = 15;
const WRITERS = 3;
/** Kill moments are spread over this much of each round's writing. */
const SPAN_MS = 1500;

/** The fingerprint grokmirror computes: sha1 of `git show-ref`'s lines. */
function fingerprint(repo: string): string {
  const refs = git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/']);
  return createHash('sha1').update(`${refs}\n`).digest('hex');
}

t.test('grok-origin killed with SIGKILL while taking notices: nothing acknowledged is lost', async (t) => {
  const random = rng(SEED);
  t.comment(`seed ${SEED} (replay with GROK_SEED=${SEED})`);
  const table = new CaseTable('crash-origin', 'kill -9 of grok-origin while it takes hook notices, then a restart');
  const dir = tmpDir(t, 'grok-crash-origin-');
  const top = path.join(dir, 'top');
  const manifest = path.join(top, 'manifest.js.gz');
  const repos = Array.from({ length: 9 }, (_, i) => path.join(top, `r${i}.git`));
  repos.forEach((r, i) => makeRepo(r, { date: 1_600_000_000 + i }));
  await runM(top, manifest);
  const conf = path.join(dir, 'origin.conf');
  // A write delay wide enough that kills also land between a change and the write carrying it.
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 40\n`);

  /** Per repository: every fingerprint it has had, and the index of the newest one acknowledged. */
  const history = new Map(repos.map((r) => [r, [fingerprint(r)]]));
  const acked = new Map(repos.map((r) => [r, 0]));
  let branch = 0;
  // The writers' own randomness: how many notices fit before a kill depends on the machine's speed.
  const choose = rng(SEED ^ 0x9e3779b9);
  let server = await startOriginProcess(conf);
  t.teardown(() => void server.proc.kill('group'));
  const served = async (url: string) => {
    const res = await fetch(`${url}/manifest.js.gz`);
    return JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')) as Record<string, { fingerprint: string }>;
  };

  let totalAcked = 0;
  let totalUnanswered = 0;
  let killedCount = 0;
  let clean = 0;
  for (const [round, delay] of spreadMoments(random, KILLS, SPAN_MS).entries()) {
    const problems: string[] = [];
    // Writers: each changes its own repositories (a new branch, as a push would) and notifies.
    let stop = false;
    let acks = 0;
    const unanswered = new Set<string>();
    const writer = async (w: number) => {
      const mine = repos.filter((_, i) => i % WRITERS === w);
      while (!stop) {
        const r = pick(choose, mine);
        git([`--git-dir=${r}`, 'update-ref', `refs/heads/b${++branch}`, 'refs/heads/master']);
        history.get(r)!.push(fingerprint(r));
        try {
          const res = await fetch(`${server.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: [r] }) });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`notify answered ${res.status}`);
          acked.set(r, history.get(r)!.length - 1);
          acks++;
        } catch {
          unanswered.add(r);
          return; // the server is gone: this hook falls back (below)
        }
      }
    };
    const writing = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await sleep(delay);
    const killed = server.proc.kill('group');
    await server.proc.ended;
    stop = true;
    await Promise.all(writing);
    if (killed) killedCount++;
    totalAcked += acks;
    totalUnanswered += unanswered.size;

    // Right after the kill: the manifest parses and holds every acknowledged change (or a newer one).
    let onDisk: Map<string, { fingerprint: string }> | undefined;
    try {
      onDisk = (await readManifestFile(manifest))?.entries;
      if (!onDisk) problems.push('manifest missing after the kill');
    } catch (err) {
      problems.push(`manifest does not parse after the kill: ${(err as Error).message}`);
    }
    for (const r of repos) {
      const fp = onDisk?.get(`/${path.basename(r)}`)?.fingerprint;
      const at = fp ? history.get(r)!.lastIndexOf(fp) : -1;
      if (at < acked.get(r)!) problems.push(`${path.basename(r)}: acknowledged change missing after the kill`);
    }
    const tempsAfterKill = readdirSync(top).filter((n) => TEMP_FILE_RE.test(n));

    // The hooks that got no answer do what grok-manifest -n does when the server is gone.
    if (readHandoff(manifest) !== null) problems.push('the dead server still looks alive to hooks (handoff file with a live pid)');
    for (const r of unanswered) {
      const hook = await runBin(BIN.manifest, ['-n', '-m', manifest, '-t', top, r], { env: BARE_NODE_ENV });
      if (hook.code !== 0) problems.push(`hook for ${path.basename(r)} exited ${hook.code}: ${hook.stderr.trim()}`);
    }
    if (round === 7) {
      // What a kill in the middle of a manifest write leaves (atomicWrite's temp file), on purpose.
      writeFileSync(path.join(top, '.manifest.js.gz.0123456789ab.tmp'), 'half a manifest');
      tempsAfterKill.push('.manifest.js.gz.0123456789ab.tmp (planted)');
    }

    // Restart: it serves every repository's latest state, and nothing of the killed run is left.
    server = await startOriginProcess(conf);
    const now = await served(server.url);
    for (const r of repos) {
      const want = history.get(r)!.at(-1)!;
      if (now[`/${path.basename(r)}`]?.fingerprint !== want) problems.push(`${path.basename(r)}: served ${now[`/${path.basename(r)}`]?.fingerprint?.slice(0, 12)} after the restart, latest is ${want.slice(0, 12)}`);
    }
    const temps = readdirSync(top).filter((n) => TEMP_FILE_RE.test(n));
    if (temps.length > 0) problems.push(`temp files left after the restart: ${temps.join(', ')}`);
    if (readHandoff(manifest)?.pid !== server.proc.pid) problems.push(`handoff file ${handoffPathFor(manifest)} does not name the new server`);

    const ok = problems.length === 0;
    if (ok) clean++;
    const what = `${acks} notices acknowledged, ${unanswered.size} unanswered${tempsAfterKill.length > 0 ? `, temp files after the kill: ${tempsAfterKill.join(', ')}` : ''}`;
    table.add(
      `kill #${round + 1} at ${delay} ms${killed ? '' : ' (server had exited!)'}`,
      'manifest parses; acknowledged changes on disk; after hooks and restart every repo served at its latest state; no temp files',
      ok ? `${what}; all present after the restart` : `${what}; ${problems.join('; ')}`,
      ok,
    );
    t.same(problems, [], `kill #${round + 1} at ${delay} ms`);
  }

  const summary = `grok-origin killed ${killedCount} times while taking notices: ${totalAcked} acknowledged, all on disk at the kill; ${totalUnanswered} unanswered, re-applied by the hooks' fallback; ${clean}/${KILLS} rounds clean`;
  t.comment(summary);
  const file = table.write([`seed ${SEED}`, `${repos.length} repositories, ${WRITERS} writers, write_delay_ms = 40; kill moments spread over ${SPAN_MS} ms of writing`, summary]);
  t.comment(`cases written to ${file}`);
  server.proc.kill('group');
  await server.proc.ended;
});
