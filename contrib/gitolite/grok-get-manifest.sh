#!/bin/sh
# A [remote] manifest_command for grok-pull: prints the origin's manifest (JSON) on stdout when it
# changed since the last pass that completed, from a gitolite host over ssh or from a local file.
#
#   [remote]
#   manifest_command = /usr/local/bin/grok-get-manifest.sh ssh://git@git.example.org ${core:manifest}
#   manifest_command = /usr/local/bin/grok-get-manifest.sh file:///srv/origin/manifest.js.gz ${core:manifest}
#
# Usage: grok-get-manifest.sh SOURCE LOCAL_MANIFEST [--force]
#   SOURCE          ssh://[user@]host[:port]: runs `ssh SOURCE get-grok-manifest SINCE` (the gitolite
#                   command get-grok-manifest.command beside this file, or grokmirror's own);
#                   file:///path or /path: reads that manifest (gzip by .gz suffix).
#   LOCAL_MANIFEST  this replica's [core] manifest: state is kept beside it.
#   --force         grok-pull appends it when forcing (-n, a new or edited config): print regardless.
#
# Exit status, grok-pull's manifest_command contract: 0 with the manifest on stdout; 127 when it is
# unchanged; 1 with the reason on stdout (grok-pull logs it as an error).
#
# "Changed since the last pass that completed": the start time of each fetch that printed a manifest
# is kept in .<manifest>.command; it counts only once grok-pull's own .<manifest>.remote (written
# when a pass has done all its work) is at least as new. So a pass that failed or was killed gets
# the manifest again next time, instead of 127 and its work forgotten (grokmirror's sample kept
# the time of the fetch, whatever became of the pass).
#
# GROK_SSH overrides the ssh command (default: ssh -o BatchMode=yes); keys and ports belong in
# ~/.ssh/config of the user grok-pull runs as.
set -u
usage() { echo "usage: grok-get-manifest.sh ssh://[user@]host | file:///path LOCAL_MANIFEST [--force]"; exit 1; }
[ $# -ge 2 ] || usage
source=$1
local=$2
force=no
[ "${3:-}" = --force ] && force=yes

dir=$(dirname "$local")
[ -d "$dir" ] || { echo "directory of $local does not exist"; exit 1; }
mine="$dir/.$(basename "$local").command"
remote_state="$dir/.$(basename "$local").remote"

since=0
if [ "$force" = no ] && [ -s "$mine" ] && [ -s "$remote_state" ]; then
  fetched=$(cat "$mine")
  completed=$(sed -n 's/.*"last-fetched": *\([0-9][0-9]*\).*/\1/p' "$remote_state")
  # One second back: a manifest written in the same second as the last fetch is fetched again
  # rather than missed (the gitolite command answers 127 for mtime <= SINCE).
  if [ -n "$completed" ] && [ "$completed" -ge "$fetched" ]; then since=$((fetched - 1)); fi
fi
now=$(date +%s)

out=$(mktemp "$dir/.grok-get-manifest.XXXXXX") || { echo "cannot make a temporary file in $dir"; exit 1; }
trap 'rm -f "$out" "$out.err"' EXIT

case $source in
  ssh://*)
    ${GROK_SSH:-ssh -o BatchMode=yes} "$source" get-grok-manifest "$since" >"$out" 2>"$out.err"
    code=$?
    case $code in
      0 | 1 | 127) ;;
      # 255: ssh itself failed; anything else is not the command's contract either
      *) echo "ssh $source get-grok-manifest: exit $code: $(head -n 1 "$out.err")"; exit 1 ;;
    esac
    ;;
  file://* | /*)
    file=${source#file://}
    [ -r "$file" ] || { echo "cannot read $file"; exit 1; }
    mtime=$(stat -c %Y "$file" 2>/dev/null || stat -f %m "$file") || { echo "cannot stat $file"; exit 1; }
    if [ "$mtime" -le "$since" ]; then
      code=127
    else
      case $file in
        *.gz) gzip -dc "$file" >"$out" 2>"$out.err" ;;
        *) cat "$file" >"$out" 2>"$out.err" ;;
      esac
      if [ $? -eq 0 ]; then code=0; else echo "cannot read $file: $(head -n 1 "$out.err")" >"$out"; code=1; fi
    fi
    ;;
  *) usage ;;
esac

case $code in
  0)
    # Printed only once complete, so a failure halfway never reaches grok-pull as a manifest.
    cat "$out" || exit 1
    echo "$now" >"$mine.tmp" && mv -f "$mine.tmp" "$mine"
    exit 0
    ;;
  127) exit 127 ;;
  *)
    # grok-pull shows the first line; gitolite itself says why on stderr
    if [ -s "$out" ]; then head -n 1 "$out"; else head -n 1 "$out.err"; fi | cut -c 1-500
    exit 1
    ;;
esac
