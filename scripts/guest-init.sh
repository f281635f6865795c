#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM (see vm.sh): mount what a shell and our tests need on
# top of the host's read-only root, run the command, report its status,
# scan for memory leaks and reboot (QEMU runs with -no-reboot, so it exits).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=${TERM:-linux} LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# devtmpfs has no /dev/fd: bash's process substitution <(...), which
# upstream's shell selftest libraries use, needs it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/devmem-out /run/netns /run/host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 devmem_out /run/devmem-out
out=/run/devmem-out
# Writable scratch directories. Host paths the run needs (the work tree,
# the build cache, the current directory; listed by vm.sh in $out/keep)
# may live under them: keep those visible through bind mounts.
for d in /tmp /var/tmp /var/log /var/lib/sudo; do
	[ -d "$d" ] || continue
	mkdir -p "/run/host$d"
	mount --bind "$d" "/run/host$d"
	mount -t tmpfs -o mode=1777 tmpfs "$d"
	while read -r keep; do
		case "$keep" in
		"$d"/*)
			mkdir -p "$keep"
			mount --bind "/run/host$keep" "$keep" ;;
		esac
	done < $out/keep
done
mount -t debugfs debugfs /sys/kernel/debug
hostname devmem-vm
ip link set lo up

cd "$(cat $out/cwd 2>/dev/null || echo /)" 2>/dev/null || cd /
if [ -f $out/cmd ]; then
	echo "devmem-vm: running: $(cat $out/cmd)"
	if [ -f $out/split ]; then
		# vm.sh -s: the command's output on the second serial port
		# (the host's stdout), and on the console for the log.
		stty -F /dev/ttyS1 raw -echo 2>/dev/null
		{ /bin/bash -c "$(cat $out/cmd)" 2>&1; echo $? > /run/cmd-rc; } |
			tee /dev/ttyS1
		rc=$(cat /run/cmd-rc)
	else
		/bin/bash -c "$(cat $out/cmd)"
		rc=$?
	fi
	# Report leaks of anything the command did: kmemleak needs a scan
	# (auto-scan is off so it cannot race with the tests); it only reports
	# objects older than 5 s, so give the last test's objects that age.
	if [ -w /sys/kernel/debug/kmemleak ]; then
		sleep 6
		echo scan > /sys/kernel/debug/kmemleak
		echo scan > /sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak > $out/kmemleak
		if [ -s $out/kmemleak ]; then
			echo "devmem-vm: kmemleak report:"
			cat $out/kmemleak
		fi
	fi
	echo "devmem-vm: exit status $rc"
	echo $rc > $out/exit
else
	echo "devmem-vm: interactive shell; 'exit' or Ctrl-D powers off"
	setsid -c /bin/bash -l
fi
sync
echo b > /proc/sysrq-trigger
