/**
 * grok-pi-piper beside grokmirror's own (python3 -m grokmirror.pi_piper from the peer): the same origin
 * of real public-inbox v2 inboxes (public-inbox's own writer and public-inbox-learn rm), served by
 * grok-origin, mirrored twice by grok-pull, one mirror's post_update_hook running ours and the other's
 * grokmirror's, the same pi-piper.conf (one list shallow). Both pipe the same messages in the same
 * order; then the peer's mirror switches to ours, which takes over its pi-piper.latest and pipes only
 * what is new.
 */
import { writeFileSync, mkdirSync, chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { runPull } from '../../replica/run.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { message, PiOrigin, PI_MISSING, piSkip, publicInboxInstalled, sinkIds, writeSink } from '../helpers/public-inbox.js';
import { replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';
import { PEER_DIR, peerMissing } from './peer.js';

const missing = peerMissing();

t.test('our grok-pi-piper and grokmirror\'s pipe the same messages from the same mirror runs', { skip: missing ?? piSkip }, async (t) => {
  if (!publicInboxInstalled) return void t.fail(PI_MISSING);
  const dir = tmpDir(t, 'grok-pi-peer-');
  const o = new PiOrigin(path.join(dir, 'origin'));
  const base = 1_700_000_000;
  const l1 = Array.from({ length: 14 }, (_, i) => message('list1', i + 1, base + i * 60));
  const l2 = Array.from({ length: 9 }, (_, i) => message('list2', i + 1, base + i * 60));
  o.init('list1');
  o.add('list1', l1.slice(0, 4));
  o.init('list2');
  o.add('list2', l2.slice(0, 3));
  const origin = await startTestOrigin(t, o.top, { extra: '\n[manifest]\nignore = */all.git\n' });
  const notify = (paths: string[]) => origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths } });

  const log = path.join(dir, 'piped.log');
  const sink = writeSink(dir, log);
  const peerPiper = path.join(dir, 'peer-pi-piper.sh');
  writeFileSync(peerPiper, `#!/bin/sh\nPYTHONPATH='${PEER_DIR}' PYTHONDONTWRITEBYTECODE=1 exec python3 -m grokmirror.pi_piper "$@"\n`);
  chmodSync(peerPiper, 0o755);
  const mirror = (who: 'ours' | 'peer', piper: string) => {
    const top = path.join(dir, who);
    mkdirSync(top, { recursive: true });
    const conf = path.join(dir, `${who}-pi-piper.conf`);
    writeFileSync(conf, `[DEFAULT]\npipe = ${sink} ${who}\nshallow = no\n\n[list2]\nshallow = yes\n`);
    return { top, config: replicaConfig(top, origin.url, `post_update_hook = ${piper} -c ${conf}\n`) };
  };
  const ours = mirror('ours', BIN['pi-piper']);
  const peer = mirror('peer', peerPiper);
  const pass = async (config: ReturnType<typeof mirror>['config']) => {
    const res = await runPull(config, { force: false, purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} });
    t.same(res.failed, [], 'no repository failed');
  };
  const both = async () => {
    await pass(ours.config);
    await pass(peer.config);
  };

  // 1: the first clone: neither pipes anything.
  await both();
  t.same(sinkIds(log, 'ours'), [], 'ours: nothing on the first clone');
  t.same(sinkIds(log, 'peer'), [], 'grokmirror: nothing either');
  // 2: new messages, and a deletion (public-inbox-learn rm), in both lists.
  o.add('list1', l1.slice(4, 8));
  o.remove(l1[1]!);
  o.add('list1', l1.slice(8, 10));
  o.add('list2', l2.slice(3, 6));
  await notify(['/list1/git/0.git', '/list2/git/0.git']);
  await both();
  const want1 = l1.slice(4, 10).map((m) => m.id);
  const want2 = l2.slice(3, 6).map((m) => m.id);
  const byList = (tag: string, list: string) => sinkIds(log, tag).filter((id) => id.startsWith(`<${list}-`));
  t.same(byList('ours', 'list1'), want1, 'ours: list1\'s new messages in order, the deletion not piped');
  t.same(byList('peer', 'list1'), want1, 'grokmirror: the same');
  t.same(byList('ours', 'list2'), want2);
  t.same(byList('peer', 'list2'), want2);
  for (const m of [ours, peer]) {
    const e = path.join(m.top, 'list2/git/0.git');
    t.equal(gitDir(e, ['rev-list', '--count', 'refs/heads/master']), '1', `${path.basename(m.top)}: shallow list2 pruned to its last message`);
    t.equal(readFileSync(path.join(e, 'pi-piper.latest'), 'utf8').trim(), gitDir(e, ['rev-parse', 'refs/heads/master']), `${path.basename(m.top)}: pi-piper.latest at the tip`);
  }

  // 3: the peer's mirror switches to our piper, which continues from grokmirror's pi-piper.latest.
  const switched = { top: peer.top, config: replicaConfig(peer.top, origin.url, `post_update_hook = ${BIN['pi-piper']} -c ${path.join(dir, 'peer-pi-piper.conf')}\n`) };
  o.add('list1', l1.slice(10, 14));
  o.add('list2', l2.slice(6, 9));
  await notify(['/list1/git/0.git', '/list2/git/0.git']);
  await pass(ours.config);
  await pass(switched.config);
  t.same(byList('ours', 'list1'), l1.slice(4, 14).map((m) => m.id), 'ours: the newest messages too');
  t.same(byList('peer', 'list1'), l1.slice(4, 14).map((m) => m.id), 'the switched mirror: only the new ones, none twice');
  t.same(byList('peer', 'list2'), l2.slice(3, 9).map((m) => m.id), 'and on the shallow list');
  for (const m of [ours, peer]) for (const l of ['list1', 'list2']) t.ok(fsckOk(path.join(m.top, l, 'git/0.git')).ok, `${path.basename(m.top)}/${l}: git fsck`);
});
