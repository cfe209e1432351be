/**
 * Text from outside (an origin's error replies, git's stderr relaying a remote, URLs from a config or
 * a URL list, manifest values) made safe to print or store: credentials in URLs replaced, control
 * characters escaped. The one place for both, used by the git error type, the loggers, the CLI's
 * last line, the status page and grok-dumb-pull's state file.
 *
 * Credentials: the userinfo of any `scheme://userinfo@host` in the text, wherever it appears (git
 * quotes URLs inside its own messages, and a command line carries them as arguments). All of it is
 * replaced, not only a password: `https://TOKEN@host/` and `https://TOKEN:x-oauth-basic@host/` carry
 * the secret as the user name. Only an ssh user name without a password is kept (`ssh://git@host/`):
 * ssh cannot take a password from a URL, so that part is a login name, not a secret.
 *
 * Control characters: a terminal obeys escape sequences (colours, titles, cursor moves, and in some
 * terminals far worse) in whatever reaches stderr, and a newline in a message forges a log line. C0
 * (but TAB), DEL, C1 (U+0080-U+009F: U+009B is a CSI on its own), the Unicode line separators and
 * the bidirectional overrides are written as escapes (`\n`, `\x1b`, `\u202e`).
 */

export const REDACTED = '***';

// scheme "://" then the authority up to the last "@" before the host. The class stops at what ends
// an authority (/ ? #), at whitespace, and at `"` and `\`, so that in a JSON line the match never
// runs from one string into the next.
const USERINFO_RE = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/?#"\\]*)@/gi;
const SSH_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git']);

/** `text` with the credentials of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USERINFO_RE, (whole, scheme: string, userinfo: string) => {
    if (SSH_SCHEMES.has(scheme.toLowerCase()) && !userinfo.includes(':')) return whole;
    return `${scheme}://${REDACTED}@`;
  });
}

const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** `text` with control characters (TAB aside) written as escapes: one line, nothing a terminal obeys. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_RE, escapeOne);
}

/**
 * Outside text as it may be printed or stored: credentials redacted, control characters escaped,
 * and at most `max` characters (then "…" and how many there were).
 */
export function safeText(text: string, max = Infinity): string {
  const s = escapeControls(redactUrls(text));
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}
