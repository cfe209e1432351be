import t from 'tap';
import { createProgress, formatProgress } from '../../shared/progress.js';

t.test('the progress line', async (t) => {
  t.equal(formatProgress('grok-fsck', 0, 1000, 0), 'grok-fsck: 0/1000 repositories, 0.0/s');
  t.equal(formatProgress('grok-fsck', 120, 1000, 4000), 'grok-fsck: 120/1000 repositories, 30/s, ETA 30s');
  t.equal(formatProgress('grok-pull', 5, 1000, 1000), 'grok-pull: 5/1000 repositories, 5.0/s, ETA 3m19s');
  t.equal(formatProgress('grok-pull', 1, 100000, 10000), 'grok-pull: 1/100000 repositories, 0.1/s, ETA 277h46m');
  t.equal(formatProgress('x', 10, 10, 2000), 'x: 10/10 repositories, 5.0/s', 'no ETA when done');
});

t.test('drawn in place on a terminal, throttled; silent elsewhere', async (t) => {
  let clock = 0;
  const written: string[] = [];
  const tty = { isTTY: true, write: (s: string) => written.push(s) };
  const p = createProgress({ label: 'grok-fsck', total: 3, out: tty, now: () => clock, minIntervalMs: 100 });
  p.tick();
  clock = 50;
  p.tick(); // within 100 ms of the last draw: skipped
  clock = 60;
  p.tick(); // the last one is always drawn
  clock = 2000;
  p.end();
  p.end(); // once only
  t.same(written, [
    '\r\x1b[Kgrok-fsck: 1/3 repositories, 0.0/s',
    '\r\x1b[Kgrok-fsck: 3/3 repositories, 50/s',
    '\r\x1b[Kgrok-fsck: 3/3 repositories, 1.5/s, in 2s\n',
  ], 'the end leaves a summary line, not an erased one');
  const piped: string[] = [];
  const q = createProgress({ label: 'x', total: 3, out: { isTTY: false, write: (s: string) => piped.push(s) } });
  q.tick();
  q.end();
  t.same(piped, [], 'not a terminal: nothing');
});

t.test('-v: whole lines on any output, at most every interval, and the summary', async (t) => {
  let clock = 0;
  const piped: string[] = [];
  const p = createProgress({ label: 'grok-pull', total: 4, out: { isTTY: false, write: (s: string) => piped.push(s) }, now: () => clock, lines: true, minIntervalMs: 1000 });
  clock = 999;
  p.tick(); // one interval has not passed since the start
  clock = 1000;
  p.tick(); // exactly one has
  clock = 1500;
  p.tick();
  p.tick();
  clock = 4000;
  p.end();
  t.same(piped, ['grok-pull: 2/4 repositories, 2.0/s, ETA 1s\n', 'grok-pull: 4/4 repositories, 1.0/s, in 4s\n']);
  const none: string[] = [];
  const q = createProgress({ label: 'x', total: 0, out: { isTTY: true, write: (s: string) => none.push(s) }, lines: true });
  q.tick();
  q.end();
  t.same(none, [], 'nothing to do: no line');
});
