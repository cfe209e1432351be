import { createServer } from 'node:net';
import t from 'tap';
import { mailReport, parseMailhost, qualifyAddresses, reportMailer, reportSubject, type ReportSettings } from '../../../shared/fsck/report.js';
import { parseMessage, startSmtpSink } from '../../helpers/smtp-sink.js';

const settings = (over: Partial<ReportSettings>): ReportSettings => ({
  report_to: '',
  report_from: '',
  report_subject: '',
  report_mailhost: 'localhost',
  ...over,
});

/** A loopback port nobody listens on: taken from the kernel, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

t.test('the report arrives with its from, to, subject and body', async (t) => {
  const sink = await startSmtpSink(t);
  const fsck = settings({ report_to: 'ops@example.org, root@example.org', report_from: 'grok@mirror.example.org', report_mailhost: sink.mailhost });
  const body = 'repo /a.git: missing blob 1234\n.a line that starts with a dot\nlast line\n';
  t.equal(await mailReport(fsck, 'fsck found 1 broken repository', body), true);
  t.equal(sink.messages.length, 1);
  const m = sink.messages[0]!;
  t.equal(m.from, 'grok@mirror.example.org');
  t.same(m.to, ['ops@example.org', 'root@example.org']);
  const { headers, body: got } = parseMessage(m.data);
  t.equal(headers.get('from'), 'grok@mirror.example.org');
  t.equal(headers.get('to'), 'ops@example.org, root@example.org');
  t.equal(headers.get('subject'), 'fsck found 1 broken repository');
  t.equal(got.replace(/\r\n/g, '\n').trimEnd(), body.trimEnd(), 'body intact, dot-stuffing undone');
});

t.test('subjects: report_subject wins, then the caller, then a default naming host and config', async (t) => {
  const host = () => 'mirror1';
  t.equal(reportSubject(settings({ report_subject: 'grok alert' }), 'given', { hostname: host }), 'grok alert');
  t.equal(reportSubject(settings({}), 'given', { hostname: host }), 'given');
  t.equal(reportSubject(settings({}), '', { hostname: host }), 'grok-fsck errors on mirror1');

  const sink = await startSmtpSink(t);
  const mail = reportMailer({ file: '/etc/grokmirror/kernel.conf', fsck: settings({ report_to: 'ops@example.org', report_mailhost: sink.mailhost }) }, { hostname: host });
  await mail('', 'body\n');
  const m = sink.messages[0];
  t.ok(m, 'sent');
  t.equal(m?.from, 'root@localhost', "grokmirror's default sender, qualified");
  t.equal(parseMessage(m?.data ?? '').headers.get('subject'), 'grok-fsck errors on mirror1 (/etc/grokmirror/kernel.conf)');
});

t.test('bare names (grokmirror\'s "root") are qualified with @localhost, not dropped', async (t) => {
  t.equal(qualifyAddresses('root'), 'root@localhost');
  t.equal(qualifyAddresses('root, ops@example.org,mirror-admins'), 'root@localhost, ops@example.org,mirror-admins@localhost');
  t.equal(qualifyAddresses('"Doe, John" <jd@example.org>, Ops <ops@example.org>'), '"Doe, John" <jd@example.org>, Ops <ops@example.org>');
  const sink = await startSmtpSink(t);
  await mailReport(settings({ report_to: 'root', report_from: 'grokmirror', report_mailhost: sink.mailhost }), 's', 'b');
  t.equal(sink.messages[0]?.from, 'grokmirror@localhost');
  t.same(sink.messages[0]?.to, ['root@localhost']);
});

t.test('an empty report_to sends nothing', async (t) => {
  const sink = await startSmtpSink(t);
  const fsck = settings({ report_to: '  ', report_mailhost: sink.mailhost });
  t.equal(await mailReport(fsck, 'subject', 'body'), false);
  // without report_to, a bad mailhost does not matter either
  await reportMailer({ file: 'x.conf', fsck: { ...fsck, report_mailhost: 'host:notaport' } })('s', 'b');
  t.same(sink.messages, []);
});

t.test('an unreachable mail host is a typed error naming it', async (t) => {
  const port = await closedPort();
  const fsck = settings({ report_to: 'ops@example.org', report_mailhost: `127.0.0.1:${port}` });
  await t.rejects(mailReport(fsck, 's', 'b'), {
    code: 'GROK_ERR_MAIL',
    message: new RegExp(`ops@example\\.org via 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    data: { host: '127.0.0.1', port, to: 'ops@example.org' },
  });
  t.throws(() => reportMailer({ file: 'x.conf', fsck: { ...fsck, report_mailhost: 'mail:99999' } }), { code: 'GROK_ERR_CONFIG_VALUE', message: /report_mailhost: "mail:99999"/ });
});

t.test('report_mailhost forms', async (t) => {
  const cases: [string, { host: string; port: number } | null][] = [
    ['', { host: 'localhost', port: 25 }],
    ['localhost', { host: 'localhost', port: 25 }],
    ['mail.example.org:587', { host: 'mail.example.org', port: 587 }],
    ['127.0.0.1:2525', { host: '127.0.0.1', port: 2525 }],
    ['::1', { host: '::1', port: 25 }],
    ['[::1]', { host: '::1', port: 25 }],
    ['[2001:db8::1]:26', { host: '2001:db8::1', port: 26 }],
    ['mail:', null],
    ['mail:0', null],
    ['mail:smtp', null],
    [':25', null],
    ['[::1]:x', null],
  ];
  for (const [value, want] of cases) {
    if (want) t.same(parseMailhost(value), want, value);
    else t.throws(() => parseMailhost(value), { code: 'GROK_ERR_CONFIG_VALUE' }, value);
  }
});
