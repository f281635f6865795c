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

# step TITLE LOG CMD...: run CMD with its output in LOG, for commands a
# person watches (make run): one line when it starts, a line a minute while
# it runs, its time when it ends; on failure the log's tail and its path.
step() {
	local title=$1 log=$2 t0=$SECONDS pid rc
	shift 2
	mkdir -p "$(dirname "$log")"
	echo "==> $title (log: $log)"
	"$@" > "$log" 2>&1 &
	pid=$!
	while ! wait_for "$pid" 60; do
		echo "    ... $(( (SECONDS - t0) / 60 )) min"
	done
	wait "$pid" && rc=0 || rc=$?
	if [ "$rc" != 0 ]; then
		tail -n 30 "$log" | sed 's/^/    | /'
		echo "==> $title failed (exit $rc) after $((SECONDS - t0)) s; log: $log" >&2
		return "$rc"
	fi
	echo "    done in $((SECONDS - t0)) s"
}

# wait_for PID SECONDS: true once PID has ended, false after SECONDS.
wait_for() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 1
	done
	! kill -0 "$1" 2>/dev/null
}

# guest_reports LOG: the lines of a guest console log that report a kernel
# problem (oops, WARN, BUG, lockdep, kmemleak, list/refcount debugging,
# slab poisoning), with line numbers; nothing when the log is clean.
guest_reports() {
	local pat='WARNING:|BUG:|Oops|Kernel panic|general protection fault|kernel BUG|'
	pat+='possible circular locking|possible recursive locking|inconsistent lock state|'
	pat+='suspicious RCU usage|DEBUG_LOCKS_WARN_ON|unreferenced object|UBSAN|KASAN|'
	pat+='list_add corruption|list_del corruption|refcount_t:|soft lockup|hung_task|'
	pat+='blocked for more than|Call Trace:|kmemleak: Cannot|double free'
	grep -nE "$pat" "$1" || true
}
