/**
 * Real public-inbox v2 inboxes for tests, made with public-inbox's own tools (public-inbox-init, its
 * v2 writer through test/fixtures/public-inbox/add.pl, public-inbox-learn rm, public-inbox-purge),
 * laid out as lore.kernel.org serves them: `<top>/<list>/git/<N>.git`, with `refs/meta/origins` where
 * asked. Without public-inbox the tests using this are skipped with a message, except under
 * GROK_REQUIRE_TOOLS=1 (.ci/run), where that is a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { FIXTURES } from './fixture.js';
import { git, gitDir, GIT_ENV } from './git.js';

export const PI_MISSING = 'public-inbox is not installed: `apt-get install -y public-inbox` (as .ci/run does) runs this test';

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, tool)));
}

export const publicInboxInstalled = onPath('public-inbox-init') && onPath('public-inbox-index');

/** tap's `skip` option: a message when public-inbox is missing, false otherwise (and under GROK_REQUIRE_TOOLS=1). */
export const piSkip: string | false = !publicInboxInstalled && process.env.GROK_REQUIRE_TOOLS !== '1' ? PI_MISSING : false;

export interface Message {
  readonly list: string;
  readonly n: number;
  readonly raw: string;
  readonly id: string;
}

/** A message to `<list>@example.org` with Message-ID `<list-<n>@example.org>`, dated `date` (seconds). */
export function message(list: string, n: number, date: number, subject = `${list} message ${n}`): Message {
  const id = `<${list}-${n}@example.org>`;
  const raw = [
    `From: Poster ${n} <poster${n}@example.org>`,
    `To: ${list}@example.org`,
    `Subject: ${subject}`,
    `Date: ${new Date(date * 1000).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${id}`,
    '',
    `Body of ${list} message ${n}. ${'lorem ipsum '.repeat(20)}`,
    '',
  ].join('\n');
  return { list, n, raw, id };
}

export class PiOrigin {
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly top: string) {
    mkdirSync(top, { recursive: true });
    this.env = { ...GIT_ENV, PI_CONFIG: path.join(top, '.pi-config'), HOME: top };
  }

  private run(cmd: string, args: string[], input?: string): string {
    return execFileSync(cmd, args, { env: this.env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  }

  inboxDir(list: string): string {
    return path.join(this.top, list);
  }

  epochs(list: string): number[] {
    const dir = path.join(this.inboxDir(list), 'git');
    return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d+\.git$/.test(n)).map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b) : [];
  }

  epochRepo(list: string, epoch: number): string {
    return path.join(this.inboxDir(list), 'git', `${epoch}.git`);
  }

  /** public-inbox-init -V2 for `<list>@example.org`. */
  init(list: string): void {
    this.run('public-inbox-init', ['-V2', '-L', 'basic', list, this.inboxDir(list), `http://origin.example/${list}`, `${list}@example.org`]);
  }

  /** Adds messages in order; `newEpoch` starts a new epoch with the first one. */
  add(list: string, msgs: readonly Message[], newEpoch = false): void {
    this.run('perl', [path.join(FIXTURES, 'public-inbox/add.pl'), list, newEpoch ? 'new' : 'same'], msgs.map((m) => m.raw).join('\n\0\n'));
  }

  /** public-inbox-learn rm: a deletion commit (`d`) in the newest epoch. */
  remove(m: Message): void {
    this.run('public-inbox-learn', ['rm'], m.raw);
  }

  /** public-inbox-purge: the message's blob emptied and the history after it rewritten. */
  purge(m: Message): void {
    this.run('public-inbox-purge', ['--all'], m.raw);
  }

  /** What lore.kernel.org keeps in every epoch: the inbox's config snippet at refs/meta/origins:i. */
  setOrigins(list: string, epoch: number, text: string): void {
    const repo = this.epochRepo(list, epoch);
    const blob = git([`--git-dir=${repo}`, 'hash-object', '-w', '--stdin'], { input: text });
    const tree = git([`--git-dir=${repo}`, 'mktree'], { input: `100644 blob ${blob}\ti\n` });
    const commit = gitDir(repo, ['commit-tree', '-m', 'origins', tree]);
    gitDir(repo, ['update-ref', 'refs/meta/origins', commit]);
  }

  /** Commits of an epoch's master, oldest first, as `<commit> <subject>`. */
  log(list: string, epoch: number): string[] {
    return gitDir(this.epochRepo(list, epoch), ['log', '--reverse', '--format=%H %s', 'refs/heads/master']).split('\n').filter(Boolean);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Httpd {
  readonly url: string;
  get(p: string): Promise<{ status: number; text: string }>;
}

/** public-inbox-httpd on 127.0.0.1 for the inboxes of `piConfig`, stopped at teardown. */
export async function startHttpd(t: { teardown(fn: () => void | Promise<void>): void }, piConfig: string, home: string): Promise<Httpd> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('public-inbox-httpd', ['-l', url], { env: { ...GIT_ENV, PI_CONFIG: piConfig, HOME: home }, stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGTERM'));
  const get = async (p: string) => {
    const res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(30_000) });
    return { status: res.status, text: await res.text() };
  };
  for (let i = 0; ; i++) {
    try {
      await get('/');
      return { url, get };
    } catch (err) {
      if (i > 300 || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A pipe command that appends "<tag> <Message-ID>" to `log`. */
export function writeSink(dir: string, log: string): string {
  const sink = path.join(dir, 'sink.sh');
  writeFileSync(sink, `#!/bin/sh\nid=$(sed -n 's/^[Mm]essage-[Ii][Dd]: *//p' | head -n 1)\necho "$1 $id" >> '${log}'\n`);
  chmodSync(sink, 0o755);
  return sink;
}

/** The Message-IDs a sink recorded with `tag`, in order. */
export function sinkIds(log: string, tag: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1)) : [];
}
