# The network root for stage 1, POSIX sh, sourced by /init and by the unit tests:
# root=http://HOST[:PORT]/PATH is fetched into RAM and opened through dm-verity like the ISO's.

# check_url URL: 0 when URL is http:// with nothing a shell or wget could read as more.
check_url() {
  case "$1" in
    http://?*) ;;
    *) return 1 ;;
  esac
  case "${1#http://}" in
    *[!A-Za-z0-9.:/_-]* | *..*) return 1 ;;
  esac
  return 0
}

# net_up: DHCP on the first interface that answers; sets netif. aios-init configures the network
# again itself: net_down leaves the interface as the kernel made it.
net_up() {
  for i in "${SYS:-/sys}"/class/net/*; do
    n="${i##*/}"
    [ "$n" = lo ] && continue
    ip link set "$n" up 2>/dev/null || continue
    if udhcpc -i "$n" -n -q -t 5 -T 2 -s /lib/aios/udhcpc.script >/dev/null 2>&1; then
      netif="$n"
      return 0
    fi
    ip link set "$n" down 2>/dev/null
  done
  return 1
}

net_down() {
  ip route flush dev "$netif" 2>/dev/null
  ip addr flush dev "$netif" 2>/dev/null
  ip link set "$netif" down 2>/dev/null
}

# fetch_root URL FILE: the root image into FILE (RAM), or why not.
fetch_root() {
  out="$(wget -q -O "$2" "$1" 2>&1)" || { rc=$?; echo "cannot fetch $1: ${out:-wget exited $rc}"; return 1; }
}
