/**
 * A grok-origin manifest store in a process of its own, stopped for good at one step of its write
 * path so that a test can kill -9 it there: it writes change "one" (answered, and its background
 * sync finished), then change "two" (description "two" on /r0.git, /r1.git removed) and holds at
 * `step` of that write. Prints `ACKED one`, `ACKED two` (when the answer came) and `AT <step>`.
 * Argument: JSON `{ "file": ..., "step": ... }`.
 */
import { EventLog } from '../../origin/server/event-log.js';
import { ManifestStore } from '../../origin/server/manifest-store.js';
import { silentLogger } from '../../shared/log.js';

const { file, step } = JSON.parse(process.argv[2]!) as { file: string; step: string };
let armed = false;
const forever = new Promise<void>(() => {});
setInterval(() => {}, 60_000);
const store = await ManifestStore.open({ file, pretty: false, writeDelayMs: 0, maxBytes: 1 << 26 }, new EventLog(100), {
  log: silentLogger(),
  now: Date.now,
  beforeStep: (s) => (armed && s === step ? (process.stdout.write(`AT ${s}\n`), forever) : Promise.resolve()),
});
const base = store.get('/r0.git')!;
await store.apply([{ key: '/r0.git', entry: { ...base, description: 'one' } }]);
await store.flush();
process.stdout.write('ACKED one\n');
armed = true;
await store.apply([
  { key: '/r0.git', entry: { ...base, description: 'two' } },
  { key: '/r1.git', entry: null },
]);
process.stdout.write('ACKED two\n');
