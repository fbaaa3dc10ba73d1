#!/usr/bin/env bash
# Install what aiOS needs on a Debian 12 host: the Debian packages in ci/apt-packages.txt that
# are missing (through sudo only when not root), then the npm packages.
# --cuda: also Debian's CUDA toolkit 11.8 and g++-11 (non-free, about 3 GB) for runtime.backends
# "cuda", through a private apt configuration: the host's sources are never edited.
set -euo pipefail
cd "$(dirname "$0")/../.."
cuda=0
for a in "$@"; do
  case "$a" in
    --cuda) cuda=1 ;;
    *) echo "aios setup: unknown option $a (known: --cuda)" >&2; exit 2 ;;
  esac
done
mapfile -t wanted < <(grep -v '^#' ci/apt-packages.txt | sed '/^$/d')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "aios setup: missing Debian packages; as root, run:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "aios setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# apt-get download (kernel source, busybox) needs fresh package lists even when nothing was missing.
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || ${SUDO:-} apt-get update -qq
npm ci --no-audit --no-fund
if [ "$cuda" = 1 ] && ! { [ -x /usr/bin/nvcc ] && [ -x /usr/bin/g++-11 ] && [ -f /usr/include/cuda_runtime.h ]; }; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  apt_dir="$(mktemp -d)"
  trap 'rm -rf "$apt_dir"' EXIT
  mkdir -p "$apt_dir/lists/partial"
  for s in bookworm bookworm-updates; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main contrib non-free non-free-firmware"
  done >"$apt_dir/sources.list"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main contrib non-free non-free-firmware" >>"$apt_dir/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none" -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
  echo "aios setup: installing nvidia-cuda-toolkit and g++-11 (Debian non-free, through a private apt configuration)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get "${opts[@]}" update -qq
  $SUDO apt-get "${opts[@]}" install -y -qq --no-install-recommends nvidia-cuda-toolkit g++-11
fi
