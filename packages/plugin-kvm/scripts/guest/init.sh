#!/bin/sh
# /init of Corral's test guest (busybox sh, PID 1). Built into the initramfs by
# ../build-test-guest.sh. Everything it prints goes to the serial console (ttyS0).
#
# Serial protocol, version @PROTOCOL_VERSION@. Every marker is one line; values never contain
# spaces except where noted; a line may carry a trailing \r.
#   CORRAL-GUEST-INIT proto=<N> kernel=<uname -r> uptime=<s> first line of /init
#   CORRAL-DEBUG ...                                       only with kernel arg corral.debug=1
#   CORRAL-MODULE-FAILED <module>                          an insmod failed (boot goes on)
#   CORRAL-GUEST-BOOTED uptime=<seconds>                   drivers loaded
#   CORRAL-DISK name=<dev> size=<bytes> serial=<serial|-> model=<model|-> hctl=<h:c:t:l|->
#                                                          one per block device present at boot
#   CORRAL-DISKS-END count=<n>
#   CORRAL-NIC name=<ifname> mac=<mac> driver=<driver|->   one per NIC (lo excluded)
#   CORRAL-NICS-END count=<n>
#   CORRAL-QGA-STARTED port=<vportNpM>                     qemu-ga runs on org.qemu.guest_agent.0
#   CORRAL-QGA-ABSENT                                      no such virtio-serial port
#   CORRAL-GUEST-READY uptime=<seconds>                    the command loop listens from now on
#   CORRAL-DISK-ADDED name=.. size=.. serial=.. model=.. hctl=..   hot-plugged disk (polled, 0.5 s)
#   CORRAL-DISK-REMOVED name=<dev>
#   CORRAL-NIC-ADDED name=.. mac=.. driver=..   /  CORRAL-NIC-REMOVED name=<ifname>
#   CORRAL-ACPI-POWERDOWN                                  ACPI power button pressed
#   CORRAL-GA-SHUTDOWN <poweroff|reboot>                   qemu-ga guest-shutdown
#   CORRAL-GUEST-SHUTDOWN <poweroff|reboot>                about to power off / reboot
# Commands: the host writes one line `CORRAL-CMD <id> <shell command>` (id: no spaces) to the
# serial port; the guest runs it with sh -c (stdout+stderr captured) and answers with
#   CORRAL-OUT <id> <line>     for each output line, then
#   CORRAL-RC <id> <exit code>
# Commands run one at a time. Helpers in the image: corral-disk-write DEV OFFSET TEXT,
# corral-disk-read DEV OFFSET LENGTH, corral-disk-md5 DEV OFFSET LENGTH (bytes; reads bypass
# the page cache), corral-poweroff [reboot].
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root

mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/pts /run/qga
mount -t devpts devpts /dev/pts
hostname "$(cat /etc/hostname)"

uptime_s() { cut -d' ' -f1 /proc/uptime; }
debug=
case " $(cat /proc/cmdline) " in *" corral.debug=1 "*) debug=1 ;; esac

echo "CORRAL-GUEST-INIT proto=@PROTOCOL_VERSION@ kernel=$(uname -r) uptime=$(uptime_s)"

# insmod waits for the drivers' asynchronous probes and SCSI scans (the kernel runs
# async_synchronize_full() after a module's init), so every disk present at boot is listed.
# (scsi_mod scan=sync is slower here: about 6 s under TCG for one virtio-scsi controller.)
for m in $(cat /etc/modules); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || echo "CORRAL-MODULE-FAILED $m"
  [ -n "$debug" ] && echo "CORRAL-DEBUG insmod $m uptime=$(uptime_s)"
done
ip link set lo up 2>/dev/null

echo "CORRAL-GUEST-BOOTED uptime=$(uptime_s)"

# disk_line NAME -> "name=.. size=.. serial=.. model=.. hctl=.."
disk_line() {
  d=/sys/block/$1
  sectors=$(cat "$d/size" 2>/dev/null || echo 0)
  serial=-
  if [ -r "$d/serial" ]; then
    serial=$(cat "$d/serial")
  elif [ -r "$d/device/vpd_pg80" ]; then
    # SCSI unit serial number page: 4 header bytes, then the serial.
    serial=$(dd if="$d/device/vpd_pg80" bs=1 skip=4 2>/dev/null | tr -d '\000' | tr -d ' ')
  fi
  [ -n "$serial" ] || serial=-
  model=$(tr -d ' ' 2>/dev/null <"$d/device/model")
  [ -n "$model" ] || model=-
  hctl=-
  for s in "$d"/device/scsi_device/*; do [ -e "$s" ] && hctl=${s##*/}; done
  echo "name=$1 size=$((sectors * 512)) serial=$serial model=$model hctl=$hctl"
}

nic_line() {
  n=/sys/class/net/$1
  drv=-
  [ -e "$n/device/driver" ] && drv=$(basename "$(readlink "$n/device/driver")")
  # virtio_net sits on a virtioN device whose driver is virtio_net.
  echo "name=$1 mac=$(cat "$n/address") driver=$drv"
}

list_disks() {
  for d in /sys/block/*; do
    [ -e "$d" ] || continue
    case ${d##*/} in loop* | ram* | zram*) continue ;; esac
    echo "${d##*/}"
  done
}
list_nics() {
  for n in /sys/class/net/*; do
    [ -e "$n" ] || continue
    [ "${n##*/}" = lo ] && continue
    echo "${n##*/}"
  done
}

count=0
for d in $(list_disks); do echo "CORRAL-DISK $(disk_line "$d")"; count=$((count + 1)); done
echo "CORRAL-DISKS-END count=$count"
count=0
for n in $(list_nics); do echo "CORRAL-NIC $(nic_line "$n")"; count=$((count + 1)); done
echo "CORRAL-NICS-END count=$count"

# Guest agent on the virtio-serial port named org.qemu.guest_agent.0 (the name arrives from
# the host shortly after the port appears: wait up to 2 s).
ga_port=
i=0
while [ $i -lt 20 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ] && ga_port=${p##*/}
  done
  [ -n "$ga_port" ] && break
  # No virtio-serial controller at all: do not wait.
  [ -e /sys/class/virtio-ports ] && [ -n "$(ls /sys/class/virtio-ports 2>/dev/null)" ] || break
  sleep 0.1
  i=$((i + 1))
done
if [ -n "$ga_port" ]; then
  (
    while :; do
      qemu-ga -m virtio-serial -p "/dev/$ga_port" -t /run/qga -l /run/qemu-ga.log -f /run/qemu-ga.pid
      sleep 1
    done
  ) </dev/null >/dev/null 2>&1 &
  echo "CORRAL-QGA-STARTED port=$ga_port"
else
  echo "CORRAL-QGA-ABSENT"
fi

# ACPI power button -> /etc/acpi/PWRF/00000080.
acpid -f -l /run/acpid.log </dev/null >/dev/null 2>&1 &
acpid_pid=$!
# READY promises that a power button press is seen: wait (at most 10 s) until acpid holds an
# input event device open. Without this, a loaded host printed READY before acpid listened and
# the host's ACPI shutdown request was lost.
acpid_listening() {
  for fd in /proc/$acpid_pid/fd/*; do
    case $(readlink "$fd" 2>/dev/null) in /dev/input/event*) return 0 ;; esac
  done
  return 1
}
tries=0
while ! acpid_listening && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done

# Hotplug watcher.
(
  disks=" $(list_disks | tr '\n' ' ') "
  nics=" $(list_nics | tr '\n' ' ') "
  while sleep 0.5; do
    now=" $(list_disks | tr '\n' ' ') "
    if [ "$now" != "$disks" ]; then
      for d in $now; do case $disks in *" $d "*) ;; *) echo "CORRAL-DISK-ADDED $(disk_line "$d")" ;; esac; done
      for d in $disks; do case $now in *" $d "*) ;; *) echo "CORRAL-DISK-REMOVED name=$d" ;; esac; done
      disks=$now
    fi
    now=" $(list_nics | tr '\n' ' ') "
    if [ "$now" != "$nics" ]; then
      for n in $now; do case $nics in *" $n "*) ;; *) echo "CORRAL-NIC-ADDED $(nic_line "$n")" ;; esac; done
      for n in $nics; do case $now in *" $n "*) ;; *) echo "CORRAL-NIC-REMOVED name=$n" ;; esac; done
      nics=$now
    fi
  done
) </dev/null &

stty -echo 2>/dev/null
echo "CORRAL-GUEST-READY uptime=$(uptime_s)"

# Command loop (PID 1 must never exit).
while :; do
  if ! IFS= read -r line; then
    sleep 1
    continue
  fi
  line=$(printf '%s' "$line" | tr -d '\r')
  case $line in
    "CORRAL-CMD "*)
      rest=${line#CORRAL-CMD }
      id=${rest%% *}
      cmd=${rest#"$id"}
      cmd=${cmd# }
      sh -c "$cmd" </dev/null >/run/cmd.out 2>&1
      rc=$?
      while IFS= read -r o || [ -n "$o" ]; do echo "CORRAL-OUT $id $o"; done </run/cmd.out
      echo "CORRAL-RC $id $rc"
      ;;
  esac
done
