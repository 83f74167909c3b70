#!/usr/bin/env bash
# Builds the busybox container template (a Proxmox-style vztmpl tarball) that the LXC tests and
# benchmarks create containers from: busybox-static with its applets installed as symlinks, a
# busybox init whose rcS never blocks (no udhcpc in the foreground), passwd/group/shadow,
# hostname, hosts, an empty resolv.conf and a udhcpc script for `ip=dhcp`.
#
# Output: ${CORRAL_CACHE_DIR:-<repo>/.cache}/lxc/busybox.tar.gz (about 1 MB, about 0.1 s).
# Idempotent: a stamp holding the hash of this script and of the busybox binary skips the
# rebuild when nothing changed. Needs root (chroot) and the Debian package busybox-static.
# Usage: build-busybox-template.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cache="${CORRAL_CACHE_DIR:-$repo/.cache}/lxc"
out="$cache/busybox.tar.gz"
stamp="$cache/busybox.tar.gz.stamp"
busybox="$(command -v busybox || true)"

if [ -z "$busybox" ]; then
  echo "build-busybox-template: busybox not found (install the Debian package busybox-static)" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-busybox-template: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

key="$(cat "$0" "$busybox" | sha256sum | cut -d' ' -f1)"
if [ "${1:-}" != "--force" ] && [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
  echo "build-busybox-template: $out is up to date"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.busybox-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
r="$work/rootfs"
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/network,proc,sys,dev,run,tmp,root,home,mnt,var/run,var/log,usr/share/udhcpc}
chmod 1777 "$r/tmp"
chmod 700 "$r/root"
cp "$busybox" "$r/bin/busybox"
chroot "$r" /bin/busybox --install -s

cat >"$r/etc/inittab" <<'EOF'
# busybox init (Corral test template)
::sysinit:/etc/init.d/rcS
::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF

cat >"$r/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# Runs once at boot. Never blocks: LXC configures static addresses itself, DHCP runs in the background.
mount -t proc proc /proc 2>/dev/null
mkdir -p /run /var/run /tmp
[ -s /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up 2>/dev/null
if [ -f /etc/network/interfaces ]; then
  ( ifup -a -f >/dev/null 2>&1 & )
fi
exit 0
EOF
chmod 755 "$r/etc/init.d/rcS"

cat >"$r/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: applies the lease (busybox example script, shortened).
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    if [ -n "$dns" ]; then
      : >/etc/resolv.conf
      [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
      for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    fi
    ;;
esac
exit 0
EOF
chmod 755 "$r/usr/share/udhcpc/default.script"

cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF
cat >"$r/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 640 "$r/etc/shadow"
echo busybox >"$r/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
: >"$r/etc/resolv.conf"
printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="\\h:\\w\\$ "\n' >"$r/etc/profile"
printf 'ID=busybox\nNAME="BusyBox (Corral test template)"\n' >"$r/etc/os-release"

tmp="$work/busybox.tar.gz"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='2024-01-01 00:00:00' -C "$r" -czf "$tmp" .
mv -f "$tmp" "$out"
echo "$key" >"$stamp"
echo "build-busybox-template: wrote $out ($(stat -c %s "$out") bytes)"
