#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Ethtool on the GVE-style driver, the operations upstream's ncdevmem and
# ethtool users need: driver info, link, channels, rings with header split,
# RSS, ntuple rules, the ntuple feature and per-queue statistics; each with
# its bad requests, and traffic checks that the settings take effect on the
# receiving port (B): header split on/off, RSS limited to queues 0-1, an
# ntuple rule steering a TCP port to queue 2.
#
# Setting tcp-data-split needs ethtool >= 6.7 and Debian bookworm's is 6.1,
# so those cases use Debian trixie's ethtool unpacked under
# $DEVMEM_CACHE/tools/ethtool-trixie (or $NEW_ETHTOOL), and are skipped when
# it is absent. Everything else uses the system's ethtool.
source "$(dirname "$0")/lib.sh"

ETHTOOL=${ETHTOOL:-ethtool}
NEW_ETHTOOL=${NEW_ETHTOOL:-${DEVMEM_CACHE:-$HOME/.cache/devmem-rs}/tools/ethtool-trixie/usr/sbin/ethtool}
[ -x "$NEW_ETHTOOL" ] && "$NEW_ETHTOOL" --version > /dev/null 2>&1 || NEW_ETHTOOL=
MIB=$((1 << 20))

ktap_header 57
pair_setup || { ktap_skip_all "no emulated port pair (CONFIG_GVE_RS_EMU)"; exit 4; }
trap pair_cleanup EXIT

# Ethtool on port B (the receiving end of the streams).
eb() { ip netns exec "$NSB" "$ETHTOOL" "$@"; }
ebn() { ip netns exec "$NSB" "$NEW_ETHTOOL" "$@"; }
# The value of statistic $1 of port B.
stat() { eb -S "$PB" | awk -v n="$1:" '$1 == n { print $2 }'; }
# Sum of per-queue statistic rx<q>_$1 over queues $2..$3.
qsum() {
	eb -S "$PB" | awk -v s="$1:" -v lo="$2" -v hi="$3" '
		$1 ~ /^rx[0-9]+_/ && substr($1, index($1, "_") + 1) == s {
			q = substr($1, 3) + 0
			if (q >= lo && q <= hi) t += $2
		}
		END { print t + 0 }'
}
nq() { eb -l "$PB" | awk '/^Combined:/ { v = $2 } END { print v }'; }

check_drvinfo() {
	local out
	out=$(eb -i "$PB") || return 1
	echo "$out"
	echo "$out" | grep -q '^driver: gve_rs$' &&
		echo "$out" | grep -q '^bus-info: gve-rs-emu\.1$'
}

check_link() { eb "$PB" 2>&1 | grep -q 'Link detected: yes'; }

check_stats_names() {
	local n want
	n=$(eb -S "$PB" | grep -c ':' ) # "NIC statistics:" plus one line each
	want=$(($(nq) * 16 + 4 + 1))
	echo "lines $n, want $want"
	[ "$n" = "$want" ] && [ -n "$(stat rx0_split)" ] && [ -n "$(stat rx0_csum_unnecessary)" ] &&
		[ -n "$(stat tx3_bytes)" ] &&
		[ -n "$(stat rx_no_buffer)" ] && [ -n "$(stat dma_errors)" ]
}

check_channels_get() {
	eb -l "$PB" | tee /dev/stderr | grep -Eq '^Combined:\s+16$' && [ "$(nq)" = 4 ]
}

# Changing channels while up restarts the device; traffic must flow after.
check_channels_set() {
	eb -L "$PB" combined "$1" && [ "$(nq)" = "$1" ] &&
		[ "$(ip netns exec "$NSB" ls "/sys/class/net/$PB/queues" | grep -c '^rx-')" = "$1" ] &&
		ip netns exec "$NSA" ping -c 2 -i 0.2 -W 2 "$IPB" > /dev/null
}

check_rings_get() {
	local out
	out=$(eb -g "$PB") || return 1
	echo "$out"
	[ "$(echo "$out" | grep -cE '^RX:\s+512$')" = 2 ] &&
		[ "$(echo "$out" | grep -cE '^TX:\s+1024$')" = 2 ]
}

hsplit_is() { ebn -g "$PB" | grep -Eq "^TCP data split:\s+$1$"; }

# A verified stream makes per-queue statistic $1 grow, and $2 (if given)
# stay unchanged.
stream_grows() {
	local a0 b0 a1 b1
	a0=$(qsum "$1" 0 15)
	[ -z "${2:-}" ] || b0=$(qsum "$2" 0 15)
	tcp_stream_check "$IPB" 5202 $((4 * MIB)) || return 1
	a1=$(qsum "$1" 0 15)
	[ -z "${2:-}" ] || b1=$(qsum "$2" 0 15)
	echo "$1: $a0 -> $a1${2:+; $2: $b0 -> $b1}"
	[ "$a1" -gt "$a0" ] && { [ -z "${2:-}" ] || [ "$b1" = "$b0" ]; }
}

check_rxfh_get() {
	local out
	out=$(eb -x "$PB") || return 1
	echo "$out" | head -n 4
	echo "$out" | grep -q 'RX flow hash indirection table for .* with 4 RX ring' &&
		[ "$(echo "$out" | grep -cE '^ +[0-9]+:')" = 16 ] &&
		echo "$out" | grep -q '6d:5a:56:da:25:5b:0e:c2' &&
		echo "$out" | grep -qE '^\s+toeplitz: on'
}

# Only queues $1..$2 in the RSS table.
indir_within() {
	eb -x "$PB" | awk -v lo="$1" -v hi="$2" '
		/^ +[0-9]+:/ { for (i = 2; i <= NF; i++) { n++; if ($i < lo || $i > hi) bad++ } }
		END { print n " entries, " bad + 0 " outside"; exit !(n == 128 && bad == 0) }'
}

# A user-set table (-X weight 1 1 or equal 2) survives a change to $1
# channels: only queues 0-1 in it, and ethtool -x reports $1 rings.
indir_kept() {
	eb -x "$PB" | grep "with $1 RX ring" && indir_within 0 1
}

# Several flows (new source ports) land only on queues 0-1.
check_rss_traffic() {
	local lo0 hi0 lo1 hi1 i
	lo0=$(qsum packets 0 1)
	hi0=$(qsum packets 2 15)
	for i in 1 2 3 4 5 6; do
		tcp_stream_check "$IPB" $((5210 + i)) $((MIB / 4)) > /dev/null || return 1
	done
	lo1=$(qsum packets 0 1)
	hi1=$(qsum packets 2 15)
	echo "queues 0-1: $lo0 -> $lo1; queues 2-15: $hi0 -> $hi1"
	[ "$lo1" -gt "$lo0" ] && [ "$hi1" = "$hi0" ]
}

# ethtool -N that must be refused with errno text $1. Debian's ethtool 6.1
# exits 0 when the kernel refuses a rule, so the message is what counts.
n_refused() {
	local want=$1 out
	shift
	out=$(eb -N "$PB" "$@" 2>&1)
	echo "$out"
	echo "$out" | grep -q "Cannot insert RX class rule: $want" &&
		! echo "$out" | grep -q '^Added rule'
}

rule_count() { eb -n "$PB" | awk '/^Total [0-9]+ rules/ { print $2 }'; }

check_ntuple_rings() { eb -n "$PB" | tee /dev/stderr | grep -q '^4 RX rings available'; }

# A rule for TCP dst port 5303 to queue 2: that queue gets the stream.
check_ntuple_add() {
	local out
	out=$(eb -N "$PB" flow-type tcp4 dst-ip "$IPB" dst-port 5303 action 2) || return 1
	echo "$out"
	RULE=$(echo "$out" | sed -n 's/^Added rule with ID //p')
	[ -n "$RULE" ] && [ "$(rule_count)" = 1 ] &&
		eb -n "$PB" rule "$RULE" | tee /dev/stderr | grep -q 'Action: Direct to queue 2'
}

check_ntuple_traffic() {
	local q0 q1 o0 o1
	q0=$(qsum packets 2 2)
	o0=$(qsum packets 3 15)
	tcp_stream_check "$IPB" 5303 $((4 * MIB)) || return 1
	q1=$(qsum packets 2 2)
	o1=$(qsum packets 3 15)
	echo "queue 2: $q0 -> $q1; queues 3-15: $o0 -> $o1"
	[ "$q1" -gt $((q0 + 100)) ] && [ "$o1" = "$o0" ]
}

# ncdevmem's rules: tcp6 by dst address and port; tcp4 with both ends.
check_ncdevmem_rules() {
	eb -N "$PB" flow-type tcp6 dst-ip "$IP6B" dst-port 5201 action 1 &&
		eb -N "$PB" flow-type tcp4 src-ip "$IPA" dst-ip "$IPB" src-port 5201 \
			dst-port 5201 action 1 &&
		[ "$(rule_count)" = 3 ]
}

check_ntuple_off_clears() {
	eb -K "$PB" ntuple off && [ "$(rule_count)" = 0 ] &&
		eb -k "$PB" | grep -q 'ntuple-filters: off'
}

# --- driver info, link, statistics
ktap_check "ethtool -i: driver gve_rs, bus gve-rs-emu.1" check_drvinfo
ktap_check "ethtool: link detected" check_link
ktap_check "ethtool -S: 16 per-queue stats and 4 device stats" check_stats_names

# --- channels
ktap_check "ethtool -l: combined 4 of 16" check_channels_get
ktap_check "ethtool -L combined 8 while up (restart), traffic flows" check_channels_set 8
ktap_check "ethtool -S follows the channel count" check_stats_names
ktap_check "ethtool -L combined 4 again" check_channels_set 4
ktap_fails "ethtool -L combined 17 fails" eb -L "$PB" combined 17
ktap_fails "ethtool -L combined 0 fails" eb -L "$PB" combined 0
ktap_fails "ethtool -L rx 4 tx 3 fails (ncdevmem's check)" eb -L "$PB" rx 4 tx 3

# --- rings and header split
ktap_check "ethtool -g: rx 512, tx 1024" check_rings_get
ktap_fails "ethtool -G rx 128 fails (fixed rings)" eb -G "$PB" rx 128
if [ -n "$NEW_ETHTOOL" ]; then
	ktap_check "ethtool -g: tcp-data-split off by default" hsplit_is off
	ktap_check "ethtool -G tcp-data-split on" ebn -G "$PB" tcp-data-split on
	ktap_check "ethtool -g: tcp-data-split on" hsplit_is on
	ktap_check "split on: rx_split grows, every byte verified" stream_grows split
	ktap_check "ethtool -G tcp-data-split on again (no change)" ebn -G "$PB" tcp-data-split on
	ktap_check "ethtool -G tcp-data-split off" ebn -G "$PB" tcp-data-split off
	ktap_check "split off: rx_unsplit grows, rx_split does not" stream_grows unsplit split
else
	for t in "tcp-data-split off by default" "tcp-data-split on" "get tcp-data-split on" \
		"split on: rx_split grows" "tcp-data-split on again" "tcp-data-split off" \
		"split off: rx_unsplit grows"; do
		ktap_skip "$t" "no ethtool >= 6.7 at $NEW_ETHTOOL"
	done
fi

# --- RSS
ktap_check "ethtool -x: Toeplitz, 40-byte key, 128 entries" check_rxfh_get
ktap_check "ethtool -X equal 2" eb -X "$PB" equal 2
ktap_check "ethtool -x: only queues 0-1" indir_within 0 1
ktap_check "RSS traffic only on queues 0-1" check_rss_traffic
ktap_fails "ethtool -X equal 5 fails (4 queues)" eb -X "$PB" equal 5
ktap_fails "ethtool -X hfunc xor fails" eb -X "$PB" hfunc xor
ktap_fails "ethtool -L combined 1 fails (RSS uses queue 1)" eb -L "$PB" combined 1
# Issue 12: the core reads the table back (get_rxfh with indir_size 0)
# before changing channels; that must work once a table is configured.
ktap_check "ethtool -X weight 1 1" eb -X "$PB" weight 1 1
ktap_check "ethtool -L combined 8 after -X weight 1 1, traffic flows" check_channels_set 8
ktap_check "ethtool -x: 8 rings, table kept (queues 0-1 only)" indir_kept 8
ktap_check "ethtool -L combined 4 after -X, traffic flows" check_channels_set 4
ktap_check "ethtool -x: 4 rings, table kept (queues 0-1 only)" indir_kept 4
ktap_check "ethtool -X hkey (40 bytes)" eb -X "$PB" hkey \
	"$(printf '%02x:' $(seq 1 39))28"
ktap_check "ethtool -x: new key" bash -c \
	"ip netns exec $NSB $ETHTOOL -x $PB | grep -q '01:02:03:04:05:06:07:08'"
# Back to the driver's default key for the tests after this one.
ktap_check "ethtool -X hkey: the default key again" eb -X "$PB" hkey \
	6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa

# --- ntuple
ktap_check "ethtool -n: 4 RX rings" check_ntuple_rings
ktap_check "ethtool -N tcp4 dst-port 5303 action 2" check_ntuple_add
ktap_check "ntuple rule steers the stream to queue 2" check_ntuple_traffic
ktap_fails "ethtool -L combined 2 fails (a rule uses queue 2)" eb -L "$PB" combined 2
ktap_check "ethtool -N action 4: EINVAL (4 queues)" \
	n_refused "Invalid argument" flow-type tcp4 dst-port 5304 action 4
ktap_check "ethtool -N flow-type sctp4: EOPNOTSUPP" \
	n_refused "Operation not supported" flow-type sctp4 dst-port 5304 action 1
ktap_check "ethtool -N tos: EOPNOTSUPP" \
	n_refused "Operation not supported" flow-type tcp4 tos 4 action 1
ktap_check "ethtool -N action -1 (drop): EOPNOTSUPP" \
	n_refused "Operation not supported" flow-type tcp4 dst-port 5304 action -1
ktap_check "ethtool -N loc 64: EINVAL" \
	n_refused "Invalid argument" flow-type udp4 dst-port 5304 action 1 loc 64
ktap_check "ethtool -N udp6 at loc 63" \
	eb -N "$PB" flow-type udp6 dst-port 5304 action 3 loc 63
ktap_check "ethtool -N delete 63" eb -N "$PB" delete 63
ktap_fails "ethtool -N delete 63 again fails" eb -N "$PB" delete 63
ktap_check "ethtool -N as ncdevmem does (tcp6, tcp4 with src)" check_ncdevmem_rules
ktap_check "ethtool -K ntuple off deletes every rule" check_ntuple_off_clears
ktap_check "ethtool -N while ntuple is off: EOPNOTSUPP" \
	n_refused "Operation not supported" flow-type tcp4 dst-port 5303 action 2
ktap_check "ethtool -K ntuple on" eb -K "$PB" ntuple on
ktap_check "ethtool -N works again" eb -N "$PB" flow-type tcp4 dst-port 5303 action 2
ktap_check "ethtool -N delete" eb -N "$PB" delete 0

# --- back to defaults
ktap_check "ethtool -X default" eb -X "$PB" default
ktap_check "ethtool -x: all 4 queues again" indir_within 0 3
ktap_check "ethtool -L combined 1 works now" check_channels_set 1
ktap_check "ethtool -L combined 4 (the default) again" check_channels_set 4
ktap_check "TCP stream after it all, every byte verified" \
	tcp_stream_check "$IPB" 5205 $((4 * MIB))
ktap_finish
