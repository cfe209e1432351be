/**
 * pi-piper.conf, grokmirror's format (Python configparser with extended interpolation): `[DEFAULT]`
 * values apply everywhere; a section named after a list overrides them (the repository path is matched
 * against the glob "star/<section>/git/star.git", star meaning any characters; the last matching
 * section wins). Keys: `pipe` (a command, or `None` to skip the list), `shallow`, `log`, `loglevel`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { parseIni, type IniDocument } from '../../shared/config/ini.js';
import { interpolate, lookupIn } from '../../shared/config/interpolate.js';
import { parseBool } from '../../shared/config/values.js';
import { fnmatch } from '../../shared/glob.js';

export interface PiperSettings {
  /** The section that applies ('DEFAULT' when none matches). */
  readonly section: string;
  /** The command line; null for `pipe = None`. */
  readonly pipe: string | null;
  readonly shallow: boolean;
  /** Log file ('' for none), `~` expanded. */
  readonly log: string;
  readonly loglevel: 'info' | 'debug';
}

export function readPiperConfig(file: string): IniDocument {
  const abs = path.resolve(file.replace(/^~(?=\/|$)/, os.homedir()));
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new GrokError('GROK_ERR_CONFIG_NOT_FOUND', `${abs}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file: abs }, { cause: err });
  }
  return parseIni(text, abs);
}

/** The settings for one repository. */
export function piperSettings(doc: IniDocument, repo: string): PiperSettings {
  let section = 'DEFAULT';
  for (const name of doc.sections.keys()) if (fnmatch(repo, `*/${name}/git/*.git`)) section = name;
  const lookup = lookupIn(doc);
  const get = (key: string): string | undefined => {
    const v = lookup(section, key);
    return v === undefined ? undefined : interpolate(v.raw, section, key, lookup, `${doc.file}:${v.line}`).trim();
  };
  const pipe = get('pipe');
  if (pipe === undefined || pipe === '') {
    throw new GrokError('GROK_ERR_CONFIG_MISSING', `${doc.file}: no pipe for ${repo} ([${section}] and [DEFAULT] set none; "pipe = None" skips a list)`, { file: doc.file, section });
  }
  const shallowText = get('shallow') ?? 'no';
  const shallow = parseBool(shallowText);
  if (shallow === undefined) {
    throw new GrokError('GROK_ERR_CONFIG_VALUE', `${doc.file}: [${section}] shallow: expected yes/no, true/false, on/off or 1/0, got "${shallowText}"`, { file: doc.file, section });
  }
  const log = get('log') ?? '';
  return {
    section,
    pipe: pipe === 'None' ? null : pipe,
    shallow,
    log: log.replace(/^~(?=\/|$)/, os.homedir()),
    loglevel: get('loglevel') === 'debug' ? 'debug' : 'info',
  };
}
