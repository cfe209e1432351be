/**
 * The status page: one self-contained HTML document (inline CSS, no scripts, no external assets)
 * rendered from a snapshot, refreshing itself every 10 seconds; laid out to be read on a phone too.
 */
import { splitGitMessage } from '../../shared/git/git-error.js';
import { Html, html } from './html.js';
import type { Activity, StatusSnapshot } from './tracker.js';

/** Failing repositories shown in the table; the heading gives the full count. */
export const FAILING_SHOWN = 100;

/** Short enough for a card on a phone: "42s", "3m 05s", "5h 02m", "2d 04h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${two(Math.floor((s % 86400) / 3600))}h`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** 1234567 -> "1,234,567", the same whatever the locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const iso = (at: number) => new Date(at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function ago(at: number, now: number, suffix = ' ago'): Html {
  return html`<time datetime="${iso(at)}" title="${iso(at)}">${formatDuration(now - at)}${suffix}</time>`;
}

type Tone = 'ok' | 'warn' | 'bad' | 'idle';

const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** Failing repositories are behind from their first failure: lag leaves them out, the page must not. */
function failingNote(s: StatusSnapshot): string | null {
  if (s.failing_repos === 0) return null;
  const since = s.failing_since === null ? '' : `, behind for ${formatDuration(s.now - s.failing_since)}`;
  return `${plural(s.failing_repos, 'repository', 'repositories')} failing${since}`;
}

function headline(s: StatusSnapshot): { tone: Tone; text: string } {
  const failing = failingNote(s);
  const bad = (text: string) => ({ tone: 'bad' as const, text: failing ? `${text}; ${failing}` : text });
  if (s.last_manifest_check?.status === 'failed') return bad('Cannot read the origin’s manifest');
  if (s.last_pass?.status === 'failed') return bad(`Last ${s.last_pass.kind === 'full' ? 'full pass' : 'notice pass'} failed`);
  const behind =
    s.behind_since !== null
      ? `${formatDuration(s.lag_seconds)} behind the origin`
      : s.contact_overdue
        ? `No contact with the origin for ${formatDuration(s.lag_seconds)}`
        : s.feed === 'disconnected' && s.last_manifest_check
          ? `Change feed not connected; last contact ${formatDuration(s.lag_seconds)} ago`
          : null;
  if (failing) return { tone: 'bad', text: behind ? `${behind}; ${failing}` : failing[0]!.toUpperCase() + failing.slice(1) };
  if (behind) return { tone: 'warn', text: behind };
  if (!s.last_manifest_check) return { tone: 'idle', text: s.working ? 'First pass' : 'Starting' };
  return { tone: 'ok', text: 'In sync' };
}

/** Why the manifest check or the last pass failed: the headline says that it did, this says why. */
function alerts(s: StatusSnapshot): Html[] {
  const out: Html[] = [];
  const check = s.last_manifest_check;
  if (check?.status === 'failed') out.push(html`<p class="alert">Reading the origin’s manifest failed ${ago(check.at, s.now)}: ${check.error ?? 'unknown error'}</p>`);
  const p = s.last_pass;
  if (p?.status === 'failed' && p.error !== check?.error) {
    out.push(html`<p class="alert">The last ${p.kind === 'full' ? 'full pass' : 'notice pass'} failed ${ago(p.at, s.now)}: ${p.error ?? 'unknown error'}</p>`);
  }
  return out;
}

/** What the work loop is doing right now, if anything. */
const FEED: Record<StatusSnapshot['feed'], string> = { connected: 'connected', disconnected: 'not connected', none: 'not used (polling every refresh)' };

/** Who this replica is and what it follows: instance, host, version, origin, change feed. */
function about(s: StatusSnapshot): Html {
  const a = s.about;
  const items: [string, Html | string][] = [
    ...(a
      ? ([
          ['Instance', html`<span title="${a.config}">${a.instance}</span>`],
          ['Host', a.host],
          ['Version', `grokmirror-ts ${a.version}`],
          ['Origin', html`<span class="key">${a.origin}</span>`],
        ] as [string, Html | string][])
      : []),
    ['Change feed', FEED[s.feed]],
    ['Next full pass', s.fsck ? 'when grok-fsck ends' : s.next_full_pass_at === null ? 'not scheduled' : html`<time datetime="${iso(s.next_full_pass_at)}">in ${formatDuration(s.next_full_pass_at - s.now)}</time>`],
    ...(s.last_fsck ? ([['Last grok-fsck', lastFsck(s, s.last_fsck)]] as [string, Html][]) : []),
  ];
  return html`<dl class="about" id="about">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

const FSCK_OUTCOME: Record<NonNullable<StatusSnapshot['last_fsck']>['status'], string> = { done: 'done', busy: 'skipped (another grok-fsck was running)', failed: 'failed' };

function lastFsck(s: StatusSnapshot, f: NonNullable<StatusSnapshot['last_fsck']>): Html {
  const errors = f.status === 'done' ? `, ${plural(f.errors, 'repository', 'repositories')} with errors` : '';
  return html`<span id="last-fsck">${ago(f.at, s.now)}: ${FSCK_OUTCOME[f.status]}${errors}, took ${formatDuration(f.seconds)}</span>`;
}

function working(s: StatusSnapshot): Html | null {
  // Passes wait for grok-fsck; the manifest is still checked (the "Last check" card).
  if (s.fsck) {
    const since = iso(s.fsck.since);
    return html`<span class="state warn" id="working">grok-fsck running since <time datetime="${since}" title="${since}">${since.slice(0, 10)} ${since.slice(11, 16)} UTC</time> (${formatDuration(s.now - s.fsck.since)}); passes wait for it</span>`;
  }
  const w = s.working;
  if (!w) return null;
  const of = w.total === null ? '' : `, ${formatCount(w.done)} of ${formatCount(w.total)} done`;
  return html`<span class="state warn" id="working">Working: ${w.kind === 'full' ? 'full pass' : 'notice pass'}${of} (${formatDuration(s.now - w.since)})</span>`;
}

/** What the lag is made of: a change not applied yet, or the time since the origin last answered. */
function lagNote(s: StatusSnapshot): string | null {
  if (s.lag_seconds === 0) return null;
  if (s.behind_since !== null && s.lag_seconds === s.now - s.behind_since) return 'oldest change not applied';
  const feed = s.feed === 'connected' ? '' : s.feed === 'disconnected' ? '; change feed not connected' : '';
  return `since the origin last answered${feed}`;
}

function card(id: string, label: string, value: Html | string, note: Html | string | null, tone: Tone | null = null): Html {
  return html`<div class="card${tone ? ` ${tone}` : ''}" id="${id}"><div class="label">${label}</div><div class="value">${value}</div>${note ? html`<div class="note">${note}</div>` : null}</div>`;
}

/** Lag as the metric counts it, unless failing repositories are further behind: then those. */
function lagCard(s: StatusSnapshot): Html {
  const failingFor = s.failing_since === null ? 0 : Math.max(0, s.now - s.failing_since);
  if (s.failing_repos > 0 && failingFor >= s.lag_seconds) {
    return card('lag', 'Lag', formatDuration(failingFor), `${plural(s.failing_repos, 'failing repository', 'failing repositories')} not updated since`, 'bad');
  }
  return card('lag', 'Lag', s.lag_seconds > 0 ? formatDuration(s.lag_seconds) : 'in sync', lagNote(s), s.behind_since !== null || s.contact_overdue ? 'warn' : null);
}

function cards(s: StatusSnapshot): Html {
  const check = s.last_manifest_check;
  return html`<section class="cards">
${card('repos', 'Repositories', s.repos === null ? '–' : formatCount(s.repos), null)}
${lagCard(s)}
${card('failing-count', 'Failing', formatCount(s.failing_repos), null, s.failing_repos > 0 ? 'bad' : null)}
${card('queue', 'Queue', formatCount(s.queue), 'notices waiting')}
${card('manifest-check', 'Last check', check ? ago(check.at, s.now, '') : 'not yet', check ? `ago: manifest ${check.status}` : 'of the manifest', check?.status === 'failed' ? 'bad' : null)}
${card('full-pass', 'Last full pass', s.last_full_pass_at === null ? 'not yet' : ago(s.last_full_pass_at, s.now, ''), s.last_full_pass_at === null ? null : 'ago')}
${card('fetched', 'Fetched', formatBytes(s.bytes_fetched), 'since start')}
</section>`;
}

/** An error as git's own words first, then the command that said them, muted (and on hover). */
function errorText(text: string): Html {
  const { said, command } = splitGitMessage(text);
  if (!command) return html`${said}`;
  return html`<span class="said" title="${command}">${said}</span><div class="command">${command}</div>`;
}

function nextRetry(s: StatusSnapshot): Html | string {
  if (s.next_full_pass_at === null) return 'next full pass';
  return html`<time datetime="${iso(s.next_full_pass_at)}" title="${iso(s.next_full_pass_at)}: the next full pass">in ${formatDuration(s.next_full_pass_at - s.now)}</time>`;
}

function failingTable(s: StatusSnapshot): Html {
  if (s.failing_repos === 0) return html`<p class="empty">No repository is failing.</p>`;
  const retry = nextRetry(s);
  const rows = s.failing.slice(0, FAILING_SHOWN).map(
    (f) =>
      html`<tr><td class="key">${f.key}</td><td class="error">${errorText(f.error)}</td><td>${ago(f.since, s.now)}</td><td class="opt">${ago(f.at, s.now)}</td><td class="opt">${retry}</td><td class="opt num">${formatCount(f.failures)}</td></tr>`,
  );
  const more = s.failing_repos > FAILING_SHOWN ? html`<p class="empty">and ${formatCount(s.failing_repos - FAILING_SHOWN)} more (see status.json)</p>` : null;
  return html`<div class="scroll"><table class="failing" id="failing"><thead><tr><th>Repository</th><th>Error</th><th>Failing since</th><th class="opt">Last try</th><th class="opt">Next retry</th><th class="opt num">Failures</th></tr></thead><tbody>${rows}</tbody></table></div>${more}`;
}

function activityRow(a: Activity, now: number): Html {
  const tone = a.ok ? (a.what === 'deferred' ? 'warn' : 'ok') : a.what === 'deferred' ? 'warn' : 'bad';
  const bytes = a.bytes !== undefined ? formatBytes(a.bytes) : '';
  const secs = a.seconds !== undefined ? (a.seconds < 60 ? `${a.seconds.toFixed(a.seconds < 10 ? 2 : 0)}s` : formatDuration(a.seconds)) : '';
  return html`<tr><td>${ago(a.at, now)}</td><td><span class="badge ${tone}">${a.what}</span></td><td class="key">${a.key ?? ''}${a.detail ? html`<div class="detail">${errorText(a.detail)}</div>` : null}</td><td class="opt num">${secs}</td><td class="opt num">${bytes}</td></tr>`;
}

function activityTable(s: StatusSnapshot): Html {
  if (s.activity.length === 0) return html`<p class="empty">Nothing yet.</p>`;
  return html`<div class="scroll"><table class="activity" id="activity"><thead><tr><th>When</th><th>What</th><th>Repository / details</th><th class="opt num">Took</th><th class="opt num">Fetched</th></tr></thead><tbody>${s.activity.map((a) => activityRow(a, s.now))}</tbody></table></div>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d2330;--muted:#5f6b7a;--card:#fff;--line:#dfe3e8;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--okbg:#dafbe1;--warnbg:#fff8c5;--badbg:#ffebe9}
@media (prefers-color-scheme:dark){:root{--bg:#0f1217;--fg:#e6e9ee;--muted:#9aa5b1;--card:#171b22;--line:#2b313b;--ok:#4ac26b;--warn:#d4a72c;--bad:#ff7b72;--okbg:#12261b;--warnbg:#2b2410;--badbg:#301416}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:16px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 12px;margin-bottom:16px}
h1{font-size:20px;margin:0}
h2{font-size:16px;margin:24px 0 8px}
.state{font-weight:600;padding:4px 12px;border-radius:999px}.state time{white-space:nowrap}
.state.ok{color:var(--ok);background:var(--okbg)}.state.warn{color:var(--warn);background:var(--warnbg)}.state.bad{color:var(--bad);background:var(--badbg)}.state.idle{color:var(--muted);background:var(--card)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:3px solid var(--line)}
.card.warn{border-top-color:var(--warn)}.card.bad{border-top-color:var(--bad)}
.label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.value{font-size:22px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums}
.card.bad .value{color:var(--bad)}.card.warn .value{color:var(--warn)}
.note{color:var(--muted);font-size:12px;overflow-wrap:anywhere}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
td time{white-space:nowrap;color:var(--muted)}
.key{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;overflow-wrap:anywhere}
.failing td.key{white-space:nowrap}
.error,.detail{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.error{color:var(--bad)}
.command{color:var(--muted);margin-top:2px;font-size:11px}
.about{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 14px;font-size:13px}.about div{display:flex;gap:6px;min-width:0}.about dt{color:var(--muted)}.about dd{margin:0;overflow-wrap:anywhere}
.detail{color:var(--muted);margin-top:2px}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.ok{color:var(--ok);background:var(--okbg)}.badge.warn{color:var(--warn);background:var(--warnbg)}.badge.bad{color:var(--bad);background:var(--badbg)}
.empty{color:var(--muted);margin:4px 0}
.alert{color:var(--bad);background:var(--badbg);border-radius:8px;padding:8px 12px;margin:0 0 12px;overflow-wrap:anywhere}
footer{color:var(--muted);font-size:12px;margin-top:24px}
a{color:inherit}
@media (max-width:600px){main{padding:10px}.opt{display:none}.value{font-size:19px}.card{padding:8px 10px}.cards{grid-template-columns:repeat(2,1fr);gap:8px}
.failing thead{display:none}.failing tr{display:block;padding:8px 10px;border-bottom:1px solid var(--line)}.failing tr:last-child{border-bottom:0}
.failing td{display:block;padding:0;border:0}.failing td.opt{display:none}.failing td.key{white-space:normal;font-weight:600}.failing td time::before{content:"first failed "}}
`;

export function renderStatusPage(s: StatusSnapshot, refreshSeconds = 10): string {
  const head = headline(s);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refreshSeconds}">
<title>${head.text} · grok-pull${s.about ? ` ${s.about.instance}` : ''}</title>
<style>${new Html(CSS)}</style>
</head>
<body>
<main>
<header><h1>grok-pull replica${s.about ? ` ${s.about.instance} on ${s.about.host}` : ''}</h1><span class="state ${head.tone}" id="state">${head.text}</span>${working(s)}</header>
${about(s)}
${alerts(s)}
${cards(s)}
<h2>Failing repositories (${formatCount(s.failing_repos)})</h2>
${failingTable(s)}
<h2>Recent activity</h2>
${activityTable(s)}
<footer>Updated ${iso(s.now)} · running since ${iso(s.started_at)} · refreshes every ${refreshSeconds} s · <a href="status.json">status.json</a> · <a href="metrics">metrics</a></footer>
</main>
</body>
</html>
`.text;
}
