/**
 * contrib/prometheus and contrib/grafana against the real thing: the alert rules pass `promtool check
 * rules` and their own unit tests (`promtool test rules`: each alert fires on the series it is meant
 * for and stays quiet on its near miss); every metric the rules and the dashboard query exists in the
 * /metrics of a real grok-origin and a real grok-pull -o, and every dashboard query parses as PromQL
 * (promtool again, as recording rules). promtool comes from Debian's prometheus package: without it
 * the promtool parts are skipped with a message (a failure under GROK_REQUIRE_TOOLS=1, as in .ci/run).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';
import { startPullDaemonProcess } from '../helpers/pull-daemon-process.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const RULES_DIR = path.join(REPO_ROOT, 'contrib/prometheus');
const RULES = path.join(RULES_DIR, 'grokmirror.rules.yml');
const DASHBOARD = path.join(REPO_ROOT, 'contrib/grafana/grokmirror.json');

function findPromtool(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir && existsSync(path.join(dir, 'promtool'))) return path.join(dir, 'promtool');
  return existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : null;
}
const promtool = findPromtool();
const missing = 'promtool is not installed: `apt-get install -y prometheus` (as .ci/run does) runs this test';
const skip = !promtool && process.env.GROK_REQUIRE_TOOLS !== '1' ? missing : false;

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: string | { query: string } }[] } };
const queries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((q) => ({ where: `panel "${p.title}"`, expr: q.expr }))),
  ...dashboard.templating.list.filter((v) => typeof v.query === 'object').map((v) => ({ where: `variable $${v.name}`, expr: (v.query as { query: string }).query })),
];
/** A dashboard query as plain PromQL: Grafana's variables given values Prometheus accepts. */
const plain = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replace(/\$(replica|origin)\b/g, '.*');
const metricNames = (text: string) => new Set([...text.matchAll(/\b((?:grokmirror|process|nodejs)_[a-zA-Z0-9_]+)/g)].map((m) => m[1]!));

t.test('promtool: the alert rules load, and their unit tests pass', { skip }, async (t) => {
  if (!promtool) return void t.fail(missing);
  const check = await run(promtool, ['check', 'rules', RULES]);
  t.match(check.stdout, /SUCCESS: 7 rules found/);
  const unit = await run(promtool, ['test', 'rules', 'grokmirror.rules.test.yml'], { cwd: RULES_DIR });
  t.match(unit.stdout, /SUCCESS/);
});

t.test('promtool: every dashboard query parses as PromQL', { skip }, async (t) => {
  if (!promtool) return void t.fail(missing);
  const file = path.join(tmpDir(t), 'dashboard.rules.yml');
  const rules = queries.filter((q) => !q.expr.startsWith('label_values(')).map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(plain(q.expr))}\n`);
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
  const check = await run(promtool, ['check', 'rules', file]);
  t.match(check.stdout, `SUCCESS: ${rules.length} rules found`);
});

t.test('the dashboard: panels laid out, each on the templated data source', async (t) => {
  t.equal(dashboard.uid, 'grokmirror-ts');
  t.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'unique panel ids');
  for (const p of dashboard.panels) {
    t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: within the 24 columns`);
    if (p.type !== 'row') t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: the dashboard's data source`);
  }
  t.ok(queries.length > 20, `${queries.length} queries`);
});

t.test('every metric the rules and the dashboard query exists in a real origin and replica /metrics', async (t) => {
  const d = await startPullDaemonProcess(t, ['a.git', 'b.git']);
  await waitFor('the first pass', async () => /"passes":\{"full":\{"done":1/.test(await d.get('/status.json')), 60_000);
  const scraped = async (url: string) => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    return new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][\w:]*/.exec(l)![0]));
  };
  const origin = await scraped(d.origin.url);
  const replica = await scraped(d.url);
  t.ok(origin.has('grokmirror_origin_manifest_entries') && replica.has('grokmirror_replica_repos'), 'both scraped');
  const where = (name: string) => (name.startsWith('grokmirror_origin_') ? [origin] : name.startsWith('grokmirror_replica_') ? [replica] : [origin, replica]);
  const asked = [...queries, { where: 'the alert rules', expr: readFileSync(RULES, 'utf8') }];
  for (const q of asked) {
    for (const name of metricNames(q.expr)) {
      const absent = where(name).filter((s) => !s.has(name));
      t.equal(absent.length, 0, `${q.where}: ${name}`);
    }
  }
});
