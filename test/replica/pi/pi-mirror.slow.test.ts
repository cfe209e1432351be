/**
 * A lore.kernel.org-style origin of real public-inbox v2 inboxes (two lists, epochs made by public-inbox's
 * own writer), served by grok-origin and mirrored by grok-pull whose hooks run grok-pi-piper and
 * grok-pi-indexer as grokmirror's manual pages configure them. Four rounds: the first clone, new
 * messages and a deletion, a new epoch, a purge that rewrites an epoch. Every message is piped once and
 * in order; the mirrored inboxes are registered (address and description from the origin), indexed and
 * searchable through public-inbox-httpd; `shallow = yes` prunes and still updates.
 */
import { writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { Git } from '../../../shared/git/index.js';
import { createCliLogger } from '../../../shared/log.js';
import { runPull } from '../../../replica/run.js';
import { BIN } from '../../helpers/fixture.js';
import { fsckOk, git, gitDir } from '../../helpers/git.js';
import { startTestOrigin } from '../../helpers/origin.js';
import { message, PiOrigin, PI_MISSING, piSkip, publicInboxInstalled, sinkIds, startHttpd, writeSink, type Message } from '../../helpers/public-inbox.js';
import { replicaConfig } from '../../helpers/replica.js';
import { tmpDir } from '../../helpers/tmp.js';

const piped = sinkIds;
const ids = (ms: readonly Message[]) => ms.map((m) => m.id);
const piConfigGet = (file: string, key: string) => git(['config', '--file', file, '--get-all', key]).split('\n');

t.test('grok-pull mirrors public-inbox archives, its hooks pipe every message once and index the inboxes', { skip: piSkip }, async (t) => {
  if (!publicInboxInstalled) return void t.fail(PI_MISSING);
  const dir = tmpDir(t, 'grok-pi-');
  const o = new PiOrigin(path.join(dir, 'origin'));
  const base = 1_700_000_000;
  const l1 = Array.from({ length: 26 }, (_, i) => message('list1', i + 1, base + i * 60));
  const l2 = Array.from({ length: 12 }, (_, i) => message('list2', i + 1, base + i * 60));
  const origins1 = '[publicinbox "list1"]\n\taddress = list1@example.org\n\taddress = list1-alias@example.org\n\tlistid = list1.example.org\n\tdescription = The first test list\n\tnewsgroup = org.example.list1\n\tinboxdir = /somewhere/else\n';
  o.init('list1');
  o.add('list1', l1.slice(0, 12));
  o.add('list1', l1.slice(12, 18), true);
  for (const e of o.epochs('list1')) o.setOrigins('list1', e, origins1);
  // list2 has no refs/meta/origins: its config comes from the origin's public-inbox-httpd (config/raw).
  o.init('list2');
  o.add('list2', l2.slice(0, 8));
  t.same(o.epochs('list1'), [0, 1], 'list1 has two epochs');
  const originHttpd = await startHttpd(t, o.env.PI_CONFIG!, o.top);
  const origin = await startTestOrigin(t, o.top, { extra: '\n[manifest]\nignore = */all.git\n' });
  const notify = (paths: string[]) => origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths } });

  const mirror = path.join(dir, 'mirror');
  const piDir = path.join(dir, 'pi');
  mkdirSync(piDir);
  const piConfig = path.join(piDir, 'config');
  writeFileSync(piConfig, `[extindex "all"]\n\ttopdir = ${path.join(piDir, 'ei')}\n`);
  const log = path.join(dir, 'piped.log');
  const sink = writeSink(dir, log);
  const piperConf = path.join(dir, 'pi-piper.conf');
  writeFileSync(piperConf, `[DEFAULT]\npipe = ${sink} other\nshallow = no\n\n[list1]\npipe = ${sink} list1\n\n[list2]\npipe = ${sink} list2\nshallow = yes\n`);
  const idx = `${BIN['pi-indexer']} -c ${piConfig} -t ${mirror} -L medium`;
  const config = replicaConfig(
    mirror,
    origin.url,
    `post_update_hook = ${BIN['pi-piper']} -c ${piperConf}\n    ${idx} update\npost_clone_complete_hook = ${idx} init --origin-hostname ${originHttpd.url}/ --local-toplevel http://mirror.example/\npost_work_complete_hook = ${idx} extindex\n`,
  );
  let said = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => void ((said += c.toString('utf8')), cb()) });
  const pass = async () => {
    said = '';
    const res = await runPull(config, { force: false, purge: false, forcePurge: false }, { git: new Git(), log: createCliLogger({ name: 'grok-pull', verbose: true, stderr: out }), now: Date.now, sleep: async () => {} });
    t.same(res.failed, [], 'no repository failed');
    return res;
  };
  const repo = (list: string, e: number) => path.join(mirror, list, 'git', `${e}.git`);

  // 1: the first clone. Nothing is piped (grokmirror's initial setup); both inboxes are registered and indexed.
  const first = await pass();
  t.equal(first.cloned.length, 3, 'three epochs cloned');
  t.same(piped(log, 'list1').concat(piped(log, 'list2')), [], 'nothing piped on the first clone');
  // Which epoch's hook runs first depends on the clones' order: either way nothing is piped.
  t.match(said, /list1\/git\/1\.git: (following from [0-9a-f]{12}|piped 0 messages, 6 older than following skipped)/, 'the piper starts following');
  t.match(said, /list1: registered with public-inbox as list1 and indexed/, 'list1 registered and indexed');
  t.match(said, /list2: registered with public-inbox as list2 and indexed/, 'list2 registered and indexed');
  t.same(piConfigGet(piConfig, 'publicinbox.list1.address'), ['list1@example.org', 'list1-alias@example.org'], 'addresses from refs/meta/origins');
  t.same(piConfigGet(piConfig, 'publicinbox.list1.newsgroup'), ['org.example.list1']);
  t.same(piConfigGet(piConfig, 'publicinbox.list1.inboxdir'), [path.join(mirror, 'list1')], 'the mirror, not the origin\'s inboxdir');
  t.same(piConfigGet(piConfig, 'publicinbox.list1.url'), ['http://mirror.example/list1']);
  t.equal(readFileSync(path.join(mirror, 'list1/description'), 'utf8'), 'The first test list', 'description from refs/meta/origins');
  t.same(piConfigGet(piConfig, 'publicinbox.list2.address'), ['list2@example.org'], 'list2 from the origin\'s config/raw');
  t.equal(readFileSync(path.join(mirror, 'list2/description'), 'utf8'), 'list2 archive mirror');
  t.ok(existsSync(path.join(mirror, 'list1/msgmap.sqlite3')) && existsSync(path.join(mirror, 'list2/msgmap.sqlite3')), 'both inboxes have a msgmap');
  t.match(said, /external index updated/, 'post_work_complete_hook ran public-inbox-extindex');
  t.ok(readdirSync(path.join(piDir, 'ei')).length > 0, 'the external index was written');

  // 2: new messages in both lists and a deletion in list1 (public-inbox-learn rm writes `d`).
  o.add('list1', l1.slice(18, 21));
  o.remove(l1[2]!);
  o.add('list2', l2.slice(8, 10));
  await notify(['/list1/git/1.git', '/list2/git/0.git']);
  await pass();
  t.same(piped(log, 'list1'), ids(l1.slice(18, 21)), 'list1: the new messages, in order; the deletion is not piped');
  t.same(piped(log, 'list2'), ids(l2.slice(8, 10)), 'list2: the new messages');
  t.match(said, /list1\/git\/1\.git: piped 3 messages, 1 deletion skipped/);
  const shallow2 = path.join(repo('list2', 0), 'shallow');
  t.equal(readFileSync(shallow2, 'utf8').trim(), gitDir(repo('list2', 0), ['rev-parse', 'refs/heads/master']), 'shallow = yes: list2 cut at its last piped message');
  t.equal(gitDir(repo('list2', 0), ['rev-list', '--count', 'refs/heads/master']), '1', 'and the history before it pruned');

  // 3: list1 starts a new epoch; list2 (shallow) gets more.
  o.add('list1', l1.slice(21, 25), true);
  t.same(o.epochs('list1'), [0, 1, 2]);
  o.setOrigins('list1', 2, origins1);
  o.add('list2', l2.slice(10, 12));
  await notify(['/list1/git/2.git', '/list2/git/0.git']);
  const third = await pass();
  t.same(third.cloned, ['/list1/git/2.git'], 'the new epoch is cloned');
  t.same(piped(log, 'list1'), ids(l1.slice(18, 25)), 'the new epoch\'s messages are piped from its first one');
  t.same(piped(log, 'list2'), ids(l2.slice(8, 12)), 'a shallow repository still takes updates');

  // 4: a purge rewrites epoch 2 (a force push); one more message after it.
  o.purge(l1[22]!);
  o.add('list1', [l1[25]!]);
  await notify(['/list1/git/2.git']);
  await pass();
  t.match(said, /history rewritten .* resuming after [0-9a-f]{12}, the newest message already piped/, 'the rewrite is noticed');
  t.same(piped(log, 'list1'), ids([...l1.slice(18, 25), l1[25]!]), 'after the rewrite only the new message is piped');
  t.same(piped(log, 'other'), [], 'no repository used the [DEFAULT] pipe');

  // Searchable: the mirror's public-inbox-httpd finds messages of every round.
  const httpd = await startHttpd(t, piConfig, dir);
  for (const [list, m] of [['list1', l1[0]!], ['list1', l1[19]!], ['list1', l1[23]!], ['list1', l1[25]!], ['list2', l2[11]!]] as const) {
    const res = await httpd.get(`/${list}/?q=${encodeURIComponent(`m:${m.id.slice(1, -1)}`)}&x=A`);
    t.ok(res.status === 200 && res.text.includes(m.id.slice(1, -1)), `${list}: ${m.id} is found by a search`);
  }
  const gone = await httpd.get(`/list1/?q=${encodeURIComponent(`m:${l1[22]!.id.slice(1, -1)}`)}&x=A`);
  t.notOk(gone.text.includes(`<title>${l1[22]!.raw.match(/Subject: (.*)/)![1]}</title>`), 'the purged message is not');
  for (const r of [repo('list1', 0), repo('list1', 1), repo('list1', 2), repo('list2', 0)]) t.ok(fsckOk(r).ok, `${path.relative(mirror, r)}: git fsck`);
});
