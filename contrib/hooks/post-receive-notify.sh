#!/bin/sh
# post-receive / post-update hook: tell grok-origin that this repository changed, with one curl and
# no Node start-up. When no grok-origin answers (or curl is missing), fall back to
# `grok-manifest --standalone -n`, which updates the manifest file itself exactly as grokmirror's
# hook would.
#
# Install: copy into each repository's hooks/ (or a shared core.hooksPath) as post-receive, and set
# GROK_MANIFEST and GROK_TOPLEVEL below or in the environment of the git daemon / gitolite.
# post-update is the same script (see post-update beside this file); post-receive-notify.mjs does
# the same with Node instead of curl.
#
# Where the server is:
# - GROK_ORIGIN_URL (e.g. http://127.0.0.1:8080) and GROK_NOTIFY_SECRET ([origin] notify_secret),
#   when set: for hooks that run as a user who cannot read grok-origin's handoff file, or when
#   notify_secret is set (then every caller needs a secret);
# - otherwise .<manifest>.origin beside the manifest, which grok-origin writes while it runs (mode
#   0600: the address it listens on and a per-run token; this hook must run as a user who can read it).
set -u
MANIFEST=${GROK_MANIFEST:-/var/lib/git/mirror/manifest.js.gz}
TOPLEVEL=${GROK_TOPLEVEL:-/var/lib/git/mirror}
GROK_MANIFEST_BIN=${GROK_MANIFEST_BIN:-grok-manifest}

repo=$(cd "${GIT_DIR:-.}" && pwd -P) || exit 1
handoff="$(dirname "$MANIFEST")/.$(basename "$MANIFEST").origin"

url=${GROK_ORIGIN_URL:-}
token=${GROK_NOTIFY_SECRET:-}
socket=

# The handoff file is believed only as grok-origin writes it: a regular file, not a symlink, owned
# by this user or the manifest's owner, writable by nobody else. Anyone else who can write the
# manifest's directory could otherwise plant one and take every push.
trusted() {
  [ -f "$1" ] && [ ! -L "$1" ] || return 1
  # ls -ln: the mode (group write is its 6th character, other write its 9th), then links, then uid
  set -- $(ls -ln "$1")
  case $1 in ?????w* | ????????w*) return 1 ;; esac
  [ "$3" = "$(id -u)" ] && return 0
  owner=$3
  set -- $(ls -lnd "$MANIFEST" 2>/dev/null)
  [ "$owner" = "${3:-}" ]
}

if [ -z "$url" ] && [ -r "$handoff" ] && ! trusted "$handoff"; then
  echo "ignoring $handoff: not a file grok-origin wrote (a symlink, another user's, or writable by others)" >&2
elif [ -z "$url" ] && [ -r "$handoff" ]; then
  # The file is one line of JSON written by grok-origin: {"url":"...","token":"...","pid":N}
  # or {"socketPath":"...","token":"...","pid":N}.
  field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$handoff"; }
  url=$(field url)
  socket=$(field socketPath)
  token=$(field token)
  [ -n "$token" ] || url= socket=
fi

if { [ -n "$url" ] || [ -n "$socket" ]; } && command -v curl >/dev/null 2>&1; then
  if [ -n "$socket" ]; then
    set -- --unix-socket "$socket" http://localhost/_grok/notify
  else
    set -- "${url%/}/_grok/notify"
  fi
  [ -z "$token" ] || set -- -H "Authorization: Bearer $token" "$@"
  # JSON, so that use_now matches the fallback's -n; a path with a control character is not valid
  # JSON, the server refuses it and the fallback takes over.
  json=$(printf '%s' "$repo" | sed 's/[\\"]/\\&/g')
  if printf '{"paths":["%s"],"use_now":true}' "$json" | curl -fsS --max-time 30 -o /dev/null \
      -H 'Content-Type: application/json' --data-binary @- "$@"; then
    exit 0
  fi
  echo "grok-origin did not take the notice; updating $MANIFEST directly" >&2
fi

exec "$GROK_MANIFEST_BIN" --standalone -n -m "$MANIFEST" -t "$TOPLEVEL" "$repo"
