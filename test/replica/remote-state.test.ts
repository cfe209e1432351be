/**
 * `.manifest.js.gz.remote` is shared with grokmirror: written in its units (whole seconds), read in
 * both ours and its own, so that switching tools does not cost either a full pass.
 */
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { silentLogger } from '../../shared/log.js';
import { fetchRemoteManifest, remoteStateAfter, type RemoteState } from '../../replica/source/remote-manifest.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('written in grokmirror’s units', async (t) => {
  const s = remoteStateAfter('file:///srv/m.js', { lastModified: '1796409366123.457' }, 1796409000999.9, 1_800_000_000_000);
  t.same(s, { source: 'file:///srv/m.js', 'last-fetched': 1796409366, 'config-last-modified': 1796409000, 'last-modified': '1796409366123.457' });
  const h = remoteStateAfter('http://o/m.js.gz', { lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT', etag: '"x"' }, 5000, 1_800_000_000_000);
  t.equal(h['last-fetched'], Date.UTC(2026, 0, 1) / 1000, "http: the manifest's Last-Modified, what grokmirror sends back as If-Modified-Since");
  t.equal(h.etag, '"x"');
  t.equal(remoteStateAfter('command:x', {}, 5000, 1_800_000_000_000)['last-fetched'], 1_800_000_000, 'no validator: the time of the pass');
});

t.test('read in both forms', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'manifest.js');
  writeFileSync(file, JSON.stringify({ '/a.git': { modified: 1, fingerprint: 'a'.repeat(40), head: null, reference: null } }));
  const mtime = String(statSync(file).mtimeMs);
  const configMs = 1796409000999.9;
  const source = `file://${file}`;
  const get = (state: RemoteState | null) =>
    fetchRemoteManifest({ manifest: source, manifest_command: '' } as never, { state, force: false, configLastModified: configMs, maxBytes: 1 << 20 }, { log: silentLogger() }).then((r) => r.status);
  const ours: RemoteState = { source, 'last-fetched': 1, 'config-last-modified': Math.floor(configMs / 1000), 'last-modified': mtime };
  t.equal(await get(ours), 'unchanged', 'whole seconds');
  t.equal(await get({ ...ours, 'config-last-modified': configMs }), 'unchanged', 'milliseconds, as earlier versions wrote');
  t.equal(await get({ ...ours, source: file }), 'unchanged', "grokmirror's bare path for a file:// source is the same source");
  t.equal(await get({ ...ours, 'config-last-modified': Math.floor(configMs / 1000) - 1 }), 'fetched', 'an edited config: read again');
  t.equal(await get({ source: file, 'last-fetched': 1796409366, 'config-last-modified': Math.floor(configMs / 1000) }), 'fetched', "grokmirror's record has no validator of ours: read again (it records before its work is done)");
});
