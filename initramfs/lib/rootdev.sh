# Root device lookup for stage 1, POSIX sh, sourced by /init and by the unit tests.
# find_root SPEC prints the device node for SPEC (/dev/..., LABEL=..., UUID=..., PARTLABEL=...)
# or nothing. DEV (default /dev), SYS (default /sys) and FINDFS (default busybox findfs) can be
# pointed at fixtures.

find_root() {
  spec="$1"
  dev="${DEV:-/dev}"
  case "$spec" in
    LABEL=*|UUID=*)
      # Debian's busybox-static has findfs (it scans /dev for filesystem labels) but no blkid.
      ${FINDFS:-findfs} "$spec" 2>/dev/null
      return 0
      ;;
    PARTLABEL=*)
      # A GPT partition by its name (the disk's slots: both roots carry the same filesystem label),
      # as the kernel gives it in the partition's uevent; busybox findfs knows no PARTLABEL=.
      for u in "${SYS:-/sys}"/class/block/*/uevent; do
        [ -f "$u" ] || continue
        if grep -qxF "PARTNAME=${spec#PARTLABEL=}" "$u"; then
          pname="$(sed -n 's/^DEVNAME=//p' "$u")"
          [ -n "$pname" ] && echo "$dev/$pname"
          return 0
        fi
      done
      ;;
    /dev/*)
      node="$dev/${spec#/dev/}"
      if [ -b "$node" ] || [ -e "$node" ]; then echo "$node"; fi
      ;;
    *)
      return 1
      ;;
  esac
}

# wait_root SPEC SECONDS: poll for the device, print it, or fail after the timeout.
wait_root() {
  spec="$1"
  limit="$2"
  tries=0
  while [ "$tries" -le $((limit * 10)) ]; do
    found="$(find_root "$spec")"
    if [ -n "$found" ]; then
      echo "$found"
      return 0
    fi
    sleep 0.1
    tries=$((tries + 1))
  done
  return 1
}
