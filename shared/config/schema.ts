/**
 * Every config key we know, its type and its default, in one place. Defaults are raw strings and go
 * through the same interpolation as values from the file, so `${toplevel}/objstore` works as a default.
 * Keys are grokmirror 2.x's; the ones grokmirror does not have are marked "ours".
 */
export type KeyDef =
  | { readonly kind: 'string'; readonly default?: string; readonly required?: true }
  /** An absolute path (empty: unset, unless required); `notRoot`: never "/" itself. */
  | { readonly kind: 'path'; readonly default?: string; readonly required?: true; readonly notRoot?: true }
  /** A URL with one of these schemes (empty: unset). */
  | { readonly kind: 'url'; readonly default: string; readonly schemes: readonly string[] }
  | { readonly kind: 'bool'; readonly default: string }
  | { readonly kind: 'int'; readonly default: string; readonly min: number; readonly max: number }
  | { readonly kind: 'size'; readonly default: string }
  | { readonly kind: 'list'; readonly default: string }
  | { readonly kind: 'choice'; readonly default: string; readonly choices: readonly string[] };

export const SCHEMA = {
  core: {
    toplevel: { kind: 'path', required: true, notRoot: true },
    manifest: { kind: 'path', default: '${toplevel}/manifest.js.gz' },
    log: { kind: 'path', default: '' },
    loglevel: { kind: 'choice', default: 'info', choices: ['debug', 'info', 'warning', 'warn', 'error', 'critical'] },
    objstore: { kind: 'path', default: '${toplevel}/objstore' },
    objstore_uses_plumbing: { kind: 'bool', default: 'no' },
    private: { kind: 'list', default: '' },
    // ours: the largest inflated manifest we accept (a gzip bomb fails cleanly past it)
    manifest_max_size: { kind: 'size', default: '512M' },
  },
  manifest: {
    pretty: { kind: 'bool', default: 'no' },
    ignore: { kind: 'list', default: '' },
    fetch_objstore: { kind: 'bool', default: 'no' },
    check_export_ok: { kind: 'bool', default: 'no' },
  },
  remote: {
    site: { kind: 'string', default: '' },
    manifest: { kind: 'url', default: '', schemes: ['http', 'https', 'file'] },
    manifest_command: { kind: 'string', default: '' },
    preload_bundle_url: { kind: 'url', default: '', schemes: ['http', 'https'] },
    // ours: a download from the origin (manifest, preload bundle, git over http(s)) averaging fewer
    // bytes per second than low_speed_limit for low_speed_time seconds is given up (0: no minimum)
    low_speed_limit: { kind: 'int', default: '1000', min: 0, max: 1_000_000_000 },
    low_speed_time: { kind: 'int', default: '120', min: 1, max: 86400 },
    // ours: seconds that fetching the manifest may take in all, retries included
    manifest_timeout: { kind: 'int', default: '600', min: 1, max: 86400 },
    // ours: seconds that one git clone or fetch from the origin may take
    git_timeout: { kind: 'int', default: '1800', min: 1, max: 7 * 86400 },
    // ours: the largest preload bundle accepted, and the seconds its download may take
    preload_bundle_max_size: { kind: 'size', default: '64G' },
    preload_bundle_timeout: { kind: 'int', default: '21600', min: 1, max: 7 * 86400 },
  },
  pull: {
    projectslist: { kind: 'path', default: '' },
    projectslist_trimtop: { kind: 'string', default: '' },
    projectslist_symlinks: { kind: 'bool', default: 'no' },
    // ours: list archived repositories in projects.list too
    projectslist_archived: { kind: 'bool', default: 'no' },
    // ours: repack a repository aggressively once, when it becomes archived (space back for a frozen repo)
    archive_repack: { kind: 'bool', default: 'no' },
    // ours: repositories (globs) cloned as partial clones, their file contents fetched on demand
    partial: { kind: 'list', default: '' },
    // ours: the filter for those: blob:none, blob:limit=<n>[kmg] or tree:<depth>
    partial_filter: { kind: 'string', default: 'blob:none' },
    post_update_hook: { kind: 'list', default: '' },
    post_clone_complete_hook: { kind: 'list', default: '' },
    post_work_complete_hook: { kind: 'list', default: '' },
    purge: { kind: 'bool', default: 'no' },
    nopurge: { kind: 'list', default: '' },
    purgeprotect: { kind: 'int', default: '5', min: 1, max: 99 },
    default_owner: { kind: 'string', default: 'Grokmirror User' },
    remotename: { kind: 'string', default: '_grokmirror' },
    pull_threads: { kind: 'int', default: '0', min: 0, max: 1024 },
    retries: { kind: 'int', default: '3', min: 1, max: 100 },
    include: { kind: 'list', default: '*' },
    exclude: { kind: 'list', default: '' },
    ffonly: { kind: 'list', default: '' },
    refresh: { kind: 'int', default: '900', min: 1, max: 86400 * 7 },
    socket: { kind: 'path', default: '' },
    // ours: the origin's change feed: "auto" (next to an http(s) manifest URL), "no", or a URL
    feed: { kind: 'string', default: 'auto' },
    // ours: with -o, a forced full re-check on this cron schedule (empty: none)
    recheck_cron: { kind: 'string', default: '' },
    // ours: with -o, run grok-fsck on this cron schedule, between pull passes (empty: never)
    fsck_cron: { kind: 'string', default: '' },
    // ours: with -o, serve a status page and Prometheus metrics on this HOST:PORT (empty: off)
    status_listen: { kind: 'string', default: '' },
  },
  fsck: {
    frequency: { kind: 'int', default: '30', min: 1, max: 3650 },
    statusfile: { kind: 'path', default: '${core:toplevel}/fsck.status.js' },
    ignore_errors: { kind: 'list', default: '' },
    reclone_on_errors: { kind: 'list', default: '' },
    repack: { kind: 'bool', default: 'yes' },
    extra_repack_flags: { kind: 'string', default: '' },
    extra_repack_flags_full: { kind: 'string', default: '' },
    commitgraph: { kind: 'bool', default: 'yes' },
    prune: { kind: 'bool', default: 'yes' },
    precious: { kind: 'choice', default: 'yes', choices: ['yes', 'no', 'always'] },
    baselines: { kind: 'list', default: '' },
    islandcores: { kind: 'list', default: '' },
    preload_bundle_outdir: { kind: 'path', default: '' },
    report_to: { kind: 'string', default: '' },
    report_from: { kind: 'string', default: '' },
    report_subject: { kind: 'string', default: '' },
    report_mailhost: { kind: 'string', default: 'localhost' },
  },
  // ours: grok-origin, the origin server
  origin: {
    listen: { kind: 'string', default: '127.0.0.1:8080' },
    // Required of callers that are not on the loopback interface; empty: only local callers notify.
    notify_secret: { kind: 'string', default: '' },
    // How long a notice waits for others to share one manifest write, in milliseconds.
    write_delay_ms: { kind: 'int', default: '10', min: 0, max: 60000 },
    // How many change events are kept for replicas resuming the feed.
    events_backlog: { kind: 'int', default: '100000', min: 100, max: 10000000 },
    // Watch the repositories' refs for changes (for origins that cannot install hooks).
    repo_watch: { kind: 'bool', default: 'no' },
    // git upload-pack processes run at once; more clones wait. 0: four per CPU.
    max_upload_packs: { kind: 'int', default: '0', min: 0, max: 4096 },
    // upload-pack slots one client address (IPv6: its /64) may hold; its other clones wait. 0: half of max_upload_packs.
    max_upload_packs_per_client: { kind: 'int', default: '0', min: 0, max: 4096 },
    // Seconds a client may leave a reply's bytes untaken before its connection is closed.
    send_timeout: { kind: 'int', default: '60', min: 1, max: 86400 },
    // Change-feed (/_grok/events) subscribers at once.
    max_feed_clients: { kind: 'int', default: '1000', min: 1, max: 1000000 },
    // Seconds that running clones get to finish when the server stops.
    shutdown_timeout: { kind: 'int', default: '30', min: 0, max: 3600 },
    // Largest notify request body.
    notify_max_size: { kind: 'size', default: '1M' },
    // grok-bundle's -o directory, served at /<repo>/clone.bundle for Android's repo tool (empty: off).
    bundle_dir: { kind: 'path', default: '' },
    // Objstore preload bundles served at /_grok/preload/<name>.bundle: grok-fsck's, when it runs
    // with this config, unless set (empty: off).
    preload_bundle_dir: { kind: 'path', default: '${fsck:preload_bundle_outdir}' },
  },
} as const satisfies Record<string, Record<string, KeyDef>>;

type ValueOf<D extends KeyDef> = D['kind'] extends 'bool'
  ? boolean
  : D['kind'] extends 'int' | 'size'
    ? number
    : D['kind'] extends 'list'
      ? readonly string[]
      : string;

export type SectionName = keyof typeof SCHEMA;
export type SectionConfig<S extends SectionName> = {
  readonly [K in keyof (typeof SCHEMA)[S]]: (typeof SCHEMA)[S][K] extends KeyDef ? ValueOf<(typeof SCHEMA)[S][K]> : never;
};
export type CoreConfig = SectionConfig<'core'>;
export type ManifestConfig = SectionConfig<'manifest'>;
export type RemoteConfig = SectionConfig<'remote'>;
export type PullConfig = SectionConfig<'pull'>;
export type FsckConfig = SectionConfig<'fsck'>;
export type OriginConfig = SectionConfig<'origin'>;
