#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: the devmem-rs demo, for a person at a terminal. Installs what
# is missing, builds the kernel incrementally, boots it under QEMU and runs
# scripts/demo.sh in the guest: the devmem core and its netlink family, the
# emulated NIC's ports, and a Device Memory TCP receive into a udmabuf.
# The terminal shows one line per step and the demo's own output; the
# tools' output, the kernel console and the KUnit lines go to log files
# under run-logs/ (their paths are printed). Ends with a summary.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$DEVMEM_SRC"

LOGS=${DEVMEM_RUN_LOGS:-$DEVMEM_SRC/run-logs}
rm -rf "$LOGS"
mkdir -p "$LOGS/guest-out"
t0=$SECONDS

step "set-up: Debian packages, bindgen, ethtool for the guest" "$LOGS/setup.log" \
	"$DEVMEM_SRC/scripts/setup.sh"
step "kernel: Linux 6.12.117 with devmem-rs (incremental build in $KOBJ)" \
	"$LOGS/kernel-build.log" "$DEVMEM_SRC/scripts/kernel.sh" build

echo "==> booting the VM (kernel console and KUnit: $LOGS/guest.log)"
rc=0
"$DEVMEM_SRC/scripts/vm.sh" -s -t 900 -l "$LOGS/guest.log" -o "$LOGS/guest-out" \
	"DEVMEM_CACHE=$DEVMEM_CACHE KSRC=$KSRC scripts/demo.sh /run/devmem-out" || rc=$?

reports=$(guest_reports "$LOGS/guest.log")
echo
echo "== summary"
"$PYTHON" - "$LOGS/guest-out" <<'PY'
import json, os, sys
out = sys.argv[1]

def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

caps = load("caps.json") or {}
impl = caps.get("implementation")
core = {"rust": "Rust (net/devmem/, devmem-rs)",
        "c": "C (net/core/devmem.c of Linux 6.12.117)"}.get(impl, "unknown")
if impl is None and caps:
    # Until the family reports it, bindings are served by 6.12's C core.
    core = "C (net/core/devmem.c of Linux 6.12.117)"
print(f"devmem core:           {core}")
print("devmem_rx.py (a Python receiver that checks every byte; `make bench` has the compiled tool):")
for mode, what in (("devmem", "devmem receive"),
                   ("restart", "with 2 queue restarts")):
    s = load(f"rx.{mode}.json")
    if not s:
        print(f"{what + ':':22s} no result")
        continue
    mbs = s["bytes"] / s["seconds"] / 1e6 if s["seconds"] else 0
    print(f"{what + ':':22s} {s['bytes']} bytes ({s['bytes'] >> 20} MiB) in {s['seconds']:.1f} s "
          f"= {mbs:.2f} MB/s; {s['frags']} dma-buf frags in a {s['dmabuf_size'] >> 20} MiB "
          f"udmabuf, {s['frags_freed']} tokens returned (frags freed), "
          f"{s['linear']} linear + {s['readable']} readable bytes, "
          f"{s['mismatches']} mismatches")
PY
if [ -n "$reports" ]; then
	echo "guest log:             kernel reports found:"
	echo "$reports" | head -n 10 | sed 's/^/    /'
	[ "$rc" != 0 ] || rc=1
else
	echo "guest log:             no oops/WARN/BUG/lockdep/kmemleak report ($LOGS/guest.log)"
fi
echo "result:                $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)"), $((SECONDS - t0)) s in all"
exit "$rc"
