/** Every command's manual page: its commander definition and hand-written sections, and where they live. */
import type { Command } from 'commander';
import type { Manual } from '../../shared/cli.js';
import { fsckCommand, fsckManual } from '../../shared/fsck/cli-options.js';
import { manifestCommand, manifestManual } from '../../origin/manifest/cli-options.js';
import { originCommand, originManual } from '../../origin/server/cli-options.js';
import { bundleCommand, bundleManual } from '../../replica/bundle/cli-options.js';
import { pullCommand, pullManual } from '../../replica/cli-options.js';
import { indexerCommand, indexerManual } from '../../replica/pi/indexer-cli.js';
import { piperCommand, piperManual } from '../../replica/pi/piper-cli.js';
import { dumbPullCommand, dumbPullManual } from '../../replica/dumb/cli-options.js';

export interface Page {
  readonly command: () => Command;
  readonly manual: Manual;
  readonly source: string;
}

export const PAGES: readonly Page[] = [
  { command: manifestCommand, manual: manifestManual, source: 'origin/manifest/cli-options.ts' },
  { command: originCommand, manual: originManual, source: 'origin/server/cli-options.ts' },
  { command: pullCommand, manual: pullManual, source: 'replica/cli-options.ts' },
  { command: fsckCommand, manual: fsckManual, source: 'shared/fsck/cli-options.ts' },
  { command: dumbPullCommand, manual: dumbPullManual, source: 'replica/dumb/cli-options.ts' },
  { command: bundleCommand, manual: bundleManual, source: 'replica/bundle/cli-options.ts' },
  { command: piperCommand, manual: piperManual, source: 'replica/pi/piper-cli.ts' },
  { command: indexerCommand, manual: indexerManual, source: 'replica/pi/indexer-cli.ts' },
];
