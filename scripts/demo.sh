#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make run` demo, run in the guest by run.sh: what devmem-rs shows of
# itself, then a Device Memory TCP receive. Results for run.sh's summary
# go to OUTDIR (caps.json, rx.<mode>.json).
#
#   demo.sh OUTDIR
set -euo pipefail
. "$(dirname "$0")/env.sh"
out=$1

ynl() { "$PYTHON" "$KSRC/tools/net/ynl/cli.py" --spec "$KSRC/Documentation/netlink/specs/$1.yaml" "${@:2}"; }

echo "== kernel: $(uname -r)"
echo "== devmem-rs in the boot log"
dmesg | grep -E 'devmem_rs|devmem-rs|Device Memory TCP' | sed 's/^\[[^]]*\] //' || true
echo "== ynl: genetlink controller, family devmem"
ynl nlctrl --do getfamily --json '{"family-name": "devmem"}' |
	"$PYTHON" -c 'import ast, sys; f = ast.literal_eval(sys.stdin.read()); print({k: f[k] for k in ("family-name", "family-id", "version") if k in f}, "ops:", len(f.get("ops", [])))'
echo "== ynl: devmem caps-get"
ynl devmem --do caps-get | tee "$out/caps.txt"
"$PYTHON" -c 'import ast, json, sys; json.dump(ast.literal_eval(open(sys.argv[1]).read()), open(sys.argv[2], "w"))' \
	"$out/caps.txt" "$out/caps.json"
echo "== emulated NIC: ports and their netdevs"
for d in /sys/bus/platform/devices/gve-rs-emu.*; do echo "${d##*/}: $(ls "$d/net")"; done
echo "== Device Memory TCP receive over the emulated NIC (devmem_rx.py)"
DEVMEM_RX_STATS=$out/rx tools/testing/selftests/devmem-rs/devmem_rx.py
