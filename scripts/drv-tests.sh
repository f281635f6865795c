#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build what upstream's driver selftests (tools/testing/selftests/drivers/
# net of the 6.12 tree in the cache, run unmodified by the devmem-rs
# selftest drv_upstream.py) need besides Debian packages:
#
#   drv-tests.sh         build $DEVMEM_CACHE/drv-tests/csum (incremental)
#
# hw/csum.py runs tools/testing/selftests/net/lib/csum, which upstream's
# `make -C tools/testing/selftests/net/lib` builds from csum.c next to it.
# We compile csum.c with that Makefile's flags (and lib.mk's KHDR_INCLUDES:
# the 6.12 uapi headers that scripts/ncdevmem.sh installs into the cache)
# into $DEVMEM_CACHE/drv-tests/csum, then copy it where csum.py looks: the
# binary is the only file written into $KSRC, at the place upstream's
# build puts it.
set -euo pipefail
. "$(dirname "$0")/env.sh"

log() { echo "drv-tests: $*"; }

OUT=$DEVMEM_CACHE/drv-tests
BIN=$OUT/csum
LIB=$KSRC/tools/testing/selftests/net/lib
SRC=$LIB/csum.c
HDR=$DEVMEM_CACHE/ncdevmem/usr/include

[ -f "$SRC" ] || { log "$SRC missing (run scripts/kernel.sh tree)" >&2; exit 1; }
# The uapi headers (and ncdevmem, incrementally).
"$DEVMEM_SRC/scripts/ncdevmem.sh"

if ! [ -x "$BIN" ] || [ -n "$(find "$SRC" "$HDR" "${BASH_SOURCE[0]}" -newer "$BIN" -print -quit)" ]; then
	t0=$SECONDS
	mkdir -p "$OUT"
	gcc -Wall -Wl,--no-as-needed -O2 -g -I"$HDR" -isystem "$HDR" \
		-I"$KSRC/tools/testing/selftests" "$SRC" -o "$OUT/csum.tmp"
	mv -f "$OUT/csum.tmp" "$BIN"
	log "built $BIN ($((SECONDS - t0)) s)"
fi
cmp -s "$BIN" "$LIB/csum" || install -m 755 "$BIN" "$LIB/csum"
