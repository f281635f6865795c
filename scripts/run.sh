#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boot the VM and show devmem-rs in the running kernel: the
# core's boot message, its generic netlink family as the controller lists
# it, the devmem ABI it reports and which devmem core (Rust or C) serves
# bind-rx (queried with the kernel's ynl), the
# emulated NIC's ports, and a Device Memory TCP receive into a udmabuf.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$DEVMEM_SRC"

ynl="$PYTHON $KSRC/tools/net/ynl/cli.py"
specs=$KSRC/Documentation/netlink/specs
exec "$DEVMEM_SRC/scripts/vm.sh" -t 900 "
set -e
echo '== kernel'; uname -r
echo '== devmem-rs core'; dmesg | grep -E 'devmem_rs|Device Memory TCP' || true
echo '== ynl: genetlink controller, family devmem'
$ynl --spec $specs/nlctrl.yaml --do getfamily --json '{\"family-name\": \"devmem\"}'
echo '== ynl: devmem caps-get'
$ynl --spec $specs/devmem.yaml --do caps-get
echo \"== devmem core serving bind-rx: \$($ynl --spec $specs/devmem.yaml --do caps-get --output-json | $PYTHON -c 'import json, sys; print(json.load(sys.stdin)[\"implementation\"])')\"
echo '== emulated NIC ports and their netdevs'
for d in /sys/bus/platform/devices/gve-rs-emu.*; do echo \"\${d##*/}: \$(ls \$d/net)\"; done
echo '== Device Memory TCP receive over the emulated NIC (devmem_rx.py)'
DEVMEM_CACHE=$DEVMEM_CACHE KSRC=$KSRC CORE=$CORE tools/testing/selftests/devmem-rs/devmem_rx.py
"
