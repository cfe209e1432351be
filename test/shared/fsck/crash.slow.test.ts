/**
 * kill -9 (of grok-fsck and every git it started: the whole process group, as a crash or the OOM
 * killer of its cgroup would) at points spread over an objstore migration, then a rerun: nothing is
 * lost at any point, and the rerun converges to the same objstore layout as an uninterrupted run.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { BIN } from '../../helpers/fixture.js';
import { ageGitLeftovers } from '../../helpers/convergence.js';
import { fsckOk, GIT_ENV } from '../../helpers/git.js';
import { makeForkNetwork, makePushedForkNetwork, hasObject, refsOf } from '../../helpers/fork-network.js';
import { tmpDir } from '../../helpers/tmp.js';

function conf(top: string): string {
  const file = `${top}.conf`;
  writeFileSync(file, `[core]\ntoplevel = ${top}\nmanifest = ${top}/manifest.js.gz\nprivate = */private/*\n[fsck]\nstatusfile = ${top}/fsck.status.js\n`);
  return file;
}

/** Runs grok-fsck -f in its own process group; kills the group after `killAfterMs` unless it ended. */
async function fsckRun(top: string, killAfterMs: number | null): Promise<{ code: number | null; ms: number; killed: boolean; stderr: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN.fsck, '-c', conf(top), '-f', '-v'], { env: GIT_ENV, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ended = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let killed = false;
  if (killAfterMs !== null) {
    const raced = await Promise.race([ended.then(() => 'ended' as const), sleep(killAfterMs).then(() => 'timer' as const)]);
    if (raced === 'timer') {
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const code = await ended;
  return { code, ms: performance.now() - t0, killed, stderr };
}

t.test('kill -9 at points across an objstore migration, then rerun', async (t) => {
  const base = tmpDir(t, 'grok-crash-');
  const template = path.join(base, 'template');
  const net = makeForkNetwork(template, { forks: 5, commits: 6 });
  const before = new Map(net.all.map((r) => [path.relative(template, r), refsOf(r)]));

  // How long an uninterrupted run takes, to spread the kills over it.
  const ref = path.join(base, 'reference');
  await copyTree(template, ref);
  const full = await fsckRun(ref, null);
  t.equal(full.code, 0, 'an uninterrupted run succeeds', { stderr: full.stderr });
  const points = 8;
  let interrupted = 0;
  for (let i = 1; i <= points; i++) {
    const top = path.join(base, `run${i}`);
    await copyTree(template, top);
    const killAt = Math.round((full.ms * i) / (points + 1));
    const r = await fsckRun(top, killAt);
    if (r.killed) interrupted++;
    const after = (rel: string) => path.join(top, rel);
    // Right after the kill: every repository still has every object its refs need.
    for (const [rel, refs] of before) {
      t.equal(refsOf(after(rel)), refs, `kill at ${killAt} ms: ${rel} refs unchanged`);
      const f = fsckOk(after(rel));
      t.ok(f.ok, `kill at ${killAt} ms: ${rel} passes git fsck`, { output: f.output });
    }
    // The rerun finishes the job. A git killed with grok-fsck may leave its lock file, which makes
    // work younger than a minute wait for the next run (by design); that run comes minutes later in
    // production, so the locks are aged here to let the rerun be that run.
    ageGitLeftovers(top);
    const again = await fsckRun(top, null);
    t.equal(again.code, 0, `kill at ${killAt} ms: the rerun succeeds`, { stderr: again.stderr });
    const stores = readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git'));
    t.equal(stores.length, 1, `kill at ${killAt} ms: one objstore after the rerun (${stores.join(', ')})`);
    t.same(readdirSync(path.join(top, 'objstore')).filter((n) => n.startsWith('.') && !n.endsWith('.lock')), [], 'no leftovers of interrupted work');
    const store = path.join(top, 'objstore', stores[0]!);
    for (const [rel, refs] of before) {
      t.equal(refsOf(after(rel)), refs);
      t.ok(fsckOk(after(rel)).ok, `after the rerun: ${rel} passes git fsck`);
      if (rel !== path.relative(template, net.lone)) {
        t.equal(readFileSync(path.join(after(rel), 'objects/info/alternates'), 'utf8').trim(), path.join(store, 'objects'), `${rel} borrows`);
      }
    }
    t.notOk(hasObject(store, net.secretBlob), 'the private blob never reached the objstore');
    t.ok(fsckOk(store).ok, 'the objstore passes git fsck');
    t.ok(existsSync(path.join(top, 'fsck.status.js')));
  }
  t.ok(interrupted >= points / 2, `${interrupted} of ${points} runs were killed mid-way`);
});

t.test('kill -9 at points across the adoption of forks made with clone -s, then rerun', async (t) => {
  const base = tmpDir(t, 'grok-crash-adopt-');
  const template = path.join(base, 'template');
  const net = makePushedForkNetwork(template, { forks: 5, commits: 10, shared: true });
  const all = [net.upstream, ...net.forks].map((r) => path.relative(template, r));
  const before = new Map(all.map((rel) => [rel, refsOf(path.join(template, rel))]));
  const ref = path.join(base, 'reference');
  await copyTree(template, ref);
  const full = await fsckRun(ref, null);
  t.equal(full.code, 0, 'an uninterrupted run succeeds', { stderr: full.stderr });
  const points = 8;
  let interrupted = 0;
  for (let i = 1; i <= points; i++) {
    const top = path.join(base, `run${i}`);
    await copyTree(template, top);
    const killAt = Math.round((full.ms * i) / (points + 1));
    const r = await fsckRun(top, killAt);
    if (r.killed) interrupted++;
    for (const rel of all) {
      t.equal(refsOf(path.join(top, rel)), before.get(rel), `kill at ${killAt} ms: ${rel} refs unchanged`);
      const f = fsckOk(path.join(top, rel));
      t.ok(f.ok, `kill at ${killAt} ms: ${rel} passes git fsck`, { output: f.output });
    }
    ageGitLeftovers(top);
    const again = await fsckRun(top, null);
    t.equal(again.code, 0, `kill at ${killAt} ms: the rerun succeeds`, { stderr: again.stderr });
    const stores = readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.'));
    t.equal(stores.length, 1, `kill at ${killAt} ms: one objstore after the rerun (${stores.join(', ')})`);
    const store = path.join(top, 'objstore', stores[0]!);
    for (const rel of all) {
      t.equal(refsOf(path.join(top, rel)), before.get(rel));
      t.ok(fsckOk(path.join(top, rel)).ok, `after the rerun: ${rel} passes git fsck`);
      t.equal(readFileSync(path.join(top, rel, 'objects/info/alternates'), 'utf8'), `${path.join(store, 'objects')}\n`, `after the rerun: ${rel} borrows from the objstore alone`);
    }
    t.ok(fsckOk(store).ok, 'the objstore passes git fsck');
  }
  t.ok(interrupted >= points / 2, `${interrupted} of ${points} runs were killed mid-way`);
});

async function copyTree(from: string, to: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cp = spawn('cp', ['-a', from, to], { stdio: 'ignore' });
    cp.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cp exited ${code}`))));
  });
}
