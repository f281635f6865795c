#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fresh-check`: prove that the README's two commands work the first
# time on a bare Debian 12 machine. Debian bookworm (debootstrap, minbase:
# nothing of make setup's packages installed) is unpacked afresh into
# $DEVMEM_FRESH/root, given the host's apt sources, and entered with
# chroot; inside it, as root with an empty environment and an empty
# ~/.cache, it installs only the README's prerequisites (git, make), clones
# this repository's HEAD (committed work only), runs `make run`, then
# `make test` from a second clean clone that shares the first one's cache.
# Its output is shown and kept in $DEVMEM_FRESH/fresh-check.log.
#
# DEVMEM_FRESH_STEPS=setup stops after `make setup` in the first clone:
# minutes instead of hours, for a change that touches only set-up (the
# packages, bindgen, trixie's ethtool); the whole check is the default.
#
# The debootstrap result is kept as a tarball and unpacked anew each time,
# so every check starts from the same bare root. Needs root on the host
# (chroot, mounts) and about 10 GB of disk.
set -euo pipefail
. "$(dirname "$0")/env.sh"

FRESH=${DEVMEM_FRESH:-$DEVMEM_CACHE/fresh}
root=$FRESH/root
base=$FRESH/bookworm-minbase.tar
log=$FRESH/fresh-check.log
log() { echo "fresh-check: $*"; }

[ "$(id -u)" = 0 ] || { log "needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
[ -n "$DEVMEM_DEBIAN_MIRROR" ] || { log "no Debian mirror in apt's sources: set DEVMEM_DEBIAN_MIRROR" >&2; exit 2; }
mkdir -p "$FRESH"

umount_root() {
	local m p
	# Whatever still runs inside the root (an interrupted check) first.
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	# Deepest first.
	for m in $(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}
trap umount_root EXIT

t0=$SECONDS
if [ ! -s "$base" ]; then
	command -v debootstrap >/dev/null || {
		log "apt-get install debootstrap (host)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	}
	log "debootstrap --variant=minbase bookworm from $DEVMEM_DEBIAN_MIRROR"
	rm -rf "$FRESH/base"
	debootstrap --variant=minbase bookworm "$FRESH/base" "$DEVMEM_DEBIAN_MIRROR" > "$FRESH/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$FRESH/debootstrap.log"; log "debootstrap failed" >&2; exit 1; }
	tar -C "$FRESH/base" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$FRESH/base"
	log "bare root kept in $base ($((SECONDS - t0)) s)"
fi

umount_root
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$base"
# The host's apt sources (and the keys they name), so the root installs
# from the same archives as the machine it stands for.
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
for d in sources.list.d trusted.gpg.d keyrings; do
	[ -d "/etc/apt/$d" ] && cp -a "/etc/apt/$d/." "$root/etc/apt/$d/" 2>/dev/null
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The site's own CA certificates (Debian's place for them; a network with a
# TLS-inspecting proxy needs them for crates.io): part of the machine, not
# of make setup, like the apt sources. ca-certificates adds them to the
# trust store when setup.sh installs it.
if [ -d /usr/local/share/ca-certificates ]; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"

git clone -q "$DEVMEM_SRC" "$root/root/devmem-rs"
log "bare Debian 12 root at $root; testing $(git -C "$DEVMEM_SRC" log -1 --format='%h %s')"

inside='
set -euo pipefail
echo "fresh-check: in the root: $(. /etc/os-release; echo "$PRETTY_NAME"), packages installed: $(dpkg-query -W | wc -l)"
for p in rustc-web linux-source-6.12 qemu-system-x86 build-essential python3; do
	if dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "fresh-check: $p is already installed: not a bare root"
		exit 1
	fi
done
t=$SECONDS
echo "fresh-check: prerequisites (README): apt-get install git make"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git make > /tmp/prereq.log 2>&1 ||
	{ cat /tmp/prereq.log; exit 1; }
echo "fresh-check: prerequisites took $((SECONDS - t)) s"
cd /root/devmem-rs
if [ "$steps" = setup ]; then
	t=$SECONDS
	echo "fresh-check: $ make setup   (DEVMEM_FRESH_STEPS=setup: nothing after it)"
	make setup
	echo "fresh-check: make setup took $((SECONDS - t)) s"
	exit 0
fi
t=$SECONDS
echo "fresh-check: $ make run   (first time: nothing installed, empty ~/.cache)"
make run
echo "fresh-check: make run took $((SECONDS - t)) s"
git clone -q /root/devmem-rs /root/devmem-rs-2
cd /root/devmem-rs-2
t=$SECONDS
echo "fresh-check: $ make test   (a second clean clone, sharing the cache)"
make test
echo "fresh-check: make test took $((SECONDS - t)) s"
'
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	steps="${DEVMEM_FRESH_STEPS:-all}" /bin/bash -c "$inside" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
log "$([ "$rc" = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - t0)) s; log: $log"
exit "$rc"
