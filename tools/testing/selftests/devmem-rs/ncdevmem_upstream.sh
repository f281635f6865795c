#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Upstream's ncdevmem (tools/testing/selftests/net/ncdevmem.c of Linux 6.12,
# unmodified, built by scripts/ncdevmem.sh) over the emulated port pair:
# ncdevmem runs its negative checks on port B (they always run first), then
# serves on port B with the devmem binding on rx queue 1 while port A sends
# it the pattern stream its -v 7 validates. The result is ncdevmem's exit
# status.
#
# Needs DEVMEM_CACHE (the build cache: ncdevmem/ncdevmem, tools/guest-bin
# with the `sudo` shim and an ethtool that knows tcp-data-split; see
# scripts/setup.sh), or NCDEVMEM and DEVMEM_GUEST_BIN; socat; /dev/udmabuf.
# Skips only when there is no emulated port pair; anything else missing fails.
# Environment: NCDEVMEM_MIB (stream size, default 8), NCDEVMEM_TIMEOUT
# (seconds for ncdevmem, default 240).
source "$(dirname "$0")/lib.sh"

PORT=5201
QUEUE=1		# the bound rx queue: ncdevmem -t 1 -q 1 (of the default 4)
MIB=${NCDEVMEM_MIB:-8}
TMO=${NCDEVMEM_TIMEOUT:-240}
CLIENT_TMO=120
TOOLS=${DEVMEM_TOOLS:-${DEVMEM_CACHE:+$DEVMEM_CACHE/tools}}
NCDEVMEM=${NCDEVMEM:-${DEVMEM_CACHE:+$DEVMEM_CACHE/ncdevmem/ncdevmem}}
GUEST_BIN=${DEVMEM_GUEST_BIN:-${TOOLS:+$TOOLS/guest-bin}}
LOG=/tmp/ncdevmem-upstream.log
CLIENT_LOG=/tmp/ncdevmem-upstream-client.log
NEG=ncdevmem-upstream-negative-checks
CASE=ncdevmem-upstream

echo "KTAP version 1"
if [ -z "$(port_netdev 0)" ] || [ -z "$(port_netdev 1)" ]; then
	echo "1..0 # SKIP no emulated port pair (CONFIG_GVE_RS_EMU)"
	exit 4
fi
echo "1..2"

fail_all() {
	echo "# $1"
	ktap_result "not ok" "$NEG"
	ktap_result "not ok" "$CASE"
	ktap_finish
	exit 1
}

missing=()
[ -n "$NCDEVMEM" ] || missing+=("DEVMEM_CACHE (or NCDEVMEM) is not set")
[ -z "$NCDEVMEM" ] || [ -x "$NCDEVMEM" ] ||
	missing+=("$NCDEVMEM (build it with scripts/ncdevmem.sh)")
[ -n "$GUEST_BIN" ] && [ -x "$GUEST_BIN/sudo" ] ||
	missing+=("the sudo shim ${GUEST_BIN:-guest-bin}/sudo (scripts/setup.sh)")
[ -n "$GUEST_BIN" ] && PATH=$GUEST_BIN:$PATH ethtool --help 2>&1 | grep -q tcp-data-split ||
	missing+=("an ethtool that knows tcp-data-split in ${GUEST_BIN:-guest-bin} (scripts/setup.sh)")
command -v socat > /dev/null || missing+=("socat")
[ -c /dev/udmabuf ] || missing+=("/dev/udmabuf (CONFIG_UDMABUF)")
for m in "${missing[@]}"; do echo "# missing: $m"; done
[ ${#missing[@]} = 0 ] || fail_all "prerequisites missing"

# ncdevmem runs `sudo ethtool ...` through system().
export PATH=$GUEST_BIN:$PATH

srv=
cli=
cleanup() {
	[ -z "$cli" ] || kill "$cli" 2>/dev/null
	[ -z "$srv" ] || kill "$srv" 2>/dev/null
	wait 2>/dev/null
	# Undo what ncdevmem configured (best effort), for the tests after us.
	if [ -n "${PB:-}" ]; then
		ip netns exec "$NSB" ethtool -K "$PB" ntuple off > /dev/null 2>&1
		ip netns exec "$NSB" ethtool -X "$PB" default > /dev/null 2>&1
		ip netns exec "$NSB" ethtool -G "$PB" tcp-data-split off > /dev/null 2>&1
	fi
	pair_cleanup
}
trap cleanup EXIT

pair_setup || fail_all "could not set up the port pair in namespaces $NSA and $NSB"
echo "# ports: $PA in $NSA ($IPA), $PB in $NSB ($IPB); $(ethtool --version)"

# Queue 1 must exist: give port B the driver's default channel count
# (DEFAULT_QUEUES in drivers/gve/driver.rs) again in case a test before us
# left it with another one.
CHANNELS=4
cur=$(ip netns exec "$NSB" ethtool -l "$PB" 2>/dev/null |
	awk '/^Current hardware/ { c = 1 } c && /^Combined:/ { print $2; exit }')
if [ -n "$cur" ] && [ "$cur" != "$CHANNELS" ]; then
	echo "# $PB has $cur combined channels: setting $CHANNELS"
	ip netns exec "$NSB" ethtool -L "$PB" combined "$CHANNELS" 2>&1 | sed 's/^/# /'
fi

# ncdevmem (6.12) checks dma-buf frags only (linear bytes are a TODO in
# its source): the device must put headers only into header buffers.
INLINE=/sys/module/gve_rs_emu/parameters/rx_inline
if [ -e "$INLINE" ] && [ "$(cat "$INLINE")" != 0 ]; then
	echo "# gve_rs_emu.rx_inline was $(cat "$INLINE"): setting 0"
	echo 0 > "$INLINE"
fi

cmd=("$NCDEVMEM" -l -f "$PB" -s "$IPB" -p "$PORT" -v 7 -t "$QUEUE" -q 1)
echo "# ns $NSB: ${cmd[*]}"
# stdout line-buffered so that it interleaves with stderr in the log.
ip netns exec "$NSB" timeout -k 5 "$TMO" stdbuf -oL "${cmd[@]}" > "$LOG" 2>&1 &
srv=$!

# The client: ncdevmem's pattern (1 2 3 4 5 6 0 ..., what -v 7 expects)
# from port A, source port = port, as ncdevmem.c's usage comment sends it.
client="yes \$(printf '\\x01\\x02\\x03\\x04\\x05\\x06') | tr '\\n' '\\0' | head -c $((MIB << 20)) |"
client+=" socat -u - TCP4:$IPB:$PORT,sourceport=$PORT"
crc=
if wait_tcp_listen "$NSB" "$PORT" "$TMO" "$srv"; then
	echo "# ns $NSA: $client"
	ip netns exec "$NSA" timeout -k 5 "$CLIENT_TMO" bash -c "$client" > "$CLIENT_LOG" 2>&1 &
	cli=$!
	wait "$cli"
	crc=$?
	cli=
	# The server sees the end of the stream right after the client's.
	wait_pid "$srv" 60
else
	wait_pid "$srv" 5
fi
rc=$?
if kill -0 "$srv" 2>/dev/null; then
	echo "# ncdevmem still running after the client ended: stopping it"
	kill "$srv"
	wait "$srv"
	rc=$?
fi
srv=

# ncdevmem's log without the per-fragment lines.
grep -vE '^(recvmsg ret=|received frag_page=|Validated buffer|total_received=)' "$LOG" > "$LOG.short"
ktap_comment_file "$LOG.short" 40
last_total=$(grep '^total_received=' "$LOG" | tail -n 1)
[ -z "$last_total" ] || echo "# last $last_total (client sent $((MIB << 20)) bytes)"
if [ -n "$crc" ]; then
	echo "# client exit status $crc"
	[ "$crc" = 0 ] || ktap_comment_file "$CLIENT_LOG" 10
else
	echo "# ncdevmem never listened on port $PORT: client not started"
fi
echo "# ncdevmem exit status $rc$([ "$rc" != 124 ] || echo " (timed out after ${TMO}s)")"

# The negative checks passed if ncdevmem went on to the server set-up,
# whose first command is this one.
if grep -q "^Running: sudo ethtool -K $PB ntuple off" "$LOG"; then
	ktap_result ok "$NEG"
else
	ktap_result "not ok" "$NEG"
fi
if [ "$rc" = 0 ]; then
	ktap_result ok "$CASE"
else
	ktap_result "not ok" "$CASE"
fi
ktap_finish
