/**
 * The report of grok-fsck's critical findings, by mail: `[fsck] report_to` (empty: no mail),
 * `report_from`, `report_subject`, `report_mailhost` (`host` or `host:port`, default localhost:25).
 * grokmirror hands the report to smtplib on the mail host; we use nodemailer's SMTP transport, which
 * does the header encoding, dot-stuffing and line lengths that a hand-written client gets wrong.
 */
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { createTransport } from 'nodemailer';
import type { GrokConfig } from '../config/config.js';
import type { FsckConfig } from '../config/schema.js';
import { describeError, GrokError } from '../errors.js';

export type ReportSettings = Pick<FsckConfig, 'report_to' | 'report_from' | 'report_subject' | 'report_mailhost'>;

export interface MailDeps {
  /** For the default subject; os.hostname() (grokmirror's platform.node()) unless given. */
  readonly hostname?: () => string;
  /** Named in the default subject, as grokmirror does: one host often runs several mirrors. */
  readonly configFile?: string;
}

export interface Mailhost {
  readonly host: string;
  readonly port: number;
}

/** grokmirror's default sender, qualified as below. */
const DEFAULT_FROM = 'root';
const SMTP_PORT = 25;
// grok-fsck waits for the mail at the end of its run (often a systemd oneshot); nodemailer's defaults
// (two minutes to connect, ten idle) would hold the run and its lock far longer than a report is worth.
const CONNECT_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 60_000;

/** `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address is all host (its colons are not a port). */
export function parseMailhost(value: string): Mailhost {
  const s = value.trim() || 'localhost';
  const bad = () => new GrokError('GROK_ERR_CONFIG_VALUE', `[fsck] report_mailhost: ${JSON.stringify(value)} is not host or host:port`, { value });
  let host = s;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2];
  } else if (isIP(s) !== 6) {
    const at = s.lastIndexOf(':');
    if (at >= 0) {
      host = s.slice(0, at);
      port = s.slice(at + 1);
    }
  }
  if (!host || /[\s/]/.test(host)) throw bad();
  if (port === undefined) return { host, port: SMTP_PORT };
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) throw bad();
  return { host, port: n };
}

/**
 * grokmirror hands bare local parts (`root`, its defaults) to smtplib, which sends them as they are and the
 * MTA qualifies them. nodemailer silently drops an address without a domain (from the envelope and the
 * headers), so we qualify bare names with `@localhost`: the local MTA (the default mailhost) delivers
 * that to its own local user, which is where grokmirror's `root` went, and a remote MTA that took bare
 * names treats localhost as its own too. Entries with a domain or a display name are left alone.
 */
export function qualifyAddresses(list: string): string {
  return list.replace(/(^|,)(\s*)([A-Za-z0-9._+-]+)(\s*)(?=,|$)/g, '$1$2$3@localhost$4');
}

/** The admin's `report_subject` wins (mail filters match on it), then the caller's, then a default. */
export function reportSubject(fsck: ReportSettings, given: string, deps: MailDeps = {}): string {
  if (fsck.report_subject.trim()) return fsck.report_subject.trim();
  if (given.trim()) return given.trim();
  const host = (deps.hostname ?? osHostname)();
  return deps.configFile ? `grok-fsck errors on ${host} (${deps.configFile})` : `grok-fsck errors on ${host}`;
}

/**
 * Mails the report; false when `report_to` is empty (nothing sent). Failures are GROK_ERR_MAIL naming
 * the mail host, so the run can log them and carry on: the report is already in the log.
 */
export async function mailReport(fsck: ReportSettings, subject: string, body: string, deps: MailDeps = {}): Promise<boolean> {
  const to = fsck.report_to.trim();
  if (!to) return false;
  const { host, port } = parseMailhost(fsck.report_mailhost);
  const transport = createTransport({
    host,
    port,
    secure: false,
    // STARTTLS when the server offers it, without checking its certificate: grokmirror sends in plain
    // text, and the usual local MTA offers a self-signed (snakeoil) certificate, so verifying would turn
    // a working setup into a failure. Unauthenticated encryption is still better than none (RFC 7435).
    tls: { rejectUnauthorized: false },
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  try {
    const from = qualifyAddresses(fsck.report_from.trim() || DEFAULT_FROM);
    await transport.sendMail({ from, to: qualifyAddresses(to), subject: reportSubject(fsck, subject, deps), text: body });
  } catch (err) {
    const where = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    throw new GrokError('GROK_ERR_MAIL', `could not mail the fsck report to ${to} via ${where}: ${describeError(err)}`, { host, port, to }, { cause: err });
  } finally {
    transport.close();
  }
  return true;
}

/**
 * The `mail` dependency of runFsck, from the config. A bad `report_mailhost` fails here, when grok-fsck
 * starts, rather than after hours of checking when the report is due.
 */
export function reportMailer(config: { readonly fsck: ReportSettings; readonly file: GrokConfig['file'] }, deps: MailDeps = {}): (subject: string, body: string) => Promise<void> {
  if (config.fsck.report_to.trim()) parseMailhost(config.fsck.report_mailhost);
  const mailDeps = { configFile: config.file, ...deps };
  return async (subject, body) => {
    await mailReport(config.fsck, subject, body, mailDeps);
  };
}
