/**
 * Issue 16 item 14: text a hostile origin controls reaches stderr and the log. An origin that answers
 * git with an HTTP error whose body holds terminal escapes (git relays it as "remote: ..." lines), one
 * whose ref advertisement is an ERR line with a C1 control (git masks C0, not C1), a manifest key
 * holding a C1 CSI, a change feed whose event is broken JSON full of escapes, and a manifest that is
 * not JSON. grok-pull (one pass and -o) must print all of it escaped: no byte a terminal obeys on
 * stderr or in a log message, the text itself still there to read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { BIN } from '../helpers/fixture.js';
import { runBounded } from '../helpers/killable.js';
import { tmpDir } from '../helpers/tmp.js';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';

const table = new CaseTable('hostile-text', 'Terminal escapes from a hostile origin never reach a terminal raw');
/** Bytes a terminal obeys (newline aside, which ends each line), C1 included. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ESC = '\x1b[31mRED\x1b]0;pwned-title\x07\u009b2J\u202e';
const entry = { description: 'ok', fingerprint: 'f'.repeat(40), modified: 1_700_000_000, reference: null, owner: 'Origin Owner', head: 'ref: refs/heads/master' };

async function hostileOrigin(t: Parameters<typeof tmpDir>[0]): Promise<string> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/manifest.js') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ '/http-error.git': entry, '/err-line.git': entry, [`/csi\u009b2J.git`]: entry }));
    } else if (url === '/broken/manifest.js') {
      res.writeHead(200).end(`{"/a.git": ${ESC} }`);
    } else if (url.startsWith('/http-error.git/')) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`upstream broke ${ESC}\nsecond line ${ESC}\n`);
    } else if (url.startsWith('/err-line.git/')) {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' }).end(`${pkt('# service=git-upload-pack\n')}0000${pkt(`ERR go away ${ESC}\n`)}`);
    } else if (url.startsWith('/_grok/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`id: 1-1\nevent: change\ndata: {"key": ${ESC}}\n\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such thing ${ESC}\n`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Log messages (and errors) with raw control characters, from a JSON-lines log file. */
function rawInLog(file: string): string[] {
  const bad: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    if (RAW_CONTROL.test(line)) bad.push(`raw in the file: ${JSON.stringify(line.slice(0, 100))}`);
    const rec = JSON.parse(line) as { msg?: string };
    if (rec.msg && RAW_CONTROL.test(rec.msg)) bad.push(`raw in a message: ${JSON.stringify(rec.msg.slice(0, 100))}`);
  }
  return bad;
}

t.test('a hostile origin\'s words reach stderr and the log escaped', async (t) => {
  const dir = tmpDir(t, 'grok-hostile-text-');
  const origin = await hostileOrigin(t);
  const runs: { name: string; args: string[]; manifest: string; limit: number; want: RegExp[] }[] = [
    {
      name: 'grok-pull -v: git relays an HTTP error body, an ERR line, a key with a C1 CSI',
      args: ['-v'],
      manifest: `${origin}/manifest.js`,
      limit: 60_000,
      // git reads an error body without a charset as Latin-1 and re-encodes it: the C1 CSI comes out after an "Â".
      want: [/remote: upstream broke \\x1b\[31mRED\\x1b\]0;pwned-title\\x07.*\\x9b2J/, /remote error: go away .*\\x9b2J/, /csi\\x9b2J\.git/],
    },
    { name: 'grok-pull: a manifest that is not JSON (the fatal line)', args: [], manifest: `${origin}/broken/manifest.js`, limit: 60_000, want: [/error: .*not valid JSON/] },
    { name: 'grok-pull -o -v: a change feed event of broken JSON with escapes', args: ['-o', '-v'], manifest: `${origin}/manifest.js`, limit: 6_000, want: [/change feed .*\\x1b\[31mRED/] },
  ];
  for (const [i, run] of runs.entries()) {
    const log = path.join(dir, `pull${i}.log`);
    const conf = path.join(dir, `r${i}.conf`);
    writeFileSync(conf, `[core]\ntoplevel = ${path.join(dir, `top${i}`)}\nlog = ${log}\nloglevel = debug\n[remote]\nsite = ${origin}\nmanifest = ${run.manifest}\n[pull]\nretries = 1\nrefresh = 3600\n`);
    const r = await runBounded(BIN.pull, ['-c', conf, ...run.args], run.limit);
    const rawErr = r.stderr.split('\n').filter((l) => RAW_CONTROL.test(l));
    const rawLog = rawInLog(log);
    const missing = run.want.filter((re) => !re.test(r.stderr));
    const ok = rawErr.length === 0 && rawLog.length === 0 && missing.length === 0 && (run.args.includes('-o') ? r.overran : !r.overran);
    const result = [
      rawErr.length ? `RAW on stderr: ${JSON.stringify(rawErr[0]!.slice(0, 120))}` : 'stderr clean',
      rawLog.length ? rawLog[0] : 'log clean',
      missing.length ? `missing: ${missing.map((m) => m.source).join(', ')}` : 'the text is there, escaped',
    ].join('; ');
    t.ok(table.add(run.name, 'no raw control character on stderr or in the log; the text still shown, escaped', result, ok), run.name);
  }
});

t.teardown(() => {
  table.write(`The escapes sent: ${JSON.stringify(ESC)} (CSI colour, OSC window title, C1 CSI clear-screen, a right-to-left override).`);
});
