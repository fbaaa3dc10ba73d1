# dm-verity and the state partition for stage 1, POSIX sh, sourced by /init and by the unit tests.
# VERITYSETUP (default veritysetup) can be pointed at a fake.

# parse_verity: aios.verity=ROOTHASH,HASHOFFSET,ACTION into hash, offset and action, each checked
# before use; on failure print why and return 1.
parse_verity() {
  hash="${verity%%,*}"
  rest="${verity#*,}"
  offset="${rest%%,*}"
  action="${rest#*,}"
  [ "$rest" != "$verity" ] && [ "$action" != "$rest" ] || { echo "aios.verity=$verity: expected ROOTHASH,HASHOFFSET,panic|restart"; return 1; }
  case "$hash" in
    *[!0-9a-f]*|"") echo "aios.verity=$verity: the root hash must be lowercase hex"; return 1 ;;
  esac
  [ "${#hash}" = 64 ] || { echo "aios.verity=$verity: the root hash must be 64 hex digits (sha256)"; return 1; }
  case "$offset" in
    *[!0-9]*|"") echo "aios.verity=$verity: the hash offset must be a number of bytes"; return 1 ;;
  esac
  case "$action" in
    panic|restart) ;;
    *) echo "aios.verity=$verity: the action on corruption must be panic or restart"; return 1 ;;
  esac
}

# open_root DEV: print the device to mount as the root: DEV itself without aios.verity=, else the
# verity device over DEV. On failure print why and return 1.
open_root() {
  data="$1"
  [ -n "$verity" ] || { echo "$data"; return 0; }
  parse_verity || return 1
  if ! out="$(${VERITYSETUP:-veritysetup} open "$data" aios-root "$data" "$hash" --hash-offset="$offset" "--$action-on-corruption" 2>&1)"; then
    echo "dm-verity refused the root filesystem on $data: ${out:-veritysetup failed} (is this the image the command line's root hash was made for?)"
    return 1
  fi
  echo "${MAPPER:-/dev/mapper}/aios-root"
}

# verify_root DEV: every data and hash block of DEV checked against the root hash now (veritysetup
# verify), for a root that came from somewhere stage 1 cannot vouch for. On failure print why and
# return 1.
verify_root() {
  parse_verity || return 1
  if ! out="$(${VERITYSETUP:-veritysetup} verify "$1" "$1" "$hash" --hash-offset="$offset" 2>&1)"; then
    echo "failed verification against the command line's root hash: ${out:-veritysetup verify failed}"
    return 1
  fi
}

# mount_state: /var from the state partition named by aios.state=, or, on a read-only root, a
# tmpfs seeded from the image's /var. Sets state_error and returns 1 on failure.
mount_state() {
  if [ -n "$state" ]; then
    sdev="$(wait_root "$state" "$roottimeout")" || { state_error="the state partition $state did not appear within ${roottimeout} s"; return 1; }
    mount -t ext4 -o rw,nosuid,nodev "$sdev" /newroot/var || { state_error="cannot mount the state partition $sdev on /var (ext4)"; return 1; }
    return 0
  fi
  [ -n "$verity" ] || [ "$live" = 1 ] || return 0
  mkdir -p /run/var
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run/var || { state_error="cannot mount a tmpfs for /var"; return 1; }
  cp -a /newroot/var/. /run/var/ || { state_error="cannot copy the image's /var into its tmpfs"; return 1; }
  mount --move /run/var /newroot/var || { state_error="cannot move the tmpfs onto /var"; return 1; }
}

# block_name DEV: the kernel's name of a block device node (sda1, loop0, dm-0): a device-mapper
# node made by veritysetup is /dev/mapper/NAME, found by its name in sysfs.
block_name() {
  case "$1" in
    "${MAPPER:-/dev/mapper}"/*)
      for d in "${SYS:-/sys}"/block/dm-*; do
        [ "$(cat "$d/dm/name" 2>/dev/null)" = "${1##*/}" ] && { echo "${d##*/}"; return 0; }
      done
      echo "${1##*/}"
      ;;
    *) echo "${1#/dev/}" ;;
  esac
}
