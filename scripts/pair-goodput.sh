#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Plain TCP goodput over the emulated port pair with its offloads on, with
# them off, and over veth, in one guest boot (issue 12's figure): one flow,
# devmem-rx's copy receiver (which checks every byte) on the last vCPU,
# its sender on vCPU 0, SECONDS each. Run in the guest:
#
#   make vm CMD='scripts/pair-goodput.sh [SECONDS]'
#
# Prints one line per case and "pair/veth" ratios; exits non-zero if a
# stream failed.
set -uo pipefail
. "$(dirname "$0")/env.sh"
. "$DEVMEM_SRC/tools/testing/selftests/devmem-rs/lib.sh"

RX=${DEVMEM_RX:-$DEVMEM_CACHE/devmem-rx/release/devmem-rx}
secs=${1:-10}
PORT=5301
NSVA=gp-veth-a NSVB=gp-veth-b
VA=10.77.0.1 VB=10.77.0.2
say() { echo "goodput: $*"; }
[ -x "$RX" ] || { say "no devmem-rx at $RX (make test or make bench builds it)"; exit 2; }

cleanup() {
	pair_cleanup
	ip netns del $NSVA 2> /dev/null
	ip netns del $NSVB 2> /dev/null
}
trap cleanup EXIT
pair_setup || { say "no emulated port pair"; exit 2; }
veth_setup $NSVA $NSVB $VA $VB || { say "no veth"; exit 2; }

ncpu=$(nproc)
rxc=$((ncpu - 1))
failed=0
declare -A mbs

# stream NAME SRV_NS CLI_NS ADDR: one stream of $secs seconds; records MB/s.
stream() {
	local name=$1 log=/tmp/goodput.$1.log rxpid port=$PORT
	PORT=$((PORT + 1))
	ip netns exec "$2" "$RX" recv --mode copy --addr "$4" --port $port --cpus $rxc \
		> "$log" 2>&1 &
	rxpid=$!
	wait_tcp_listen "$2" $port 60 $rxpid || { say "$name: no receiver"; failed=1; return; }
	ip netns exec "$3" "$RX" send --addr "$4" --port $port --cpus 0 --seconds "$secs" \
		> "$log.tx" 2>&1
	local rc=$? rxrc
	wait_pid $rxpid 120
	rxrc=$?
	if [ $rc != 0 ] || [ $rxrc != 0 ]; then
		say "$name: FAILED: $(tail -n 2 "$log" "$log.tx")"
		failed=1
		return
	fi
	mbs[$name]=$(sed -n 's/.* = \([0-9.]*\) MB\/s.*/\1/p' "$log" | tail -n 1)
	say "$name: ${mbs[$name]} MB/s"
}

eka() { ip netns exec "$NSA" ethtool -K "$PA" "$@"; }
ekb() { ip netns exec "$NSB" ethtool -K "$PB" "$@"; }
say "$(uname -r), $ncpu vCPUs, $secs s per stream"
stream veth $NSVB $NSVA $VB
stream pair-on "$NSB" "$NSA" "$IPB"
# Everything the device offers beyond checksums off: the stack segments
# and linearises (sg off takes tso with it).
eka sg off tso off
ekb sg off tso off
ip netns exec "$NSB" ethtool -K "$PB" rx-gro-hw off 2> /dev/null
stream pair-off "$NSB" "$NSA" "$IPB"
eka sg on tso on
ekb sg on tso on
ip netns exec "$NSB" ethtool -K "$PB" rx-gro-hw on 2> /dev/null
stream veth-2 $NSVB $NSVA $VB
stream pair-on-2 "$NSB" "$NSA" "$IPB"
ratio() { awk -v a="${mbs[$1]:-0}" -v b="${mbs[$2]:-0}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
say "pair/veth (offloads on): $(ratio pair-on veth), $(ratio pair-on-2 veth-2) (second run)"
say "pair/veth (offloads off): $(ratio pair-off veth)"
say "pair on/off: $(ratio pair-on pair-off)"
exit $failed
