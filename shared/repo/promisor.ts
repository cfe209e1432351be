/**
 * Whether a repository is a partial clone (a "promisor" repository: `extensions.partialClone` names
 * the remote that promises its missing objects). Such a repository must not join an objstore (the
 * objstore would take its holes for damage, and siblings borrowing from it would lack the objects)
 * and is not repacked by our housekeeping (git's own repack keeps promisor packs apart; ours with
 * -A/-l/-b flags is not written with missing objects in mind).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lookupConfigValue } from '../git/index.js';

export function isPromisorRepo(gitDir: string): boolean {
  let text: string;
  try {
    text = readFileSync(path.join(gitDir, 'config'), 'utf8');
  } catch {
    return false;
  }
  const res = lookupConfigValue(text, 'extensions', 'partialClone');
  // A config our reader cannot follow (includes) is taken as partial: skipping work is the safe side.
  return 'found' in res ? res.found && res.value !== null && res.value !== '' : true;
}
