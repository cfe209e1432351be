/**
 * Knows which connections are serving a request. Shutting down closes the others at once (idle
 * keep-alives, and sockets a client opened but never used: Node's closeIdleConnections leaves those
 * alone, so a server.close() would wait for the client to give up), while running clones finish.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function trackConnections(server: Server): { closeUnused(): void } {
  const inFlight = new Map<Socket, number>();
  server.on('connection', (s: Socket) => {
    inFlight.set(s, 0);
    s.on('close', () => inFlight.delete(s));
  });
  server.on('request', (req, res) => {
    const s = req.socket;
    inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
    res.on('close', () => inFlight.has(s) && inFlight.set(s, Math.max(0, (inFlight.get(s) ?? 1) - 1)));
  });
  return {
    closeUnused() {
      for (const [s, n] of inFlight) if (n === 0) s.destroy();
    },
  };
}
