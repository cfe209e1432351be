#!/bin/sh
# post-receive / post-update hook: tell grok-origin that this repository changed, with one curl and
# no Node start-up. When no grok-origin serves the manifest (or it does not answer), fall back to
# grok-manifest, which updates the manifest file itself exactly as grokmirror's hook would.
#
# Install: copy into each repository's hooks/ (or a shared core.hooksPath) as post-receive, and set
# GROK_MANIFEST and GROK_TOPLEVEL below or in the environment of the git daemon / gitolite.
#
# grok-origin writes .<manifest>.origin beside the manifest while it runs: the address it listens
# on and a per-run token (the file is mode 0600; this hook must run as a user who can read it).
set -u
MANIFEST=${GROK_MANIFEST:-/var/lib/git/mirror/manifest.js.gz}
TOPLEVEL=${GROK_TOPLEVEL:-/var/lib/git/mirror}
GROK_MANIFEST_BIN=${GROK_MANIFEST_BIN:-grok-manifest}

repo=$(cd "${GIT_DIR:-.}" && pwd -P) || exit 1
handoff="$(dirname "$MANIFEST")/.$(basename "$MANIFEST").origin"

if [ -r "$handoff" ] && command -v curl >/dev/null 2>&1; then
  # The file is one line of JSON written by grok-origin: {"url":"...","token":"...","pid":N}
  # or {"socketPath":"...","token":"...","pid":N}.
  field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$handoff"; }
  url=$(field url)
  socket=$(field socketPath)
  token=$(field token)
  if [ -n "$socket" ]; then
    set -- --unix-socket "$socket" http://localhost/_grok/notify
  else
    set -- "$url/_grok/notify"
  fi
  if [ -n "$token" ] && printf '%s\n' "$repo" | curl -fsS --max-time 30 -o /dev/null \
      -H "Authorization: Bearer $token" -H 'Content-Type: text/plain' --data-binary @- "$@"; then
    exit 0
  fi
  echo "grok-origin did not take the notice; updating $MANIFEST directly" >&2
fi

exec "$GROK_MANIFEST_BIN" --standalone -n -m "$MANIFEST" -t "$TOPLEVEL" "$repo"
