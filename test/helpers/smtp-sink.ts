import { createServer, type Socket } from 'node:net';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface SunkMessage {
  readonly from: string;
  readonly to: readonly string[];
  /** The message as sent (headers and body), dot-stuffing undone, CRLF line ends kept. */
  readonly data: string;
}

export interface SmtpSink {
  readonly port: number;
  /** `127.0.0.1:<port>`, for `[fsck] report_mailhost`. */
  readonly mailhost: string;
  readonly messages: SunkMessage[];
}

/**
 * A loopback SMTP server that accepts every message and keeps it: just enough of RFC 5321 for a client
 * that offers no STARTTLS and no AUTH (neither is advertised). Replies come after the client's
 * command, so a message is in `messages` before the client's send resolves.
 */
export async function startSmtpSink(t: Teardown): Promise<SmtpSink> {
  const messages: SunkMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setEncoding('utf8');
    const reply = (line: string) => sock.write(`${line}\r\n`);
    let buf = '';
    let from = '';
    let to: string[] = [];
    let data: string[] | null = null;
    const onLine = (line: string) => {
      if (data) {
        if (line === '.') {
          messages.push({ from, to, data: data.join('\r\n') });
          data = null;
          from = '';
          to = [];
          reply('250 2.0.0 queued');
        } else {
          data.push(line.startsWith('.') ? line.slice(1) : line);
        }
        return;
      }
      const verb = line.slice(0, 4).toUpperCase();
      const arg = /<([^>]*)>/.exec(line)?.[1] ?? '';
      if (verb === 'EHLO') {
        sock.write('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
      } else if (verb === 'HELO') reply('250 sink.test');
      else if (verb === 'MAIL') {
        from = arg;
        reply('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        to.push(arg);
        reply('250 2.1.5 ok');
      } else if (verb === 'DATA') {
        data = [];
        reply('354 end with <CRLF>.<CRLF>');
      } else if (verb === 'RSET') {
        from = '';
        to = [];
        reply('250 2.0.0 ok');
      } else if (verb === 'NOOP') reply('250 2.0.0 ok');
      else if (verb === 'QUIT') {
        reply('221 2.0.0 bye');
        sock.end();
      } else reply('502 5.5.2 not implemented');
    };
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let at: number;
      while ((at = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, at);
        buf = buf.slice(at + 2);
        onLine(line);
      }
    });
    reply('220 sink.test ESMTP');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('smtp sink: no TCP address');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: address.port, mailhost: `127.0.0.1:${address.port}`, messages };
}

/** Splits a sunk message into its (unfolded, lower-cased name) headers and body. */
export function parseMessage(data: string): { headers: Map<string, string>; body: string } {
  const at = data.indexOf('\r\n\r\n');
  const head = at >= 0 ? data.slice(0, at) : data;
  const body = at >= 0 ? data.slice(at + 4) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}
