#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the build and the tests need on a Debian 12 machine.
# Idempotent: each step checks first and returns in well under a second when
# its tool is already there.
set -euo pipefail

. "$(dirname "$0")/env.sh"

log() { echo "setup: $*"; }

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Debian packages: kernel source, the Rust toolchain that builds 6.12,
# kernel build dependencies, QEMU and the guest's user land (the guest sees
# the host's root file system read-only, so its tools are installed here);
# cargo for tools/net/devmem-rx, matplotlib for `make bench`'s plots and
# perf for its profiles (BENCH_PERF=1; Debian 12's perf reads 6.12's data);
# iperf3 and netsniff-ng (mausezahn) for upstream's driver selftests
# (drivers/net: lib/py/load.py's traffic generator, the shell libraries).
PKGS="ca-certificates linux-source-6.12 rustc-web rust-web-src rust-web-clippy rustfmt-web
      libclang-dev build-essential flex bison bc libelf-dev libssl-dev cpio
      xz-utils kmod python3 python3-yaml python3-jsonschema libmnl-dev qemu-system-x86
      iproute2 iputils-ping socat ethtool busybox-static procps rsync
      cargo-web python3-matplotlib linux-perf iperf3 netsniff-ng"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "apt-get install$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# bindgen: pinned, from crates.io, into our tool directory.
if ! "$DEVMEM_TOOLS/bin/bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	log "cargo install bindgen-cli $BINDGEN_VERSION (takes ~3 min)"
	command -v cargo >/dev/null || {
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cargo-web
	}
	cargo install --locked --root "$DEVMEM_TOOLS" "bindgen-cli@$BINDGEN_VERSION"
fi

# A recent ethtool for the guest. Upstream's ncdevmem runs
# `ethtool -G <if> tcp-data-split on|off`, which bookworm's ethtool 6.1
# cannot do. Debian trixie's binary package runs on bookworm (Depends:
# libc6, libmnl0); it is fetched with a private apt configuration (sources,
# lists and cache in a scratch directory, removed afterwards), so the
# system's apt sources, preferences and state are never changed, and
# unpacked into $DEVMEM_TOOLS/ethtool-trixie. Nothing is installed.
trixie_ethtool() {
	local dir=$DEVMEM_TOOLS/ethtool-trixie
	"$dir/usr/sbin/ethtool" --help 2>&1 | grep -q tcp-data-split && return 0
	local t0=$SECONDS apt deb dep alt ok name op ver have
	[ -n "$DEVMEM_DEBIAN_MIRROR" ] || {
		log "no Debian mirror in apt's sources: set DEVMEM_DEBIAN_MIRROR" >&2
		return 1
	}
	apt=$(mktemp -d "${TMPDIR:-/tmp}/devmem-apt.XXXXXX")
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEVMEM_DEBIAN_MIRROR trixie main" \
		> "$apt/sources.list"
	cat > "$apt/apt.conf" <<-EOF
		#clear APT::Update::Pre-Invoke;
		#clear APT::Update::Post-Invoke;
		#clear APT::Update::Post-Invoke-Success;
		Dir::Etc::SourceList "$apt/sources.list";
		Dir::Etc::SourceParts "/dev/null";
		Dir::Etc::Preferences "/dev/null";
		Dir::Etc::PreferencesParts "/dev/null";
		Dir::State::Lists "$apt/lists";
		Dir::Cache "$apt/cache";
		Acquire::Languages "none";
		Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
		APT::Sandbox::User "$(id -un)";
	EOF
	log "downloading ethtool from Debian trixie (private apt configuration in $apt)"
	if ! apt-get -c "$apt/apt.conf" -qq update ||
		! (cd "$apt/deb" && apt-get -c "$apt/apt.conf" -qq download ethtool/trixie); then
		rm -rf "$apt"
		log "could not download ethtool from trixie ($DEVMEM_DEBIAN_MIRROR)" >&2
		return 1
	fi
	deb=$(ls "$apt"/deb/ethtool_*.deb)
	# Every dependency must be satisfied by what bookworm has installed.
	IFS=, read -r -a dep <<< "$(dpkg-deb -f "$deb" Depends)"
	for d in "${dep[@]}"; do
		ok=0
		IFS='|' read -r -a alt <<< "$d"
		for a in "${alt[@]}"; do
			read -r name op ver <<< "$(echo "$a" | tr -d '()')"
			have=$(dpkg-query -W -f='${db:Status-Status} ${Version}\n' "${name%%:*}" 2>/dev/null |
				sed -n 's/^installed //p' | head -n 1)
			[ -n "$have" ] || continue
			[ -z "$op" ] || dpkg --compare-versions "$have" "$op" "$ver" || continue
			ok=1
		done
		[ $ok = 1 ] || { log "$(basename "$deb"): dependency '${d# }' not satisfied" >&2; rm -rf "$apt"; return 1; }
	done
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir"
	rm -rf "$apt"
	"$dir/usr/sbin/ethtool" --help 2>&1 | grep -q tcp-data-split ||
		{ log "$dir/usr/sbin/ethtool does not know tcp-data-split" >&2; return 1; }
	log "$("$dir/usr/sbin/ethtool" --version) in $dir ($((SECONDS - t0)) s)"
}
trixie_ethtool

# What the guest puts first on PATH for upstream's ncdevmem: it runs
# `system("sudo ethtool ...")`, and the guest runs as root already (the host
# may not even have sudo), so a `sudo` that just runs its arguments, and
# `ethtool` being trixie's.
guest_bin() {
	local dir=$DEVMEM_TOOLS/guest-bin
	local sudo='#!/bin/sh
# sudo for the test VM, whose commands run as root already (devmem-rs setup.sh)
exec "$@"'
	mkdir -p "$dir"
	[ "$(cat "$dir/sudo" 2>/dev/null)" = "$sudo" ] || printf '%s\n' "$sudo" > "$dir/sudo"
	[ -x "$dir/sudo" ] || chmod 755 "$dir/sudo"
	[ "$(readlink "$dir/ethtool")" = ../ethtool-trixie/usr/sbin/ethtool ] ||
		ln -sfn ../ethtool-trixie/usr/sbin/ethtool "$dir/ethtool"
}
guest_bin

lib=$(rust_lib_src) || { echo "setup: $KRUSTC does not run" >&2; exit 1; }
[ -d "$lib" ] || { echo "setup: $lib missing (rust-web-src does not match rustc-web?)" >&2; exit 1; }
log "ok (rustc $("$KRUSTC" --version | cut -d' ' -f2), bindgen $BINDGEN_VERSION, cache $DEVMEM_CACHE)"
