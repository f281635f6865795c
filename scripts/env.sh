# SPDX-License-Identifier: GPL-2.0
# Shared settings for the scripts; sourced, never run.  Every value can be
# overridden from the environment (or as a make variable).

DEVMEM_SRC=${DEVMEM_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Build cache outside the work tree: kernel source and build output live
# here so that later checkouts rebuild incrementally.
DEVMEM_CACHE=${DEVMEM_CACHE:-$HOME/.cache/devmem-rs}
DEVMEM_TOOLS=${DEVMEM_TOOLS:-$DEVMEM_CACHE/tools}
KVER=${KVER:-6.12}
KSRC=${KSRC:-$DEVMEM_CACHE/linux-source-$KVER}
# Which devmem core the kernel is built with: rust (default) or c
# (upstream's net/core/devmem.c), each in its own build directory.
CORE=${CORE:-rust}
case $CORE in
rust) KOBJ=${KOBJ:-$DEVMEM_CACHE/build} ;;
c) KOBJ=${KOBJ:-$DEVMEM_CACHE/build-c} ;;
*) echo "env: CORE must be rust or c, not '$CORE'" >&2; return 2 ;;
esac
BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
KRUSTC=${KRUSTC:-/usr/bin/rustc}
# The Rust standard library's source, matching $KRUSTC. Derived from an
# installed tool, so it is computed when first needed (after setup.sh has
# installed rustc-web), never while this file is sourced.
rust_lib_src() {
	if [ -z "${RUST_LIB_SRC:-}" ]; then
		local v
		v=$("$KRUSTC" --version 2>/dev/null) || return 1
		v=${v#rustc }
		RUST_LIB_SRC=/usr/src/rustc-${v%% *}/library
	fi
	echo "$RUST_LIB_SRC"
}
# Name of our tree inside the kernel source (a symlink to DEVMEM_SRC).
DEVMEM_KDIR=devmem-rs
PYTHON=${PYTHON:-/usr/bin/python3}
# Where setup.sh fetches Debian trixie's ethtool from: by default the
# Debian mirror this machine's apt already uses (its main archive, from
# deb822 .sources or a one-line sources.list).
debian_mirror() {
	{
		sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n' || true
		sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
	} | grep -E '^https?://' | grep -v -e security -e backports | head -n 1 || true
}
DEVMEM_DEBIAN_MIRROR=${DEVMEM_DEBIAN_MIRROR:-$(debian_mirror)}
JOBS=${JOBS:-$(nproc)}

kmake() {
	local lib
	lib=$(rust_lib_src) || { echo "kmake: $KRUSTC missing (run 'make setup')" >&2; return 1; }
	make -C "$KSRC" O="$KOBJ" -j"$JOBS" \
		RUSTC="$KRUSTC" HOSTRUSTC="$KRUSTC" RUSTFMT=/usr/bin/rustfmt \
		RUSTDOC=/usr/bin/rustdoc CLIPPY_DRIVER=/usr/bin/clippy-driver \
		RUST_LIB_SRC="$lib" BINDGEN="$DEVMEM_TOOLS/bin/bindgen" \
		"$@"
}
