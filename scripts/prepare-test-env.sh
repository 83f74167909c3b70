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
# zfs-fuse: one daemon per machine, shared by the tests; never stopped by them.
if command -v zfs-fuse >/dev/null && ! timeout 5 zpool list >/dev/null 2>&1; then
  echo "prepare: starting zfs-fuse"
  mkdir -p /var/run/zfs /var/lock/zfs
  pidfile=/var/run/zfs-fuse.pid
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
  zfs-fuse --pidfile "$pidfile" --no-kstat-mount
  for _ in $(seq 1 50); do timeout 2 zpool list >/dev/null 2>&1 && break; sleep 0.1; done
  timeout 5 zpool list >/dev/null 2>&1 || { echo "prepare: zfs-fuse did not answer" >&2; exit 1; }
fi
