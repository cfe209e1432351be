/**
 * `--check-config`: the config as a command would use it, printed as a config file (every known key,
 * defaults filled in, `${...}` resolved), URL credentials hidden since the output is pasted into bug
 * reports (and a whole secret, notify_secret, too). Errors never get here: loading throws them, and the command exits 1 with the line.
 */
import { safeText, redactUrls } from '../safe-text.js';
import { effectiveValues, type GrokConfig } from './config.js';

/** Keys whose whole value is a secret (grok-origin's notify_secret), not only a URL's userinfo. */
const SECRET_KEY = /secret|password|token/;

function valueText(key: string, text: string): string {
  if (SECRET_KEY.test(key)) return '***';
  // A list's further lines stay continuation lines (indented), as in the file.
  return text.split('\n').map((l) => safeText(redactUrls(l))).join('\n    ');
}

export function formatConfig(config: GrokConfig): string {
  const out = [`# ${safeText(config.file)}: valid. Every key as the command uses it: defaults filled in, \${...} resolved, URL credentials hidden.`];
  for (const [section, values] of Object.entries(effectiveValues(config))) {
    out.push('', `[${section}]`);
    for (const [key, text] of Object.entries(values)) out.push(`${key} =${text === '' ? '' : ` ${valueText(key, text)}`}`);
  }
  for (const [section, values] of Object.entries(config.extra)) {
    out.push('', `# not used by grokmirror-ts (an unknown section, kept)`, `[${safeText(section)}]`);
    for (const [key, text] of Object.entries(values)) out.push(`${safeText(key)} =${text === '' ? '' : ` ${valueText(key, text)}`}`);
  }
  return `${out.join('\n')}\n`;
}

/** What every command does with --check-config once the config loaded: warnings on stderr, the config on stdout. */
export function printCheckedConfig(name: string, config: GrokConfig, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): void {
  for (const w of config.warnings) err.write(`${name}: warning: ${safeText(redactUrls(w))}\n`);
  out.write(formatConfig(config));
}
