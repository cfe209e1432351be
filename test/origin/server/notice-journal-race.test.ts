/**
 * grok-origin's background sync of a written manifest and a stand-alone writer's journal recovery
 * (grok-manifest, grok-fsck) run in different processes, the sync outside the manifest lock: when the
 * recovery links the same file as the durable copy first, the sync's rename of its own second name
 * onto `.durable` is a rename between two names of one file, which does nothing; its name must not be
 * left behind (the concurrency suite found two such temp files beside the manifest).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { EventLog } from '../../../origin/server/event-log.js';
import { ManifestStore } from '../../../origin/server/manifest-store.js';
import { silentLogger } from '../../../shared/log.js';
import { durablePathFor, rebaseJournal } from '../../../shared/manifest/journal.js';
import { readManifestFile } from '../../../shared/manifest/io.js';
import { TEMP_FILE_RE } from '../../helpers/convergence.js';
import { makeRepo } from '../../helpers/git.js';
import { runM } from '../../helpers/manifest.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('a recovery that made the written file durable before the sync did leaves no temp file', async (t) => {
  const top = path.join(tmpDir(t), 'top');
  makeRepo(path.join(top, 'r0.git'), { date: 1_600_000_000 });
  const file = path.join(top, 'manifest.js.gz');
  await runM(top, file);
  let raced = 0;
  const store = await ManifestStore.open({ file, pretty: false, writeDelayMs: 0, maxBytes: 1 << 26 }, new EventLog(100), {
    log: silentLogger(),
    now: Date.now,
    // What a stand-alone writer's recovery does when it comes in between: the file at the path
    // (the one this sync is about to make durable) becomes `.durable`.
    beforeStep: async (step) => {
      if (step === 'durable' && raced++ === 0) await rebaseJournal(file);
    },
  });
  const base = store.get('/r0.git')!;
  await store.apply([{ key: '/r0.git', entry: { ...base, description: 'one' } }]);
  await store.apply([{ key: '/r0.git', entry: { ...base, description: 'two' } }]);
  await store.flush();
  t.ok(raced >= 1, 'a background sync reached its durable step');
  t.same(readdirSync(top).filter((n) => TEMP_FILE_RE.test(n)), [], 'no temp file left beside the manifest');
  t.equal(statSync(durablePathFor(file)).ino, statSync(file).ino, 'the durable copy is the manifest');
  t.equal((await readManifestFile(file))!.entries.get('/r0.git')?.description, 'two');
});
