/**
 * contrib/completion/grok.bash is what `npm run completion` writes from the commands' option
 * definitions, and works in a real bash: `complete -p` names our function for every command, and
 * completing offers each command's options, files for a config and directories for a toplevel.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { PAGES } from '../man/pages.js';
import { tmpDir } from '../helpers/tmp.js';
import { COMPLETION_FILE, generatedCompletion } from './generate.js';

const NAMES = PAGES.map((p) => p.command().name());

/** Runs `script` in bash after sourcing the shipped file; stdout. */
function inBash(script: string, cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(COMPLETION_FILE)} && ${script}`], { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What completing the last word of `words` offers. */
function complete(words: string[], cwd?: string): string[] {
  const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = inBash(`COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _grokmirror_ts ${JSON.stringify(words[0])} ${JSON.stringify(words.at(-1))} ${JSON.stringify(words.at(-2) ?? '')}; printf '%s\\n' "\${COMPREPLY[@]}"`, cwd);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

t.test('the shipped file is what the generator writes (npm run completion)', async (t) => {
  t.equal(readFileSync(COMPLETION_FILE, 'utf8'), generatedCompletion(), 'run `npm run completion` after changing an option');
});

t.test('sourced in bash, it completes every command', async (t) => {
  const p = inBash(`complete -p ${NAMES.join(' ')}`);
  t.equal(p.status, 0, p.stderr);
  t.same(p.stdout.trim().split('\n'), NAMES.map((n) => `complete -o filenames -F _grokmirror_ts ${n}`));
  for (const page of PAGES) {
    const cmd = page.command();
    const want = cmd.createHelp().visibleOptions(cmd).flatMap((o) => [o.short, o.long].filter((n): n is string => Boolean(n)).filter((n) => n.startsWith('--'))).sort();
    t.same(complete([`/usr/bin/${cmd.name()}`, '--']), want, `${cmd.name()}: every long option`);
  }
  t.same(complete(['grok-pull', '--dr']), ['--dry-run']);
  t.same(complete(['grok-pull', '--st']), ['--status']);
  t.same(complete(['grok-fsck', '--repack-a']), ['--repack-all-full', '--repack-all-quick']);
  const dir = tmpDir(t);
  writeFileSync(path.join(dir, 'mirror.conf'), '');
  mkdirSync(path.join(dir, 'mirrors'));
  t.same(complete(['grok-pull', '-c', 'mirror'], dir), ['mirror.conf', 'mirrors'], 'a config: files');
  t.same(complete(['grok-manifest', '-t', 'mirror'], dir), ['mirrors'], 'a toplevel: directories only');
  t.same(complete(['grok-dumb-pull', '--jobs', ''], dir), [], 'a number: nothing to offer');
  t.same(complete(['grok-manifest', '-m', 'x.js', 'mir'], dir), ['mirror.conf', 'mirrors'], 'arguments: files');
});
