#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boot the VM and show the devmem-rs core in the running
# kernel: its boot message, its generic netlink family as the controller
# lists it, and the devmem ABI it reports, queried with the kernel's ynl.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$DEVMEM_SRC"

ynl="$PYTHON $KSRC/tools/net/ynl/cli.py"
specs=$KSRC/Documentation/netlink/specs
exec "$DEVMEM_SRC/scripts/vm.sh" -t 600 "
set -e
echo '== kernel'; uname -r
echo '== devmem-rs core'; dmesg | grep -E 'devmem_rs|Device Memory TCP' || true
echo '== ynl: genetlink controller, family devmem'
$ynl --spec $specs/nlctrl.yaml --do getfamily --json '{\"family-name\": \"devmem\"}'
echo '== ynl: devmem caps-get'
$ynl --spec $specs/devmem.yaml --do caps-get
"
