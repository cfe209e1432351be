import t from 'tap';
import { escapeControls, redactUrls, safeText } from '../../shared/safe-text.js';

t.test('redactUrls: the userinfo of every URL in a text, whatever its form', async (t) => {
  const table: [string, string][] = [
    ['https://u:secret@h/x.git', 'https://***@h/x.git'],
    ['https://TOKEN@github.com/a/b.git', 'https://***@github.com/a/b.git'],
    ['https://ghp_TOKEN:x-oauth-basic@github.com/a', 'https://***@github.com/a'],
    ['http://u:p%40ss@127.0.0.1:8080/manifest.js.gz', 'http://***@127.0.0.1:8080/manifest.js.gz'],
    ['http://u:p@ss@host/x', 'http://***@host/x'],
    ['https://u:pw@host', 'https://***@host'],
    ['https://u:pw@host?q=1', 'https://***@host?q=1'],
    ["fatal: unable to access 'https://u:pw@h/x.git/': 403", "fatal: unable to access 'https://***@h/x.git/': 403"],
    ['git clone -- http://a:1@h/x.git /t/x.git and https://b:2@k/y', 'git clone -- http://***@h/x.git /t/x.git and https://***@k/y'],
    ['{"msg":"https://u:pw@h/x","repo":"/a@b"}', '{"msg":"https://***@h/x","repo":"/a@b"}'],
    ['{"url":"https://h","x":"a@b"}', '{"url":"https://h","x":"a@b"}'],
    ['ssh://git@h/x.git', 'ssh://git@h/x.git'],
    ['ssh://git:pw@h/x.git', 'ssh://***@h/x.git'],
    ['git+ssh://user@h/x', 'git+ssh://user@h/x'],
    ['ftp://u:p@h/f', 'ftp://***@h/f'],
    ['HTTPS://U:P@H/', 'HTTPS://***@H/'],
    ['git@github.com:a/b.git', 'git@github.com:a/b.git'],
    ['mail me: a@b.org', 'mail me: a@b.org'],
    ['https://h/path/with@sign', 'https://h/path/with@sign'],
    ['no urls here', 'no urls here'],
  ];
  for (const [input, want] of table) t.equal(redactUrls(input), want, input);
  t.equal(redactUrls(redactUrls('https://u:p@h/')), 'https://***@h/', 'idempotent');
});

t.test('escapeControls: nothing a terminal obeys, one line', async (t) => {
  const table: [string, string][] = [
    ['plain text, tabs\tstay', 'plain text, tabs\tstay'],
    ['x \x1b[31my\x1b[0m', 'x \\x1b[31my\\x1b[0m'],
    ['title \x1b]0;pwned\x07', 'title \\x1b]0;pwned\\x07'],
    ['two\nlines\r\n', 'two\\nlines\\r\\n'],
    ['nul\0del\x7f', 'nul\\x00del\\x7f'],
    ['c1 csi \u009b2J', 'c1 csi \\x9b2J'],
    ['bidi \u202eevil\u2066', 'bidi \\u202eevil\\u2066'],
    ['line sep \u2028 para \u2029', 'line sep \\u2028 para \\u2029'],
    ['unicode é ✓ 漢字 stays', 'unicode é ✓ 漢字 stays'],
  ];
  for (const [i, [input, want]] of table.entries()) t.equal(escapeControls(input), want, `row ${i + 1}: ${want}`);
  t.equal(escapeControls(escapeControls('a\x1bb')), 'a\\x1bb', 'idempotent');
});

t.test('safeText: redacted, escaped, bounded', async (t) => {
  t.equal(safeText('https://u:p@h/\x1b[2J'), 'https://***@h/\\x1b[2J');
  t.equal(safeText('x'.repeat(10), 4), 'xxxx… (10 characters)');
  t.equal(safeText('short', 10), 'short');
});
