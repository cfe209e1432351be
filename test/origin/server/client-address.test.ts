import t from 'tap';
import { clientAddress, clientKey } from '../../../origin/server/client-address.js';
import { Semaphore } from '../../../origin/server/semaphore.js';

t.test('clients are counted by IPv4 address, IPv6 /64, or a local proxy\'s X-Forwarded-For', async (t) => {
  const rows: [string | undefined, string | string[] | undefined, string][] = [
    ['203.0.113.5', undefined, '203.0.113.5'],
    ['::ffff:203.0.113.5', undefined, '203.0.113.5'],
    ['2001:db8:1:2:3:4:5:6', undefined, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', undefined, '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', undefined, '2001:db8:1:2::/64'],
    ['2001:db8::1', undefined, '2001:db8:0:0::/64'],
    ['::1', undefined, '0:0:0:0::/64'],
    // a remote peer's X-Forwarded-For is its own claim: ignored
    ['203.0.113.5', '198.51.100.1', '203.0.113.5'],
    // a local proxy: the last entry is the one it added
    ['127.0.0.1', '10.0.0.1, 198.51.100.7', '198.51.100.7'],
    ['::1', '2001:db8:5::1', '2001:db8:5:0::/64'],
    ['127.0.0.1', ['10.0.0.1', '198.51.100.8'], '198.51.100.8'],
    ['127.0.0.1', 'not-an-address', '127.0.0.1'],
    ['127.0.0.1', '', '127.0.0.1'],
    [undefined, undefined, 'unknown'],
  ];
  for (const [peer, xff, want] of rows) t.equal(clientAddress(peer, xff), want, `${peer} / ${JSON.stringify(xff)}`);
  t.equal(clientKey('not an address'), 'not an address');
});

t.test('a client holds at most its share of the slots; the others still get theirs', async (t) => {
  const s = new Semaphore(4, 2, 1);
  const a1 = await s.enter('a');
  const a2 = await s.enter('a');
  t.ok('release' in a1 && 'release' in a2);
  let a3Granted = false;
  const a3 = s.enter('a').then((r) => ((a3Granted = 'release' in r), r));
  t.same(await s.enter('a'), { refused: 'client-waiting' }, 'one waiting is the bound here');
  const b1 = await s.enter('b');
  t.ok('release' in b1, 'another client is not held up by the waiting one');
  t.equal(s.inUse, 3);
  t.equal(s.queued, 1);
  if ('release' in a1) a1.release();
  await a3;
  t.ok(a3Granted, 'the waiting one gets the slot its client gave back');
  const ac = new AbortController();
  const a4 = s.enter('a', ac.signal);
  ac.abort();
  t.same(await a4, { refused: 'aborted' }, 'a waiter whose client went away leaves the line');
  t.equal(s.queued, 0);
  const plain = await new Semaphore(1).acquire();
  t.type(plain, 'function', 'acquire() without keys, as grok-dumb-pull uses it');
});
