#!/bin/sh
# gitolite command on the origin: prints grok-manifest's manifest (JSON) for replicas whose
# manifest_command is grok-get-manifest.sh ssh://git@this-host (or grokmirror's grok-get-gl-manifest.sh).
#
# Install: copy to the gitolite user's local code as commands/get-grok-manifest, executable
# (LOCAL_CODE => "$ENV{HOME}/local" in ~/.gitolite.rc), add 'get-grok-manifest' to the ENABLE list
# there, and set MANIFEST and MIRRORS below. Replicas then run
#   ssh git@this-host get-grok-manifest SINCE
# with SINCE in epoch seconds: exit 127 (unchanged) when the manifest file is not newer than that,
# else the manifest on stdout and exit 0; a refusal or error is exit 1 with the reason on stdout.
set -u
# Where grok-manifest (or grok-origin) writes the manifest.
MANIFEST=${GROK_MANIFEST:-/var/lib/gitolite3/repositories/manifest.js.gz}
# gitolite users (key names) of the replicas allowed to read it, separated by spaces.
MIRRORS=${GROK_MIRRORS:-}

if [ -z "${GL_USER:-}" ]; then
  echo "run me through gitolite: ssh git@host get-grok-manifest [SINCE]"
  exit 1
fi
case " $MIRRORS " in
  *" $GL_USER "*) ;;
  *) echo "$GL_USER may not read the manifest"; exit 1 ;;
esac
since=${1:-0}
case $since in
  '' | *[!0-9]*) echo "usage: get-grok-manifest [SINCE (epoch seconds)]"; exit 1 ;;
esac
[ -s "$MANIFEST" ] || { echo "no manifest at $MANIFEST"; exit 1; }

mtime=$(stat -c %Y "$MANIFEST") || { echo "cannot stat the manifest"; exit 1; }
[ "$mtime" -le "$since" ] && exit 127
# Manifests are replaced by rename, so this reads one whole version. grok-origin's are several
# gzip members back to back, which gzip -dc reads as one.
case $MANIFEST in
  *.gz) exec gzip -dc "$MANIFEST" ;;
  *) exec cat "$MANIFEST" ;;
esac
