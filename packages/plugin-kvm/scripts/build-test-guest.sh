#!/usr/bin/env bash
# Builds the tiny real guest that plugin-kvm's tests boot under QEMU (TCG):
#   - a Debian cloud kernel (package linux-image-<ver>-cloud-amd64 fetched with apt-get download,
#     only vmlinuz and the modules below unpacked, via dpkg-deb --fsys-tarfile)
#   - an initramfs of busybox-static + qemu-ga (package qemu-guest-agent, with the libraries
#     ldd lists) + the virtio/scsi/ACPI-button modules + our own /init (guest/init.sh beside
#     this script), packed with `busybox cpio -o -H newc | gzip`.
#
# Output (default <repo>/.cache/test-guest/, or $CORRAL_CACHE_DIR/test-guest/):
#   vmlinuz        the kernel
#   initrd.img     the initramfs
#   manifest.json  {"protocol":N,"kernelVersion":..., "kernel":abs path, "initrd":abs path, ...}
#   stamp          what the cache was built from; a matching stamp skips the rebuild
#
# The guest's serial protocol (markers, CORRAL-CMD) is documented in guest/init.sh.
#
# Usage: build-test-guest.sh [--force]
# Prints the output directory on stdout (last line); progress goes to stderr.
# Needs root (mknod /dev/console in the image) and the packages in ../debian-packages.txt.
set -euo pipefail

# Bump when the image layout changes in a way the stamp would not notice.
readonly BUILD_VERSION=2
# Serial protocol version, reported by the guest as CORRAL-GUEST-INIT proto=N.
readonly PROTOCOL_VERSION=1

# Modules in insmod order (there is no modules.dep; dependencies come first).
# Dependencies as `modinfo -F depends` reports them for the 6.1 cloud kernel:
#   virtio: virtio_ring; virtio_pci: virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio
#   virtio_blk/console/balloon: virtio,virtio_ring; net_failover: failover
#   virtio_net: virtio_ring,virtio,net_failover; scsi_mod: scsi_common; sd_mod: scsi_mod
#   virtio_scsi: scsi_mod,virtio_ring,virtio; sr_mod: scsi_mod,cdrom,scsi_common
#   button, evdev: none (ACPI power button -> input event for busybox acpid)
readonly MODULES=(
  virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
  virtio_blk failover net_failover virtio_net virtio_console virtio_balloon
  scsi_common scsi_mod sd_mod cdrom sr_mod virtio_scsi
  button evdev
)

log() { printf 'build-test-guest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

force=0
case "${1:-}" in
  --force) force=1 ;;
  '') ;;
  *) die "unknown argument '$1' (usage: build-test-guest.sh [--force])" ;;
esac

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../../.." && pwd)
cache_root=${CORRAL_CACHE_DIR:-$repo_root/.cache}
out=$cache_root/test-guest
init_src=$script_dir/guest/init.sh

[ "$(id -u)" = 0 ] || die "must run as root (the image needs a /dev/console device node)"
for tool in busybox dpkg-deb dpkg-query apt-get apt-cache flock gzip sha256sum tar chroot ldd; do
  command -v "$tool" >/dev/null || die "'$tool' not found (install the packages in packages/plugin-kvm/debian-packages.txt)"
done
[ -f "$init_src" ] || die "missing $init_src"

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true; }

busybox_ver=$(pkg_version busybox-static)
[ -n "$busybox_ver" ] || die "package busybox-static is not installed"
qga_ver=$(pkg_version qemu-guest-agent)
script_sum=$(cat "${BASH_SOURCE[0]}" "$init_src" | sha256sum | cut -d' ' -f1)
stamp="build=$BUILD_VERSION protocol=$PROTOCOL_VERSION sources=$script_sum busybox=$busybox_ver qemu-guest-agent=${qga_ver:-download}"

if [ "$force" = 0 ] && [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] \
  && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ -s "$out/manifest.json" ]; then
  log "up to date: $out"
  echo "$out"
  exit 0
fi

start=$(date +%s.%N)
debs=$out/debs
mkdir -p "$debs"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- kernel -----------------------------------------------------------------------------------
kernel_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
  log "apt does not know linux-image-cloud-amd64 yet: running apt-get update"
  apt-get update -qq >&2
  kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || die "cannot find the kernel package behind linux-image-cloud-amd64"
kver=${kpkg#linux-image-}

fetch_deb() { # fetch_deb PACKAGE -> prints the .deb path (downloaded once into $debs)
  local pkg=$1 f
  f=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    log "downloading $pkg"
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
    f=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
  fi
  [ -n "$f" ] || die "apt-get download $pkg produced no .deb"
  echo "$f"
}

kdeb=$(fetch_deb "$kpkg")
log "unpacking $(basename "$kdeb")"
# Only the kernel and our modules (the package holds about 1100 modules).
mkdir -p "$work/kernel"
patterns=("./boot/vmlinuz-$kver")
for m in "${MODULES[@]}"; do patterns+=("./lib/modules/$kver/kernel/*/$m.ko"); done
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/kernel" --wildcards "${patterns[@]}"
[ -f "$work/kernel/boot/vmlinuz-$kver" ] || die "$kdeb has no boot/vmlinuz-$kver"
moddir=$work/kernel/lib/modules/$kver/kernel

# --- initramfs tree ---------------------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc/acpi/PWRF,lib/modules,var,root}
ln -s ../run "$root/var/run"
chmod 1777 "$root/tmp"

busybox_bin=$(command -v busybox)
if ldd "$busybox_bin" >/dev/null 2>&1; then die "$busybox_bin is dynamically linked: install busybox-static"; fi
cp "$busybox_bin" "$root/bin/busybox"
# Every applet as a symlink to /bin/busybox, at the paths `busybox --list-full` gives.
chroot "$root" /bin/busybox --install -s
[ -L "$root/sbin/acpid" ] && [ -L "$root/usr/bin/md5sum" ] || die "busybox --install -s did not create the applet links"
# Writes stdin to a file of the image, never through an applet symlink (that would write to
# the host's /bin/busybox).
put() { rm -f "$root/$1"; cat > "$root/$1"; }

mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 620 "$root/dev/ttyS0" c 4 64

# qemu-ga: the installed one, or unpacked from the downloaded package.
if [ -x /usr/sbin/qemu-ga ] && [ -n "$qga_ver" ]; then
  qga=/usr/sbin/qemu-ga
else
  qdeb=$(fetch_deb qemu-guest-agent)
  dpkg-deb -x "$qdeb" "$work/qga"
  qga=$work/qga/usr/sbin/qemu-ga
fi
rm -f "$root/usr/sbin/qemu-ga"
cp "$qga" "$root/usr/sbin/qemu-ga"
# Libraries as ldd lists them (`name => /path (addr)` or `/path (addr)` for the loader).
ldd "$qga" | awk '{ for (i = 1; i <= NF; i++) if (substr($i, 1, 1) == "/") print $i }' | while read -r lib; do
  mkdir -p "$root/$(dirname "$lib")"
  cp -L "$lib" "$root/$lib"
done
[ -n "$(ls "$root"/lib64/ld-linux-x86-64.so.2 2>/dev/null)" ] || die "ldd listed no dynamic loader for qemu-ga"

# Kernel modules, flattened into /lib/modules/<name>.ko.
for m in "${MODULES[@]}"; do
  f=$(find "$moddir" -name "$m.ko" -print -quit)
  [ -n "$f" ] || die "module $m.ko not found in $kpkg"
  cp "$f" "$root/lib/modules/$m.ko"
done
printf '%s\n' "${MODULES[@]}" > "$root/etc/modules"

# Our /init, and the ACPI power button action for busybox acpid (event "PWRF" runs
# /etc/acpi/PWRF/00000080, see busybox acpid's built-in action table).
sed "s/@PROTOCOL_VERSION@/$PROTOCOL_VERSION/" "$init_src" | put init
chmod 755 "$root/init"
put etc/acpi/PWRF/00000080 <<'EOF'
#!/bin/sh
echo "CORRAL-ACPI-POWERDOWN" > /dev/console
exec /sbin/corral-poweroff
EOF
# qemu-ga's guest-shutdown runs `/sbin/shutdown -P|-H|-r +0 "hypervisor initiated shutdown"`.
put sbin/shutdown <<'EOF'
#!/bin/sh
case "$1" in -r) action=reboot ;; *) action=poweroff ;; esac
echo "CORRAL-GA-SHUTDOWN $action" > /dev/console
# Exit 0 at once so qemu-ga sees success, then go down.
( sleep 0.2; exec /sbin/corral-poweroff "$action" ) </dev/null >/dev/null 2>&1 &
exit 0
EOF
put sbin/corral-poweroff <<'EOF'
#!/bin/sh
echo "CORRAL-GUEST-SHUTDOWN ${1:-poweroff}" > /dev/console
sync
if [ "$1" = reboot ]; then reboot -f; else poweroff -f; fi
EOF
# Disk helpers for tests (offsets and lengths in bytes).
put bin/corral-disk-write <<'EOF'
#!/bin/sh
# corral-disk-write DEV OFFSET TEXT: writes TEXT (no newline) at byte OFFSET, flushed to the device.
[ $# = 3 ] || { echo "usage: corral-disk-write DEV OFFSET TEXT" >&2; exit 2; }
printf '%s' "$3" | dd of="$1" bs=1M seek="$2" oflag=seek_bytes conv=notrunc,fsync 2>/dev/null || exit 1
sync
EOF
put bin/corral-disk-read <<'EOF'
#!/bin/sh
# corral-disk-read DEV OFFSET LENGTH: prints LENGTH bytes at byte OFFSET, read from the device
# (page cache dropped first).
[ $# = 3 ] || { echo "usage: corral-disk-read DEV OFFSET LENGTH" >&2; exit 2; }
sync
blockdev --flushbufs "$1" 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches
dd if="$1" bs=1M skip="$2" count="$3" iflag=skip_bytes,count_bytes,fullblock 2>/dev/null
EOF
put bin/corral-disk-md5 <<'EOF'
#!/bin/sh
# corral-disk-md5 DEV OFFSET LENGTH: prints the md5 (hex) of LENGTH bytes at byte OFFSET.
[ $# = 3 ] || { echo "usage: corral-disk-md5 DEV OFFSET LENGTH" >&2; exit 2; }
set -o pipefail 2>/dev/null
corral-disk-read "$1" "$2" "$3" | md5sum | cut -d' ' -f1
EOF
chmod 755 "$root/etc/acpi/PWRF/00000080" "$root/sbin/shutdown" "$root/sbin/corral-poweroff" \
  "$root/bin/corral-disk-write" "$root/bin/corral-disk-read" "$root/bin/corral-disk-md5"
echo corral-test-guest | put etc/hostname
echo "root:x:0:0:root:/root:/bin/sh" | put etc/passwd
echo "root:x:0:" | put etc/group

# --- pack -------------------------------------------------------------------------------------
log "packing initramfs"
(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null | gzip -6) > "$work/initrd.img"

cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
cat > "$work/manifest.json" <<EOF
{
  "buildVersion": $BUILD_VERSION,
  "protocol": $PROTOCOL_VERSION,
  "kernelPackage": "$kpkg",
  "kernelVersion": "$kver",
  "busyboxVersion": "$busybox_ver",
  "qemuGuestAgentVersion": "${qga_ver:-download}",
  "kernel": "$out/vmlinuz",
  "initrd": "$out/initrd.img",
  "modules": [$(printf '"%s",' "${MODULES[@]}" | sed 's/,$//')],
  "cmdline": "console=ttyS0 panic=-1 quiet loglevel=3"
}
EOF
# Publish: files first, stamp last (a crash in between leaves a stale stamp => rebuild).
rm -f "$out/stamp"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.img" "$out/initrd.img"
mv -f "$work/manifest.json" "$out/manifest.json"
echo "$stamp" > "$out/stamp"
# Keep only the kernel and agent packages this build used.
for f in "$debs"/*.deb; do
  case "$f" in "$kdeb" | "${qdeb:-}") ;; *) rm -f "$f" ;; esac
done

end=$(date +%s.%N)
log "built $kpkg + initramfs ($(du -k "$out/initrd.img" | cut -f1) KiB) in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
echo "$out"
