/**
 * Every command's --help lists every flag its code accepts (read from the `.option(...)` calls in
 * its source) and the drop-in flags the spec names for it; --version answers.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, REPO_ROOT } from './helpers/fixture.js';
import { runBin } from './helpers/cli.js';

const commands: { name: keyof typeof BIN; sources: string[]; spec: string[]; subs?: string[] }[] = [
  {
    name: 'manifest',
    sources: ['origin/manifest/cli-options.ts'],
    spec: ['--cfgfile', '-m', '--manifest', '-t', '--toplevel', '-l', '--logfile', '-n', '--use-now', '-c', '--check-export-ok', '-p', '--purge', '-x', '--remove', '-y', '--pretty', '-i', '--ignore-paths', '-r', '--ignore-refs', '-w', '--wait-for-manifest', '-o', '--fetch-objstore', '-v', '--verbose', '--version'],
  },
  { name: 'origin', sources: ['origin/server/cli-options.ts'], spec: ['-c', '--listen', '--version'] },
  { name: 'pull', sources: ['replica/cli-options.ts'], spec: ['-c', '-v', '-n', '--no-mtime-check', '-p', '--purge', '--force-purge', '-o', '--continuous', '--version'] },
  { name: 'fsck', sources: ['shared/fsck/cli-options.ts'], spec: ['-c', '-v', '-f', '--force', '--repack-only', '--connectivity-only', '--repack-all-quick', '--repack-all-full', '--version'] },
  { name: 'pi-piper', sources: ['replica/pi/piper-cli.ts'], spec: ['-v', '--verbose', '-d', '--dry-run', '-c', '--config', '-l', '--pipe-last', '--version'] },
  { name: 'pi-indexer', sources: ['replica/pi/indexer-cli.ts'], subs: ['init', 'update', 'extindex'], spec: ['-v', '--verbose', '-c', '--pi-config', '-t', '--toplevel', '-p', '--pi-toplevel', '-l', '--logfile', '-L', '--indexlevel', '-j', '--jobs', '--no-fsync', '--local-toplevel', '--origin-hostname', '--listid-priority', '--extra-cfgopts', '--force-reinit', '--version'] },
  { name: 'bundle', sources: ['replica/bundle/cli-options.ts'], spec: ['-c', '--config', '-o', '--outdir', '-g', '--gitargs', '-r', '--revlistargs', '-s', '--maxsize', '-i', '--include', '-v', '--verbose', '--version'] },
];

/** Flags declared in source: the first argument of every .option()/.requiredOption() call. */
function declared(file: string): string[] {
  const src = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const flags: string[] = [];
  for (const m of src.matchAll(/\.(?:requiredOption|option)\(\s*'([^']+)'/g)) {
    for (const f of m[1]!.split(/[ ,|]+/)) if (f.startsWith('-')) flags.push(f);
  }
  return flags;
}

for (const c of commands) {
  t.test(`grok-${c.name} --help and --version`, async (t) => {
    const help = await runBin(BIN[c.name], ['--help']);
    t.equal(help.code, 0);
    let said = help.stdout;
    // A subcommand's flags are in its own --help.
    for (const sub of c.subs ?? []) {
      const h = await runBin(BIN[c.name], [sub, '--help']);
      t.equal(h.code, 0, `${sub} --help`);
      said += h.stdout;
    }
    const listed = new Set(said.match(/(?<![\w-])--?[A-Za-z][\w-]*/g) ?? []);
    const inCode = c.sources.flatMap(declared);
    t.ok(inCode.length >= 3, `found the option declarations of grok-${c.name}`);
    for (const f of inCode) t.ok(listed.has(f), `--help lists ${f} (declared in the code)`);
    for (const f of c.spec) t.ok(listed.has(f), `--help lists ${f} (grokmirror's flag)`);
    const v = await runBin(BIN[c.name], ['--version']);
    t.equal(v.code, 0);
    t.match(v.stdout, new RegExp(`grok-${c.name} \\(grokmirror-ts\\) \\d+\\.\\d+\\.\\d+`));
  });
}
