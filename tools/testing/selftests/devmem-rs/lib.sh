# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the devmem-rs shell selftests: KTAP output, and a pair of
# network namespaces joined by an emulated port pair.

KTAP_N=0
KTAP_FAIL=0
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ktap_header() { echo "KTAP version 1"; echo "1..$1"; }
ktap_result() { # ok|not ok, name
	KTAP_N=$((KTAP_N + 1))
	echo "$1 $KTAP_N $2"
	[ "$1" = ok ] || KTAP_FAIL=$((KTAP_FAIL + 1))
}
ktap_check() { # name cmd...
	local name=$1
	shift
	if "$@" > /tmp/ktap.out 2>&1; then
		ktap_result ok "$name"
	else
		sed 's/^/# /' /tmp/ktap.out | tail -n 20
		ktap_result "not ok" "$name"
	fi
}
ktap_skip() { # name reason
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1 # SKIP $2"
}
ktap_fails() { # name cmd...: the command must fail
	local name=$1
	shift
	if "$@" > /tmp/ktap.out 2>&1; then
		sed 's/^/# /' /tmp/ktap.out | tail -n 20
		ktap_result "not ok" "$name"
	else
		ktap_result ok "$name"
	fi
}
ktap_skip_all() { echo "# SKIP $1"; }
ktap_finish() {
	echo "# Totals: pass:$((KTAP_N - KTAP_FAIL)) fail:$KTAP_FAIL"
	[ "$KTAP_FAIL" = 0 ]
}

# The netdev bound to emulated port $1 (gve-rs-emu.$1).
port_netdev() {
	ls "/sys/bus/platform/devices/gve-rs-emu.$1/net/" 2>/dev/null | head -n 1
}

NSA=devmem-a
NSB=devmem-b
IPA=192.0.2.1
IPB=192.0.2.2
IP6A=2001:db8::1
IP6B=2001:db8::2

# Moves ports 0 and 1 into namespaces NSA and NSB, addresses them, brings
# them up. Sets PA and PB (the interface names).
pair_setup() {
	PA=$(port_netdev 0)
	PB=$(port_netdev 1)
	[ -n "$PA" ] && [ -n "$PB" ] || return 1
	ip netns add "$NSA" && ip netns add "$NSB" || return 1
	ip link set "$PA" netns "$NSA" && ip link set "$PB" netns "$NSB" || return 1
	ip -n "$NSA" addr add "$IPA/24" dev "$PA"
	ip -n "$NSB" addr add "$IPB/24" dev "$PB"
	ip -n "$NSA" addr add "$IP6A/64" dev "$PA" nodad
	ip -n "$NSB" addr add "$IP6B/64" dev "$PB" nodad
	ip -n "$NSA" link set "$PA" up && ip -n "$NSB" link set "$PB" up || return 1
	for _ in $(seq 50); do
		ip -n "$NSA" link show "$PA" | grep -q LOWER_UP &&
			ip -n "$NSB" link show "$PB" | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	return 0
}

# veth_setup NS_A NS_B ADDR_A ADDR_B: a veth pair (va in NS_A, vb in NS_B,
# both new namespaces) addressed in a /24 and up: plain TCP through the
# stack without a device, to compare the emulated pair with.
veth_setup() {
	ip netns add "$1" && ip netns add "$2" &&
		ip -n "$1" link add va type veth peer name vb netns "$2" &&
		ip -n "$1" addr add "$3/24" dev va && ip -n "$2" addr add "$4/24" dev vb &&
		ip -n "$1" link set va up && ip -n "$2" link set vb up
}

pair_cleanup() {
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	# The ports come back to the initial namespace when theirs goes.
	for _ in $(seq 50); do
		[ -n "$(port_netdev 0)" ] && [ -n "$(port_netdev 1)" ] &&
			ip link show "$(port_netdev 0)" > /dev/null 2>&1 && return 0
		sleep 0.1
	done
}

# tcp_stream SRV_NS CLI_NS ADDR PORT BYTES: a pattern stream from namespace
# CLI_NS to a server in SRV_NS that checks every byte.
tcp_stream() {
	ip netns exec "$1" /usr/bin/python3 "$HERE/tcp_pattern.py" server "$3" "$4" "$5" &
	local srv=$!
	# Connect once it listens (python's start-up takes seconds on a busy
	# host under TCG; a fixed sleep loses the race).
	wait_tcp_listen "$1" "$4" 30 $srv
	ip netns exec "$2" /usr/bin/python3 "$HERE/tcp_pattern.py" client "$3" "$4" "$5"
	local crc=$?
	wait $srv
	local src=$?
	[ $crc = 0 ] && [ $src = 0 ]
}

# tcp_stream_check ADDR PORT BYTES: from NSA to a server in NSB.
tcp_stream_check() { tcp_stream "$NSB" "$NSA" "$@"; }

# wait_tcp_listen NS PORT SECONDS [PID]: wait until a TCP socket listens on
# PORT in namespace NS; give up after SECONDS or as soon as PID has exited.
wait_tcp_listen() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		[ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# ktap_comment_file FILE [LINES]: the last LINES (default 20) of FILE as
# KTAP comments.
ktap_comment_file() {
	tail -n "${2:-20}" "$1" | sed 's/^/# /'
}

# wait_pid PID SECONDS: wait for our child PID to exit, at most SECONDS;
# returns its exit status, or 124 and leaves it running when it did not.
wait_pid() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ $SECONDS -lt $end ] || return 124
		sleep 0.1
	done
	wait "$1"
}
