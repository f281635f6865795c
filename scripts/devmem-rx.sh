#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build tools/net/devmem-rx (the receiver/sender behind `make bench` and its
# smoke test) with Debian's cargo and rustc (installed by setup.sh), into
# $DEVMEM_RX_TARGET (default $DEVMEM_CACHE/devmem-rx), where the guest finds
# it. Its one dependency, libc, comes from crates.io at the version pinned
# in Cargo.lock.
#
#   devmem-rx.sh [build|clippy|test]    build prints the binary's path
set -euo pipefail
. "$(dirname "$0")/env.sh"

DEVMEM_RX_TARGET=${DEVMEM_RX_TARGET:-$DEVMEM_CACHE/devmem-rx}
manifest=$DEVMEM_SRC/tools/net/devmem-rx/Cargo.toml
export CARGO_TARGET_DIR=$DEVMEM_RX_TARGET RUSTC=$KRUSTC CARGO=/usr/bin/cargo
command -v /usr/bin/cargo > /dev/null || { echo "devmem-rx: /usr/bin/cargo missing (run 'make setup')" >&2; exit 2; }

case ${1:-build} in
build)
	/usr/bin/cargo build --quiet --release --locked --manifest-path "$manifest"
	echo "$DEVMEM_RX_TARGET/release/devmem-rx"
	;;
clippy)
	# Debian's cargo-clippy called directly: `cargo clippy` would find a
	# rustup proxy first in $CARGO_HOME/bin, with another rustc.
	/usr/bin/cargo-clippy clippy --quiet --release --locked --all-targets \
		--manifest-path "$manifest" -- -D warnings
	;;
test)
	/usr/bin/cargo test --quiet --release --locked --manifest-path "$manifest"
	;;
*) echo "usage: $0 [build|clippy|test]" >&2; exit 2 ;;
esac
