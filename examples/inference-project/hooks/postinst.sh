#!/bin/sh
# Runs after the root filesystem is staged in $AIOS_ROOT, before any image is written.
# Maintainer scripts of Debian packages are not run: ca-certificates' would build the bundle.
set -eu
cd "$AIOS_ROOT"
mkdir -p etc/ssl/certs
find usr/share/ca-certificates -name '*.crt' | sort | xargs cat > etc/ssl/certs/ca-certificates.crt
echo "built at SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" > etc/aios-example/build-stamp
