#!/bin/sh
# ccache's prefix_command (CCACHE_PREFIX) while a cold build is measured: runs the compile ccache
# would run and appends one line to $AIOS_COMPILE_LOG, "start end directory output", so that
# scripts/dev/compile-parts.ts can say where a cold build's compile time goes. Not used by aios.
out=
prev=
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  prev=$a
done
start=$(date +%s.%N)
"$@"
rc=$?
printf '%s %s %s %s\n' "$start" "$(date +%s.%N)" "$PWD" "$out" >>"${AIOS_COMPILE_LOG:?AIOS_COMPILE_LOG names the log}"
exit $rc
