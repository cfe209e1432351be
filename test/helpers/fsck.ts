import path from 'node:path';
import { buildConfig, type GrokConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { runFsck, type FsckDeps, type FsckResult, type FsckRunOptions } from '../../shared/fsck/run.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';

/** An origin-side grok-fsck config for `top`; `extra` adds lines to [fsck] (and may open further sections). */
export function fsckConfig(top: string, extra = '', core = ''): GrokConfig {
  const text = `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\nprivate = */private/*\n${core}\n[fsck]\nstatusfile = ${path.join(top, 'fsck.status.js')}\n${extra}`;
  return buildConfig(parseIni(text, path.join(top, '..', 'fsck.conf')), 1);
}

let names = 0;

export function fsck(config: GrokConfig, opts: Partial<FsckRunOptions> = {}, deps: Partial<FsckDeps> = {}): Promise<FsckResult> {
  return runFsck(
    config,
    { force: false, repackOnly: false, connectivityOnly: false, repackAll: null, ...opts },
    { git: new Git(), log: silentLogger(), now: Date.now, random: () => 0, newName: () => `store-${++names}`, ...deps },
  );
}
