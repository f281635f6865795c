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
# the host's root file system read-only, so its tools are installed here).
PKGS="linux-source-6.12 rustc-web rust-web-src rust-web-clippy rustfmt-web
      libclang-dev build-essential flex bison bc libelf-dev libssl-dev cpio
      xz-utils kmod python3 python3-yaml python3-jsonschema libmnl-dev qemu-system-x86
      iproute2 iputils-ping socat ethtool busybox-static procps"

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

[ -d "$RUST_LIB_SRC" ] || { echo "setup: $RUST_LIB_SRC missing (rust-web-src does not match rustc-web?)" >&2; exit 1; }
log "ok (rustc $("$KRUSTC" --version | cut -d' ' -f2), bindgen $BINDGEN_VERSION, cache $DEVMEM_CACHE)"
