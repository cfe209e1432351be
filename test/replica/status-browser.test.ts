/**
 * The status page as a browser renders it: Debian's chromium, headless, against a real grok-pull -o
 * (the installed command, a process of its own) mirroring a real grok-origin, with a repository that
 * fails for real. Screenshots (desktop and phone widths) go to test-output/ (gitignored) for people
 * to look at; the rendered DOM is checked here. Without chromium the test is skipped with a message
 * saying how to install it; .ci/run installs it and sets GROK_REQUIRE_TOOLS=1, under which a missing
 * browser is a failure instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';
import { startFsckDaemon } from '../helpers/fsck-daemon.js';
import { startPullDaemonProcess } from '../helpers/pull-daemon-process.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const OUT = path.join(REPO_ROOT, 'test-output');

function findChromium(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const p = path.join(dir, name);
      if (dir && existsSync(p)) return p;
    }
  }
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : null;
}

/** One headless chromium run with a profile of its own; returns stdout. */
async function chromium(t: Parameters<typeof tmpDir>[0], bin: string, args: string[]): Promise<string> {
  const profile = tmpDir(t, 'grok-chromium-');
  const { stdout } = await run(
    bin,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args],
    // A guard against a wedged browser, not a timing assertion.
    { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

const bin = findChromium();
const missing = 'chromium is not installed: `apt-get install -y chromium` (as .ci/run does) runs this test';
const skip = !bin && process.env.GROK_REQUIRE_TOOLS !== '1' ? missing : false;

/** What a reader sees: the DOM's text, tags dropped, entities decoded, whitespace collapsed. */
function pageText(dom: string): string {
  const body = dom.slice(dom.indexOf('<body'));
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
  return body
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => entities[e]!)
    .replace(/\s+/g, ' ')
    .trim();
}

t.test('the status page in headless chromium: a failing repository shown honestly; screenshots', { skip }, async (t) => {
  if (!bin) {
    t.fail(missing);
    return;
  }
  const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const d = await startPullDaemonProcess(t, ['linux.git', 'docs/manual.git', 'tools/build.git', 'mirror-me.git'], { userinfo: 'mirror:s3cret-token' });
  await waitFor('the first pass', async () => /"passes":\{"full":\{"done":1/.test(await d.get('/status.json')), 60_000);
  await waitFor('the change feed', async () => /"feed":"connected"/.test(await d.get('/status.json')), 60_000);
  await d.breakRepo('/tools/build.git');
  await waitFor('a failing repository', async () => /"failing_repos":1/.test(await d.get('/status.json')));

  const dom = await chromium(t, bin, ['--dump-dom', `${d.url}/`]);
  const text = pageText(dom);
  t.comment(text.slice(0, 600));
  t.notMatch(text, /In sync/, 'never "In sync" while a repository fails');
  t.match(text, /grok-pull replica mirror on /, "the instance (the config's name) in the heading");
  t.match(text, /1 repository failing, behind for \d+s/, 'the headline says a repository fails and is behind');
  t.match(text, /Lag \d+s 1 failing repository not updated since/, 'the lag card counts it, not "in sync"');
  t.match(text, `Host ${hostname()}`);
  t.match(text, `Version grokmirror-ts ${version}`);
  t.match(text, `Origin http://***@127.0.0.1:${d.origin.port}/manifest.js.gz`, 'the origin, its credentials redacted');
  t.notMatch(dom, /s3cret-token/, 'the password nowhere on the page, attributes included');
  t.match(text, 'Change feed connected');
  t.match(text, /Next full pass in (59m \d\ds|1h 00m)/, 'when the next full pass (the retry) is due');

  const row = /<tr><td class="key">\/tools\/build\.git<\/td><td class="error">([\s\S]*?)<\/td>(.*?)<\/tr>/.exec(dom);
  t.ok(row, 'a row for the failing repository');
  const errorCell = pageText(`<body>${row?.[1] ?? ''}`);
  t.match(errorCell, /^fatal: /, `the error cell starts with git's own message: ${errorCell.slice(0, 80)}`);
  t.match(errorCell, /^fatal: [^(]+ git -c .* fetch .* exit 128$/, 'the command line after it');
  t.match(row?.[1] ?? '', /<span class="said" title="git -c [^"]*fetch[^"]*">fatal: /, 'and on hover');
  t.match(pageText(`<body>${row?.[2] ?? ''}`), /^\d+s ago \d+s ago in (59m \d\ds|1h 00m) 1$/, 'failing since, last try, next retry, failures');
  t.match(dom, /<div class="card" id="repos"><div class="label">Repositories<\/div><div class="value">4<\/div>/, 'repositories held');
  t.match(dom, /<div class="card bad" id="failing-count"><div class="label">Failing<\/div><div class="value">1</);
  t.match(dom, /<span class="badge ok">cloned<\/span>/, 'recent activity');

  mkdirSync(OUT, { recursive: true });
  for (const [file, size] of [['status-page.png', '1200,900'], ['status-page-phone.png', '390,844']] as const) {
    const png = path.join(OUT, file);
    await chromium(t, bin, [`--screenshot=${png}`, `--window-size=${size}`, `${d.url}/`]);
    t.ok(existsSync(png) && statSync(png).size > 1000, `screenshot ${path.relative(REPO_ROOT, png)}`);
  }
});

t.test('the status page in headless chromium while grok-fsck runs from fsck_cron, and after; phone screenshot', { skip }, async (t) => {
  if (!bin) {
    t.fail(missing);
    return;
  }
  const d = await startFsckDaemon(t, ['linux.git', 'docs/manual.git']);
  const status = async () => (await (await fetch(`${d.url}/status.json`)).json()) as { passes: { full: { done: number; unchanged: number } }; manifest_checks: { unchanged: number } };
  await waitFor('the first pass', async () => (await status()).passes.full.done === 1);
  await d.startFsck();
  d.advance(2 * 3600_000 + 5 * 60_000);
  d.tick();
  await waitFor('a manifest check during the fsck', async () => (await status()).manifest_checks.unchanged === 1);

  const dom = await chromium(t, bin, ['--dump-dom', `${d.url}/`]);
  const text = pageText(dom);
  t.comment(text.slice(0, 400));
  t.match(text, /In sync grok-fsck running since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2h 05m\); passes wait for it/, 'the header says grok-fsck runs, since when and how long');
  t.match(text, 'Next full pass when grok-fsck ends');
  t.match(text, /Last check \d+s ago: manifest unchanged/, 'the manifest is still checked');
  mkdirSync(OUT, { recursive: true });
  const png = path.join(OUT, 'status-page-fsck-phone.png');
  await chromium(t, bin, [`--screenshot=${png}`, '--window-size=390,844', `${d.url}/`]);
  t.ok(existsSync(png) && statSync(png).size > 1000, `screenshot ${path.relative(REPO_ROOT, png)}`);

  d.endFsck();
  await waitFor('the pass after the fsck (the manifest unchanged)', async () => (await status()).passes.full.unchanged === 1);
  const after = pageText(await chromium(t, bin, ['--dump-dom', `${d.url}/`]));
  t.notMatch(after, /grok-fsck running/, 'no longer running');
  t.match(after, /Last grok-fsck \d+s ago ?: done, 0 repositories with errors, took 2h 05m/, 'how the last one ended and how long it took');
  t.match(after, /\d+s ago fsck 2 checked, 0 repacked, 0 with errors 2h 05m/, 'in the recent activity');
});
