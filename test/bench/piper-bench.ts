/**
 * grok-pi-piper per message: one public-inbox epoch with MESSAGES new messages piped to /bin/true, by
 * ours and by grokmirror's own grok-pi-piper (python3 -m grokmirror.pi_piper from the peer), round after
 * round in the same run, each starting from the epoch's first commit. The floor is the pipe command's
 * own cost: a shell running it once per message with a message on stdin (a fork and an exec each, no
 * git, no state). For scale, public-inbox-mda (when on PATH) delivering MDA_MESSAGES messages from
 * the same kind of shell loop: what a real pipe costs per message. `--before=<grok-pi-piper.js>` adds
 * a row for another build of ours (e.g. the commit before a change; `--before-label=` names it), measured
 * in the same rounds.
 * `npm run bench:piper` rewrites the "pi-piper" section of BENCHMARKS.md; set TMPDIR to a
 * directory of your own first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { median, timeProcess, type Sample } from './measure.js';
import { writeSection } from './sections.js';
import { claimWorkDir } from './work-dir.js';

const quick = process.argv.includes('--quick');
const MESSAGES = quick ? 200 : 1000;
const ROUNDS = quick ? 1 : 3;
const MDA_MESSAGES = 10;
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const before = flag('before');
const beforeLabel = flag('before-label') ?? 'another build';
const PEER = process.env.GROKMIRROR_PEER ?? path.resolve(REPO_ROOT, '../shared/peers/grokmirror');

/** An epoch of `n` messages of about 3 kB, one commit each (public-inbox's layout: the tree holds `m`). */
function makeEpoch(repo: string, n: number): string {
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(path.dirname(repo), { recursive: true });
  execFileSync('git', ['init', '-q', '--bare', repo], { env: GIT_ENV });
  const body = 'x'.repeat(72).concat('\n').repeat(40);
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    const msg = `From: p${i} <p${i}@example.org>\nSubject: bench ${i}\nMessage-ID: <bench-${i}@example.org>\n\n${body}`;
    const subject = `bench ${i}\n`;
    lines.push('commit refs/heads/master', `committer P <p@example.org> ${1_700_000_000 + i * 60} +0000`, `data ${subject.length}`, subject);
    lines.push('deleteall', 'M 100644 inline m', `data ${Buffer.byteLength(msg)}`, msg);
  }
  execFileSync('git', [`--git-dir=${repo}`, 'fast-import', '--quiet'], { input: `${lines.join('\n')}\n`, env: GIT_ENV });
  return execFileSync('git', [`--git-dir=${repo}`, 'rev-list', '--max-parents=0', 'refs/heads/master'], { env: GIT_ENV, encoding: 'utf8' }).trim();
}

/** Both pipers' state at the first commit, so that each round pipes the other MESSAGES - 1. */
function resetState(repo: string, root: string): void {
  writeFileSync(`${repo}.pi-piper.json`, `${JSON.stringify({ commit: root, ct: 1_700_000_060, since: 1_700_000_000, handled: 0, recent: [] })}\n`);
  writeFileSync(path.join(repo, 'pi-piper.latest'), root);
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const perMsg = (ms: number, n: number) => `${(ms / n).toFixed(1)} ms`;

/** public-inbox-mda delivering MDA_MESSAGES messages to a fresh v2 inbox; null without public-inbox. */
function mdaFloor(work: string): Sample | null {
  const dir = path.join(work, 'mda');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = `PI_CONFIG=${path.join(dir, 'config')}`;
  try {
    execFileSync('env', [env, `HOME=${dir}`, 'public-inbox-init', '-V2', '-L', 'basic', 'bench', path.join(dir, 'inbox'), 'http://127.0.0.1/bench', 'bench@example.org'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  execFileSync('git', ['config', '-f', path.join(dir, 'config'), 'publicinboxmda.spamcheck', 'none']);
  const script =
    `i=0; while [ $i -lt ${MDA_MESSAGES} ]; do i=$((i+1)); ` +
    `printf 'From: p <p@example.org>\\nTo: bench@example.org\\nSubject: s %s\\nMessage-ID: <mda-%s@example.org>\\nDate: Sat, 05 Dec 2026 11:00:00 +0000\\n\\nbody\\n' $i $i | ` +
    `ORIGINAL_RECIPIENT=bench@example.org public-inbox-mda --no-precheck || exit 1; done`;
  return timeProcess(['env', env, `HOME=${dir}`, 'sh', '-c', script]);
}

async function main(): Promise<void> {
  if (!existsSync(path.join(PEER, 'grokmirror', 'pi_piper.py'))) throw new Error(`no grokmirror peer at ${PEER} (set GROKMIRROR_PEER)`);
  const work = await claimWorkDir('grokmirror-ts-bench-piper');
  const repo = path.join(work, 'lore', 'bench', 'git', '0.git');
  const root = makeEpoch(repo, MESSAGES);
  const piped = MESSAGES - 1;
  const conf = path.join(work, 'pi-piper.conf');
  writeFileSync(conf, '[DEFAULT]\npipe = /bin/true\nshallow = no\n');
  const msgFile = path.join(work, 'message');
  writeFileSync(msgFile, execFileSync('git', [`--git-dir=${repo}`, 'show', 'refs/heads/master:m'], { env: GIT_ENV }));
  const peerEnv = `PYTHONPATH=${PEER}`;
  const ours: Sample[] = [];
  const old: Sample[] = [];
  const peer: Sample[] = [];
  const floor: Sample[] = [];
  const load0 = os.loadavg();
  for (let r = 0; r < ROUNDS; r++) {
    if (before) {
      resetState(repo, root);
      old.push(timeProcess([process.execPath, before, '-c', conf, repo]));
    }
    resetState(repo, root);
    ours.push(timeProcess([process.execPath, BIN['pi-piper'], '-c', conf, repo]));
    resetState(repo, root);
    peer.push(timeProcess(['env', peerEnv, 'PYTHONDONTWRITEBYTECODE=1', 'python3', '-m', 'grokmirror.pi_piper', '-c', conf, repo]));
    floor.push(timeProcess(['sh', '-c', `i=0; while [ $i -lt ${piped} ]; do /bin/true < '${msgFile}'; i=$((i+1)); done`]));
  }
  const mda = mdaFloor(work);
  const load1 = os.loadavg();
  const med = (xs: Sample[]) => median(xs.map((x) => x.ms));
  const cpu = (xs: Sample[]) => (xs.every((x) => x.cpuMs !== null) ? median(xs.map((x) => x.cpuMs!)) : null);
  const ratio = median(ours.map((x, i) => x.ms / peer[i]!.ms));
  const row = (who: string, xs: Sample[]) => {
    const c = cpu(xs);
    return `| ${who} | ${fmt(med(xs))} | ${perMsg(med(xs), piped)} | ${c === null ? 'n/a' : `${fmt(c)} (${perMsg(c, piped)})`} |`;
  };
  const [oc, pc] = [cpu(ours), cpu(peer)];
  const cpuRatio = oc === null || pc === null ? 'n/a' : `${(oc / pc).toFixed(2)}x`;
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const body = [
    `### grok-pi-piper: ${piped} new messages of one epoch piped to /bin/true`,
    '',
    `Generated by \`npm run bench:piper${before ? ' -- --before=<build> --before-label=<name>' : ''}\` on ${new Date().toISOString().slice(0, 10)}; ${os.availableParallelism()} cores, load average ${la(load0)} at the start and ${la(load1)} at the end (a shared machine).`,
    `Medians of ${ROUNDS} rounds, each piper starting from the epoch's first commit, measured one after the other in each round; CPU is user + system of the process and its children (git, the pipe command).`,
    '',
    '| who | wall | per message | CPU (per message) |',
    '|---|---|---|---|',
    ...(before ? [row(`ours before (${beforeLabel})`, old)] : []),
    row('ours (grok-pi-piper)', ours),
    row("grokmirror's grok-pi-piper (python3 -m grokmirror.pi_piper)", peer),
    row('floor: sh running /bin/true once per message, message on stdin', floor),
    ...(mda ? [`| for scale: sh running public-inbox-mda once per message (${MDA_MESSAGES} messages, one v2 inbox) | ${fmt(mda.ms)} | ${perMsg(mda.ms, MDA_MESSAGES)} | ${mda.cpuMs === null ? 'n/a' : `${fmt(mda.cpuMs)} (${perMsg(mda.cpuMs, MDA_MESSAGES)})`} |`] : []),
    '',
    `Ours / grokmirror's (median of the per-round ratios): ${ratio.toFixed(2)}x wall; medians of CPU: ${cpuRatio}.`,
  ].join('\n');
  console.log(body);
  if (!quick) writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'pi-piper', body);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
