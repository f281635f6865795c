#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the 6.12 kernel tree in the build cache and build it with devmem-rs.
#
#   kernel.sh tree     unpack, join our tree, apply patches/ (idempotent)
#   kernel.sh config   tree + configure from config/devmem-rs.config
#   kernel.sh build    config + build bzImage (incremental)
#   kernel.sh clippy   config + build our crates with CLIPPY=1 in a
#                      separate output directory (keeps the main one warm)
#   kernel.sh patches-check   apply the series to a pristine copy of the
#                      files it touches and report whether it is clean
set -euo pipefail
. "$(dirname "$0")/env.sh"

log() { echo "kernel: $*"; }

tree() {
	if [ ! -f "$KSRC/Makefile" ]; then
		local tarball=/usr/src/linux-source-$KVER.tar.xz
		log "unpacking $tarball into $DEVMEM_CACHE"
		mkdir -p "$DEVMEM_CACHE"
		tar -C "$DEVMEM_CACHE" -xf "$tarball"
		rm -rf "$KSRC/.devmem-rs-applied"
	fi
	# Join our tree: the kernel sees it as devmem-rs/, so every edit in
	# the work tree is picked up by an incremental build.
	ln -sfn "$DEVMEM_SRC" "$KSRC/$DEVMEM_KDIR"
	# Our kernel-crate additions, declared by patches/0002: each of our
	# files under rust/kernel/ is linked at its place in the kernel's
	# rust/kernel/ (beside upstream's net/phy.rs, sync/lock.rs, ...); links
	# to files we no longer have go first.
	find "$KSRC/rust/kernel" -type l -lname "*$DEVMEM_KDIR/*" -delete
	local f up
	while read -r f; do
		mkdir -p "$KSRC/${f%/*}"
		up=$(echo "${f%/*}" | sed -E 's|[^/]+|..|g')
		ln -sfn "$up/$DEVMEM_KDIR/$f" "$KSRC/$f"
	done < <(cd "$DEVMEM_SRC" && find rust/kernel -name '*.rs' | sort)
	# Our netlink specs, where ynl looks for them (and their schemas).
	for spec in "$DEVMEM_SRC"/Documentation/netlink/specs/*.yaml; do
		ln -sfn "../../../$DEVMEM_KDIR/Documentation/netlink/specs/${spec##*/}" \
			"$KSRC/Documentation/netlink/specs/${spec##*/}"
	done
	sync_patches
}

# Keep the patches applied to the cached tree equal to patches/series.
# The applied copy is kept so a changed series can be reverted first;
# only the files the patches touch get new mtimes.
sync_patches() {
	local applied=$KSRC/.devmem-rs-applied
	if [ -d "$applied" ] && diff -rq "$applied" "$DEVMEM_SRC/patches" >/dev/null 2>&1; then
		return 0
	fi
	if [ -d "$applied" ]; then
		log "reverting previously applied patches"
		tac "$applied/series" | while read -r p; do
			[ -n "$p" ] && patch -d "$KSRC" -p1 -R -s < "$applied/$p"
		done
	fi
	rm -rf "$applied"
	while read -r p; do
		[ -n "$p" ] || continue
		log "applying $p"
		patch -d "$KSRC" -p1 -s --forward --no-backup-if-mismatch < "$DEVMEM_SRC/patches/$p"
	done < "$DEVMEM_SRC/patches/series"
	cp -r "$DEVMEM_SRC/patches" "$applied"
}

# Apply the series to pristine copies of the files it touches (taken from
# the tarball) to prove it applies cleanly with no fuzz or offset.
patches_check() {
	local tmp files
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	files=$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$DEVMEM_SRC"/patches/*.patch | sort -u)
	tar -C "$tmp" -xf /usr/src/linux-source-$KVER.tar.xz \
		$(for f in $files; do echo "linux-source-$KVER/$f"; done)
	while read -r p; do
		[ -n "$p" ] || continue
		if ! out=$(patch -d "$tmp/linux-source-$KVER" -p1 --dry-run -F0 < "$DEVMEM_SRC/patches/$p" 2>&1) ||
			echo "$out" | grep -qE 'offset|fuzz|FAILED|reject'; then
			echo "$out"
			log "patch $p does not apply cleanly"
			return 1
		fi
		patch -d "$tmp/linux-source-$KVER" -p1 -s -F0 < "$DEVMEM_SRC/patches/$p"
		log "patch $p applies cleanly"
	done < "$DEVMEM_SRC/patches/series"
}

config() {
	local obj=${1:-$KOBJ}
	local frags=("$DEVMEM_SRC/config/devmem-rs.config")
	local stamp=$obj/.devmem-rs-config
	local want
	# CORE=c: upstream's C devmem core instead of ours.
	[ "$CORE" = c ] && frags+=("$DEVMEM_SRC/config/core-c.config")
	want=$(cat "${frags[@]}" "$DEVMEM_SRC/Kconfig" | sha256sum | cut -d' ' -f1)
	mkdir -p "$obj"
	if [ -f "$obj/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	log "configuring $obj (tinyconfig + ${frags[*]##*/}, $CORE devmem core)"
	KOBJ=$obj kmake -s tinyconfig >/dev/null
	(cd "$obj" && "$KSRC/scripts/kconfig/merge_config.sh" -m -O "$obj" .config "${frags[@]}" >/dev/null)
	KOBJ=$obj kmake -s olddefconfig >/dev/null
	# A symbol whose dependencies are not met is dropped silently by
	# Kconfig: refuse to build with a configuration we did not ask for.
	local bad=0 line sym val
	while read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%%=*}
			grep -q "^$sym=" "$obj/.config" && { log "$sym is set, wanted n"; bad=1; } ;;
		CONFIG_*=*) sym=${line%%=*}; val=${line#*=}
			grep -qx "$sym=$val" "$obj/.config" || { log "$sym=$val did not stick"; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}" | awk -F= '/^CONFIG_/ { v[$1] = $0; if (!($1 in o)) o[$1] = n++ }
		END { for (k in v) print o[k], v[k] }' | sort -n | cut -d' ' -f2-)
	[ $bad = 0 ] || { log "configuration fragment not satisfied"; return 1; }
	echo "$want" > "$stamp"
}

case "${1:-build}" in
tree) tree ;;
config) tree; config ;;
build)
	tree; config
	log "building bzImage in $KOBJ"
	kmake bzImage
	log "built $KOBJ/arch/x86/boot/bzImage"
	;;
clippy)
	tree; config "$KOBJ-clippy"
	log "clippy on devmem-rs (output in $KOBJ-clippy)"
	KOBJ=$KOBJ-clippy kmake CLIPPY=1 "$DEVMEM_KDIR/"
	;;
patches-check) patches_check ;;
*) echo "usage: $0 tree|config|build|clippy|patches-check" >&2; exit 2 ;;
esac
