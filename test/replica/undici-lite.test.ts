import t from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { undiciLite } from '../../replica/source/undici-lite.js';

t.test('the two undici internals are where we expect them', async (t) => {
  const lite = await undiciLite();
  t.type(lite.Agent, 'function', 'undici/lib/dispatcher/agent.js exports Agent');
  t.type(lite.request, 'function', 'undici/lib/api/index.js exports request');
});

t.test('Agent + request() make a real conditional GET on 127.0.0.1', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['if-modified-since'] ?? '-'}`);
    if (req.headers['if-modified-since']) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { 'last-modified': 'Sat, 21 Nov 2026 10:00:00 GMT' }).end('{"a":1}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const { Agent, request } = await undiciLite();
  const agent = new Agent();
  t.teardown(() => agent.destroy());
  const first = await request.call(agent, { origin: `http://127.0.0.1:${port}`, path: '/m.js?x=1', method: 'GET' });
  t.equal(first.statusCode, 200);
  t.equal(await first.body.text(), '{"a":1}');
  const second = await request.call(agent, {
    origin: `http://127.0.0.1:${port}`,
    path: '/m.js',
    method: 'GET',
    headers: { 'if-modified-since': 'Sat, 21 Nov 2026 10:00:00 GMT' },
  });
  t.equal(second.statusCode, 304);
  await second.body.dump();
  t.same(seen, ['GET /m.js?x=1 -', 'GET /m.js Sat, 21 Nov 2026 10:00:00 GMT']);
});
