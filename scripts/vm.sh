#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the built kernel in QEMU with the host's root file system shared
# read-only over 9p (as virtme-ng does), run a command and return its exit
# status. Without a command, give an interactive shell on the console.
#
#   vm.sh [-t TIMEOUT_S] [-l LOGFILE] [-o OUTDIR] [-s] [CMD...]
#
# The guest runs CMD with bash in the directory vm.sh was started from,
# as root, with writable tmpfs on /tmp, /run and /var/tmp; OUTDIR (default
# a fresh directory in the cache) is shared read-write and mounted at
# /run/devmem-out in the guest. The console log is kept in LOGFILE and,
# unless -s is given, shown on stdout. With -s (split) the kernel console
# (boot messages, KUnit) goes to LOGFILE only, and stdout shows just CMD's
# output, which the guest writes to its second serial port (and to the
# console, so LOGFILE has both in order).
# Environment: DEVMEM_ACCEL (tcg|kvm, default tcg: nested KVM does not work
# on our machines), DEVMEM_VM_MEM (default 2G), DEVMEM_VM_CPUS (default 2),
# DEVMEM_KERNEL (default the cache's bzImage), DEVMEM_CMDLINE (extra).
set -euo pipefail
. "$(dirname "$0")/env.sh"

timeout_s=0
log=
out=
split=0
while getopts "t:l:o:s" opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	l) log=$OPTARG ;;
	o) out=$OPTARG ;;
	s) split=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

kernel=${DEVMEM_KERNEL:-$KOBJ/arch/x86/boot/bzImage}
[ -f "$kernel" ] || { echo "vm: no kernel at $kernel (run 'make kernel')" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm: qemu-system-x86_64 missing (run 'make setup')" >&2; exit 2; }

if [ -z "$out" ]; then
	mkdir -p "$DEVMEM_CACHE/vm"
	out=$(mktemp -d "$DEVMEM_CACHE/vm/run.XXXXXX")
	trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/exit" "$out/split"
pwd > "$out/cwd"
# Host paths the guest must see even if they are under a directory it
# mounts a tmpfs on (/tmp, /var/tmp): see guest-init.sh.
printf '%s\n' "$(pwd)" "$DEVMEM_SRC" "$DEVMEM_CACHE" "$KSRC" > "$out/keep"
if [ $# -gt 0 ]; then
	printf '%s\n' "$*" > "$out/cmd"
	interactive=0
else
	rm -f "$out/cmd"
	interactive=1
fi

accel=${DEVMEM_ACCEL:-tcg}
cmdline="console=ttyS0 earlyprintk=serial,ttyS0 root=devmemroot rootfstype=9p"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=524288,cache=loose ro"
cmdline+=" init=$DEVMEM_SRC/scripts/guest-init.sh panic_on_warn=1 oops=panic panic=-1"
cmdline+=" softlockup_panic=1 kmemleak=on no_hash_pointers ${DEVMEM_CMDLINE:-}"

# Without ACPI the guest finds its CPUs in SeaBIOS's MP table, which lists
# one CPU per package: QEMU's default layout (one package of N cores) gives
# it one CPU. DEVMEM_VM_SMP=sockets (make bench) asks for one socket per
# vCPU, so the guest runs them all. make test keeps the default until a
# whole run with two is green (the skbs whose free was deferred to an idle
# CPU, which kept an unbound dma-buf's buffers, are flushed by the tests
# now; see README).
smp=${DEVMEM_VM_CPUS:-2}
[ "${DEVMEM_VM_SMP:-}" = sockets ] && smp+=",sockets=${DEVMEM_VM_CPUS:-2}"
qemu=(qemu-system-x86_64 -accel "$accel" -cpu max -smp "$smp"
	-m "${DEVMEM_VM_MEM:-2G}" -no-reboot -kernel "$kernel" -append "$cmdline"
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=devmemroot
	-fsdev local,id=out,path="$out",security_model=none
	-device virtio-9p-pci,fsdev=out,mount_tag=devmem_out)

if [ $interactive = 0 ] && [ $split = 1 ]; then
	: > "$out/split"
fi

if [ $interactive = 1 ]; then
	"${qemu[@]}" -nographic
	exit 0
fi

[ -n "$log" ] || log=$out/console.log
tmo=()
[ "$timeout_s" -gt 0 ] && tmo=(timeout --foreground -k 5 "$timeout_s")
set +e
if [ $split = 1 ]; then
	"${tmo[@]}" "${qemu[@]}" -display none -monitor none \
		-chardev file,id=console,path="$log" -serial chardev:console \
		-serial stdio </dev/null 2>&1 | sed -u 's/\r*$//'
	qrc=${PIPESTATUS[0]}
	sed -i 's/\r*$//' "$log"
else
	"${tmo[@]}" "${qemu[@]}" -display none -monitor none -serial stdio </dev/null 2>&1 |
		sed -u 's/\r*$//' | tee "$log"
	qrc=${PIPESTATUS[0]}
fi
set -e
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm: timed out after ${timeout_s}s" >&2
	exit 124
fi
if [ ! -f "$out/exit" ]; then
	echo "vm: the guest did not report an exit status (qemu exit $qrc)" >&2
	exit 125
fi
exit "$(cat "$out/exit")"
