/**
 * Issue 16 item 13: `[remote] manifest_command` that misbehaves. Output past the manifest size cap
 * is MANIFEST_TOO_LARGE, a command killed by a signal (or by its time limit) is an error: neither
 * may pass as "unchanged" with exit 0, which would leave a replica silently stale. What the command
 * printed is quoted cut short and escaped: it may hold terminal escapes and run to megabytes.
 * Real commands (shell scripts) through the real grok-pull, and the size cap at its boundary.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fetchCommandManifest } from '../../replica/source/command-source.js';
import { silentLogger } from '../../shared/log.js';
import { CaseTable } from '../helpers/case-table.js';
import { BIN } from '../helpers/fixture.js';
import { runBounded } from '../helpers/killable.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('manifest-command', 'manifest_command: over the cap, killed, hostile output');
/** A byte a terminal would obey, other than the newline that ends each line. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const HOSTILE = String.raw`printf '\033[31mred\033]0;pwned\007 \302\2332J '; seq -s ' ' 1 200`;

interface Case {
  readonly name: string;
  readonly script: string;
  readonly code: number;
  /** The last stderr line must match. */
  readonly want: RegExp;
}

const cases: Case[] = [
  { name: 'prints 5000 bytes, the cap is 1K', script: `head -c 5000 /dev/zero | tr '\\0' ' '`, code: 1, want: /error: manifest_command printed more than 1024 bytes \(the manifest size cap, \[core\] manifest_max_size\); stopped \[GROK_ERR_MANIFEST_TOO_LARGE\]$/ },
  { name: 'prints 200 MB, the cap is 1K', script: 'yes " " | head -c 200000000', code: 1, want: /printed more than 1024 bytes.*\[GROK_ERR_MANIFEST_TOO_LARGE\]$/ },
  { name: 'killed by SIGKILL (the OOM killer, say)', script: 'printf "{" ; kill -KILL $$', code: 1, want: /error: manifest_command was killed by SIGKILL \[GROK_ERR_MANIFEST_FETCH\]$/ },
  { name: 'killed by SIGSEGV', script: 'kill -SEGV $$', code: 1, want: /error: manifest_command was killed by SIGSEGV \[GROK_ERR_MANIFEST_FETCH\]$/ },
  { name: 'killed by SIGTERM', script: 'kill -TERM $$', code: 1, want: /error: manifest_command was killed by SIGTERM \[GROK_ERR_MANIFEST_FETCH\]$/ },
  { name: 'exit 1 with 800 bytes of terminal escapes', script: `${HOSTILE}; exit 1`, code: 1, want: /error: manifest_command failed: \\x1b\[31mred\\x1b\]0;pwned\\x07 \\x9b2J 1 2 3 .*… \(\d+ characters\) \[GROK_ERR_MANIFEST_FETCH\]$/ },
  { name: 'exit 5 with 800 bytes of terminal escapes (a warning: unchanged)', script: `${HOSTILE}; exit 5`, code: 0, want: /warning: manifest_command exited 5: \\x1b\[31mred\\x1b\]0;pwned.*… \(\d+ characters\); treating the manifest as unchanged$/ },
  { name: 'exit 127 (unchanged), the contract', script: 'exit 127', code: 0, want: /^$/ },
];

t.test('grok-pull with a manifest_command that misbehaves', async (t) => {
  const dir = tmpDir(t, 'grok-mcmd-');
  for (const [i, c] of cases.entries()) {
    const script = path.join(dir, `cmd${i}.sh`);
    writeFileSync(script, `#!/bin/sh\n${c.script}\n`);
    chmodSync(script, 0o755);
    const conf = path.join(dir, `r${i}.conf`);
    writeFileSync(conf, `[core]\ntoplevel = ${path.join(dir, `top${i}`)}\nmanifest_max_size = 1K\n[remote]\nmanifest_command = ${script}\n`);
    const r = await runBounded(BIN.pull, ['-c', conf], 60_000);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const last = lines[lines.length - 1] ?? '';
    const bounded = lines.every((l) => l.length < 600);
    const ok = !r.overran && r.code === c.code && c.want.test(last) && !RAW_CONTROL.test(r.stderr) && bounded;
    const shown = last.length > 200 ? `${last.slice(0, 200)}...` : last;
    t.ok(table.add(c.name, `exit ${c.code}; ${c.want.source.slice(0, 80)}; no raw control character, lines bounded`, `exit ${r.code}: ${shown || '(nothing on stderr)'}${RAW_CONTROL.test(r.stderr) ? '; RAW CONTROL CHARACTERS on stderr' : ''}${bounded ? '' : '; an unbounded line'}`, ok), c.name);
  }
});

t.test('the size cap at its boundary, and the time limit', async (t) => {
  const dir = tmpDir(t, 'grok-mcmd-cap-');
  const req = { previous: {}, force: false, maxBytes: 1024 };
  const script = (name: string, body: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, `#!/bin/sh\n${body}\n`);
    chmodSync(f, 0o755);
    return f;
  };
  const exact = await fetchCommandManifest(script('exact.sh', `printf '{}'; head -c 1022 /dev/zero | tr '\\0' ' '`), req, silentLogger());
  t.ok(table.add('exactly 1024 bytes, the cap', 'fetched', exact.status, exact.status === 'fetched' && Buffer.isBuffer(exact.json) && exact.json.length === 1024), 'at the cap: fetched');
  const outcome = (p: Promise<{ status: string }>) => p.then((r) => r.status, (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
  const over = await outcome(fetchCommandManifest(script('over.sh', `printf '{}'; head -c 1023 /dev/zero | tr '\\0' ' '`), req, silentLogger()));
  t.ok(table.add('1025 bytes, one past the cap', 'MANIFEST_TOO_LARGE', over, over.startsWith('GROK_ERR_MANIFEST_TOO_LARGE')), 'one past: too large');
  const slow = await outcome(fetchCommandManifest(script('slow.sh', 'sleep 30'), req, silentLogger(), 1000));
  t.ok(table.add('a command that hangs (time limit narrowed to 1 s)', 'MANIFEST_FETCH, killed', slow, /^GROK_ERR_MANIFEST_FETCH: .*did not finish within 1 s; killed/.test(slow)), 'hangs: killed');
});

t.teardown(() => {
  table.write('grok-pull runs with `manifest_max_size = 1K`; each command is a shell script.');
});
