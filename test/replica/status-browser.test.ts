/**
 * The status page as a browser renders it: Debian's chromium, headless, against a real daemon's
 * status server. Screenshots (desktop and phone widths) go to test-output/ (gitignored) for people
 * to look at; the rendered DOM is checked here. Without chromium the test is skipped with a message
 * saying how to install it; .ci/run installs it and sets GROK_REQUIRE_TOOLS=1, under which a missing
 * browser is a failure instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';
import { startStatusDaemon, waitFor } from '../helpers/status-daemon.js';
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

t.test('the status page in headless chromium: rendered DOM and screenshots', { skip }, async (t) => {
  if (!bin) {
    t.fail(missing);
    return;
  }
  const d = await startStatusDaemon(t, ['linux.git', 'docs/manual.git', 'tools/build.git', 'mirror-me.git']);
  await waitFor('the first pass', async () => /"passes":\{"full":\{"done":1/.test(await d.get('/status.json')));
  await d.breakRepo('/tools/build.git');
  await waitFor('a failing repository', async () => /"failing_repos":1/.test(await d.get('/status.json')));

  const dom = await chromium(t, bin, ['--dump-dom', `${d.url}/`]);
  t.match(dom, /<div class="card" id="repos"><div class="label">Repositories<\/div><div class="value">4<\/div>/, 'repositories held');
  t.match(dom, /<table class="failing" id="failing">.*<td class="key">\/tools\/build\.git<\/td><td class="error">[^<]+/s, 'a row for the failing repository with its error');
  t.match(dom, /<div class="card bad" id="failing-count"><div class="label">Failing<\/div><div class="value">1</);
  t.match(dom, /<span class="badge ok">cloned<\/span>/, 'recent activity');

  mkdirSync(OUT, { recursive: true });
  for (const [file, size] of [['status-page.png', '1200,900'], ['status-page-phone.png', '390,844']] as const) {
    const png = path.join(OUT, file);
    await chromium(t, bin, [`--screenshot=${png}`, `--window-size=${size}`, `${d.url}/`]);
    t.ok(existsSync(png) && statSync(png).size > 1000, `screenshot ${path.relative(REPO_ROOT, png)}`);
  }
});
