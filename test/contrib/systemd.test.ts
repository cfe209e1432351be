import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';

const DIR = path.join(REPO_ROOT, 'contrib/systemd');

/** `section -> key -> values` (systemd keys may repeat); comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = new Map();
      out.set(head[1] ?? '', section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit line: ${raw}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}

const unit = (name: string) => parseUnit(readFileSync(path.join(DIR, name), 'utf8'));
const get = (u: ReturnType<typeof parseUnit>, section: string, key: string) => u.get(section)?.get(key)?.at(-1);

// What grok-origin@.service set first; every service we ship runs with the same limits.
const HARDENING: Record<string, string> = {
  User: 'mirror',
  Group: 'mirror',
  NoNewPrivileges: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  ReadWritePaths: '/var/lib/git/mirror',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
};

t.test('every service runs hardened, as the mirror user, on /etc/grokmirror/<instance>.conf', async (t) => {
  const services = readdirSync(DIR).filter((f) => f.endsWith('@.service'));
  t.same(services.sort(), ['grok-fsck@.service', 'grok-origin@.service', 'grok-pull@.service']);
  for (const name of services) {
    const u = unit(name);
    for (const [key, want] of Object.entries(HARDENING)) t.equal(get(u, 'Service', key), want, `${name}: ${key}`);
    t.match(get(u, 'Service', 'ExecStart') ?? '', /^\/usr\/bin\/grok-[a-z]+ (-o )?-c \/etc\/grokmirror\/%i\.conf$/, `${name}: ExecStart`);
  }
});

t.test('grok-pull runs the daemon and is restarted; grok-fsck is a oneshot on a weekly, persistent timer', async (t) => {
  const pull = unit('grok-pull@.service');
  t.match(get(pull, 'Service', 'ExecStart'), / -o /);
  t.equal(get(pull, 'Service', 'Restart'), 'on-failure');
  t.equal(get(pull, 'Install', 'WantedBy'), 'multi-user.target');

  const fsck = unit('grok-fsck@.service');
  t.equal(get(fsck, 'Service', 'Type'), 'oneshot');
  t.equal(get(fsck, 'Service', 'TimeoutStartSec'), 'infinity', 'a long repack is not killed');
  t.notOk(fsck.has('Install'), 'started by its timer, not enabled itself');

  const timer = unit('grok-fsck@.timer');
  t.match(get(timer, 'Timer', 'OnCalendar'), /^(weekly|(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d)$/);
  t.equal(get(timer, 'Timer', 'Persistent'), 'true');
  t.match(get(timer, 'Timer', 'RandomizedDelaySec'), /^\d+[hm]?$/);
  t.equal(get(timer, 'Install', 'WantedBy'), 'timers.target');
});

t.test('systemd-analyze verify accepts the units (where the tool runs)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.comment('systemd-analyze is not on this machine: not checked');
    return;
  }
  // Instances of the templates, with the command swapped for one that exists here: verify refuses
  // units whose binary is missing, and /usr/bin/grok-* is only there after a production install.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grok-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files: string[] = [];
  for (const name of readdirSync(DIR)) {
    const text = readFileSync(path.join(DIR, name), 'utf8').replace(/^ExecStart=\/usr\/bin\/grok-\S+/m, 'ExecStart=/bin/true');
    const file = path.join(dir, name.replace('@.', '@demo.'));
    writeFileSync(file, text);
    files.push(file);
  }
  const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
  t.equal(r.status, 0, `systemd-analyze verify: ${r.stderr}`);
  // verify exits 0 on unknown keys and bad values, only saying so: any message about our files fails.
  t.notMatch(r.stderr, /grok-|Unknown key|Invalid|Failed to parse/, r.stderr);
});
