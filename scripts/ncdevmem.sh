#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build upstream's ncdevmem (tools/testing/selftests/net/ncdevmem.c of the
# 6.12 tree in the cache, unmodified) for the ncdevmem_upstream selftest:
#
#   ncdevmem.sh          build $DEVMEM_CACHE/ncdevmem/ncdevmem (incremental)
#
# It does what the selftests' ynl.mk does, without writing into $KSRC:
# - the 6.12 uapi headers: `make headers_install` with its own O= (so it
#   never races with a kernel build in $KOBJ) and INSTALL_HDR_PATH in our
#   output directory;
# - the ynl C library for the `netdev` family (tools/net/ynl): netdev-user.c/h
#   generated from Documentation/netlink/specs/netdev.yaml by ynl-gen-c.py,
#   and lib/ynl.c, compiled with the flags of tools/net/ynl/{lib,generated}
#   into a scratch directory;
# - ncdevmem.c compiled with the flags of tools/testing/selftests/net.
# Skips everything when the binary is newer than all of its inputs.
set -euo pipefail
. "$(dirname "$0")/env.sh"

log() { echo "ncdevmem: $*"; }

OUT=$DEVMEM_CACHE/ncdevmem
BIN=$OUT/ncdevmem
YNL=$KSRC/tools/net/ynl
SRC=$KSRC/tools/testing/selftests/net/ncdevmem.c
SPEC=$KSRC/Documentation/netlink/specs/netdev.yaml

[ -f "$SRC" ] || { log "$SRC missing (run scripts/kernel.sh tree)" >&2; exit 1; }

# Inputs: the sources above, the uapi headers and this script.
inputs=("$SRC" "$SPEC" "$YNL/ynl-gen-c.py" "$YNL/lib" "$YNL/Makefile.deps"
	"$KSRC/include/uapi" "$KSRC/arch/x86/include/uapi" "$KSRC/Makefile"
	"${BASH_SOURCE[0]}")
if [ -x "$BIN" ] && [ -z "$(find "${inputs[@]}" -newer "$BIN" -print -quit)" ]; then
	exit 0
fi

t0=$SECONDS
log "building $BIN from $SRC"
mkdir -p "$OUT"
scratch=$(mktemp -d "$OUT/build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# 1. uapi headers (generated in $OUT/obj/usr/include on the way, then
#    installed; the source tree is not written).
KOBJ=$OUT/obj kmake -s headers_install INSTALL_HDR_PATH="$OUT/usr" >/dev/null
HDR=$OUT/usr/include

# 2. libynl.a for the netdev family (tools/net/ynl/Makefile with
#    GENS=netdev): lib/ynl.o + generated/netdev-user.o.
export PYTHONDONTWRITEBYTECODE=1
for kind in header source; do
	ext=h
	[ $kind = source ] && ext=c
	"$PYTHON" "$YNL/ynl-gen-c.py" --mode user --$kind --spec "$SPEC" \
		-o "$scratch/netdev-user.$ext"
done
YNL_CFLAGS=(-std=gnu11 -O2 -W -Wall -Wextra -Wno-unused-parameter -Wshadow)
# tools/net/ynl/lib/Makefile: system headers.
gcc "${YNL_CFLAGS[@]}" -c "$YNL/lib/ynl.c" -o "$scratch/ynl.o"
# tools/net/ynl/generated/Makefile + Makefile.deps (CFLAGS_netdev).
gcc "${YNL_CFLAGS[@]}" -I"$YNL/lib" -idirafter "$KSRC/include/uapi" \
	-D_LINUX_NETDEV_H -include "$KSRC/include/uapi/linux/netdev.h" \
	-c "$scratch/netdev-user.c" -o "$scratch/netdev-user.o"
ar rcs "$scratch/libynl.a" "$scratch/ynl.o" "$scratch/netdev-user.o"

# 3. ncdevmem: tools/testing/selftests/net/Makefile CFLAGS, lib.mk's
#    KHDR_INCLUDES, ynl.mk's include paths; libynl.a as a prerequisite.
gcc -Wall -Wl,--no-as-needed -O2 -g \
	-I"$HDR" -isystem "$HDR" -I"$KSRC/tools/testing/selftests" \
	-I"$YNL/lib" -I"$scratch" \
	"$SRC" "$scratch/libynl.a" -o "$scratch/ncdevmem"
mv -f "$scratch/ncdevmem" "$BIN"
log "built $BIN ($((SECONDS - t0)) s)"
