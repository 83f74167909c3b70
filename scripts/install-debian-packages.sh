#!/usr/bin/env bash
# Installs the Debian packages Corral needs: the union of every package's debian-packages.txt
# (QEMU, LXC, zfs-fuse, Ceph...). Idempotent; needs root. Usage: scripts/install-debian-packages.sh [--quick]
# --quick skips the slow, optional Ceph packages (about 2 minutes) for the quick start.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t wanted < <(cat packages/*/debian-packages.txt examples/*/debian-packages.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
if [ "${1:-}" = "--quick" ]; then
  mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | grep -v '^ceph')
fi
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: all ${#wanted[@]} present"
  exit 0
fi
echo "debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
