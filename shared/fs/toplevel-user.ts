/**
 * Who may write a toplevel, checked once before a command works in it: an unwritable toplevel is one
 * line naming the user and the owner (not a lock error per repository), and a run as another user
 * than the toplevel's owner is said before it leaves files behind. Root's run is refused without
 * --as-other-user: the files it creates (objects, lock files, fingerprints) belong to root, and the
 * owner's next run cannot replace them.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { GrokError } from '../errors.js';

/** A uid's name from /etc/passwd (what `ls -l` shows), or `uid N`. */
export function userName(uid: number, passwd = '/etc/passwd'): string {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    // no passwd file (a minimal container): the number says it
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id === String(uid)) return name;
  }
  return `uid ${uid}`;
}

export interface ToplevelUser {
  /** The uid this process runs as (effective). */
  readonly uid: number;
  readonly asOtherUser: boolean;
  /** The option that allows a run as another user, named in the refusal. */
  readonly flag?: string;
}

/**
 * Throws GROK_ERR_TOPLEVEL when the toplevel exists and this user cannot write it, and
 * GROK_ERR_OTHER_USER when root runs on another user's toplevel without the flag; returns the
 * warning for any other user than the owner (a group-writable toplevel shared on purpose), or null.
 * A toplevel not made yet is left to the command.
 */
export function checkToplevelUser(dir: string, who: ToplevelUser): string | null {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return null;
  const user = userName(who.uid);
  const owner = userName(st.uid);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? ': it is on a read-only filesystem' : '';
    throw new GrokError('GROK_ERR_TOPLEVEL', `toplevel ${dir} is not writable by user ${user} (owner ${owner})${why}`, { toplevel: dir, user, owner });
  }
  if (st.uid === who.uid || who.asOtherUser) return null;
  const consequence = `files this run makes there would belong to ${user}, and ${owner}'s runs could not replace them`;
  if (who.uid === 0) {
    throw new GrokError('GROK_ERR_OTHER_USER', `toplevel ${dir} belongs to ${owner}, not ${user}: ${consequence}; run as ${owner} (runuser -u ${owner} -- ...), or pass ${who.flag ?? '--as-other-user'}`, { toplevel: dir, user, owner });
  }
  return `running as ${user}, not as ${owner} who owns toplevel ${dir}: ${consequence} unless the group may write them`;
}
