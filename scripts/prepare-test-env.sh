#!/usr/bin/env bash
# Builds the cached test guest and container template and starts the machine-wide daemons
# that tests share (zfs-fuse). Idempotent. Per-test daemons (Ceph, dbus) are started by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in packages/*/scripts/build-*.sh; do
  [ -x "$script" ] || continue
  echo "prepare: $script"
  "$script"
done
if command -v zfs-fuse >/dev/null && ! pgrep -x zfs-fuse >/dev/null; then
  echo "prepare: starting zfs-fuse"
  mkdir -p /var/run/zfs /var/lock/zfs
  zfs-fuse --pidfile /var/run/zfs/zfs-fuse.pid
  for _ in $(seq 1 50); do [ -S /var/run/zfs/zfs_socket ] && break; sleep 0.1; done
fi
