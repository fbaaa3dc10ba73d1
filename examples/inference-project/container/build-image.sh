#!/bin/sh
# Builds the example's container image in the local Docker engine: FROM scratch plus Debian's
# static busybox, made with `docker import` (no registry is needed). Run it once before
# `aios build --project examples/inference-project`.
set -eu
ref=${1:-aios-example/greeter:1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q busybox-static >/dev/null && dpkg-deb -x busybox-static_*.deb deb)
mkdir -p "$work/root/bin" "$work/root/data"
cp "$work/deb/bin/busybox" "$work/root/bin/busybox"
ln -s busybox "$work/root/bin/sh"
echo "hello from a container image" > "$work/root/data/greeting"
# Fixed times: the same busybox gives the same image layer.
find "$work/root" -exec touch -h -d @1700000000 {} +
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -C "$work/root" -cf "$work/rootfs.tar" .
docker import \
  --change 'WORKDIR /data' \
  --change 'ENV GREETER=aios' \
  --change 'CMD ["/bin/busybox", "sh", "-c", "echo \"greeter: $(/bin/busybox cat greeting) ($GREETER)\"; exec /bin/busybox sleep 2147483647"]' \
  "$work/rootfs.tar" "$ref"
