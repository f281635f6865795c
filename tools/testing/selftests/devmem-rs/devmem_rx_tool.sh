#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of devmem-rx (tools/net/devmem-rx), the receiver and sender
# behind `make bench`: the quick variant of its devmem-vs-copy measurement
# over the emulated port pair. It checks that the tool ran and that every
# byte the sender sent arrived and was verified (in devmem mode all of it
# through the dma-buf, every token returned), never the speed.
#
# Needs DEVMEM_CACHE (trixie's ethtool; the tool built by
# scripts/devmem-rx.sh) or DEVMEM_RX pointing at the tool.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

RX=${DEVMEM_RX:-${DEVMEM_CACHE:+$DEVMEM_CACHE/devmem-rx/release/devmem-rx}}
ET=${DEVMEM_CACHE:+$DEVMEM_CACHE/tools/ethtool-trixie/usr/sbin/ethtool}
PORT=5211
SECS=2
OUT=$(mktemp -d)

ktap_header 3
if [ -z "$(port_netdev 0)" ] || [ ! -e /dev/udmabuf ] || [ ! -x "$ET" ]; then
	ktap_skip_all "no emulated port pair, /dev/udmabuf or ethtool >= 6.7"
	exit 4
fi

# The tool must be there: `make test` builds it before booting.
ktap_check "devmem-rx built" test -x "$RX"

json_check() { # FILE PYTHON-EXPRESSION-ON-j
	python3 -c "import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}

# run MODE: a SECS-second stream into the receiver in MODE.
run() {
	local mode=$1 rxpid
	ip netns exec "$NSB" "$RX" recv --mode "$mode" --ifname "$PB" --queue 1 --addr "$IPB" \
		--port $PORT --dmabuf-size 16M --json "$OUT/$mode.rx.json" > "$OUT/$mode.rx.log" 2>&1 &
	rxpid=$!
	# Creating and binding the udmabuf can take many seconds under TCG
	# on a busy host.
	wait_tcp_listen "$NSB" $PORT 180 $rxpid || { wait $rxpid; cat "$OUT/$mode.rx.log"; return 1; }
	ip netns exec "$NSA" "$RX" send --addr "$IPB" --port $PORT --seconds $SECS \
		--json "$OUT/$mode.tx.json" > "$OUT/$mode.tx.log" 2>&1 || { cat "$OUT/$mode.tx.log"; return 1; }
	wait_pid $rxpid 60 || { cat "$OUT/$mode.rx.log"; return 1; }
	local sent
	sent=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["bytes"])' "$OUT/$mode.tx.json")
	[ "$sent" -gt 0 ] || return 1
	json_check "$OUT/$mode.rx.json" "j['ok'] and j['mismatches'] == 0 and j['bytes'] == $sent" ||
		return 1
	if [ "$mode" = devmem ]; then
		json_check "$OUT/$mode.rx.json" \
			"j['frags'] > 0 and j['frags_freed'] == j['frags'] and j['readable_bytes'] == 0" ||
			return 1
	fi
}

if [ -x "$RX" ] && pair_setup; then
	nsb() { ip netns exec "$NSB" "$@"; }
	if nsb "$ET" -L "$PB" combined 4 && nsb "$ET" -K "$PB" ntuple off &&
		nsb "$ET" -G "$PB" tcp-data-split on && nsb "$ET" -K "$PB" ntuple on &&
		nsb "$ET" -X "$PB" equal 1 &&
		nsb "$ET" -N "$PB" flow-type tcp4 dst-ip "$IPB" dst-port $PORT action 1; then
		ktap_check "devmem receive: every byte through the dma-buf, verified" run devmem
		ktap_check "plain-copy receive: every byte verified" run copy
		# For information only (the speed is never checked here).
		grep -h -e ' flow(s): ' -e 'cpu: ' "$OUT"/*.rx.log | sed 's/^/# /'
	else
		ktap_result "not ok" "devmem receive: ethtool set-up"
		ktap_result "not ok" "plain-copy receive: ethtool set-up"
	fi
	nsb "$ET" -K "$PB" ntuple off
	nsb "$ET" -X "$PB" default
	nsb "$ET" -G "$PB" tcp-data-split off
	pair_cleanup
else
	ktap_result "not ok" "devmem receive"
	ktap_result "not ok" "plain-copy receive"
fi
rm -rf "$OUT"
ktap_finish
