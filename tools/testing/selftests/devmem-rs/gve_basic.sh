#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The GVE-style driver over an emulated port pair: two network namespaces
# joined by the wire, ping both ways, a TCP stream whose every byte is
# checked, and the rx offload features (checksum, hash) on and off.
source "$(dirname "$0")/lib.sh"

ktap_header 10
pair_setup || { ktap_skip_all "no emulated port pair (CONFIG_GVE_RS_EMU)"; exit 4; }

ktap_check "link up on both ends" \
	ip netns exec "$NSA" bash -c "ip link show $PA | grep -q LOWER_UP"
ktap_check "ping a -> b" ip netns exec "$NSA" ping -c 3 -i 0.2 -W 2 "$IPB"
ktap_check "ping b -> a (IPv6)" ip netns exec "$NSB" ping -6 -c 3 -i 0.2 -W 2 "$IP6A"
ktap_check "TCP stream, 32 MiB, every byte verified" \
	tcp_stream_check "$IPB" 5201 $((32 << 20))

# Rx checksum offload (NETIF_F_RXCSUM): the device validates TCP/UDP
# checksums; with `ethtool -K rx on` the driver marks those packets
# CHECKSUM_UNNECESSARY (counted in rx<q>_csum_unnecessary), with it off the
# stack checks them itself and the driver counts none.
csum_count() {
	ip netns exec "$NSB" ethtool -S "$PB" |
		awk '/rx[0-9]+_csum_unnecessary:/ { s += $2 } END { print s + 0 }'
}
csum_counted_with() { # on|off PORT: a 1 MiB stream; the count rises iff on
	local before after
	ip netns exec "$NSB" ethtool -K "$PB" rx "$1" || return 1
	before=$(csum_count)
	tcp_stream_check "$IPB" "$2" $((1 << 20)) || return 1
	after=$(csum_count)
	echo "# rx $1: rx<q>_csum_unnecessary +$((after - before))"
	if [ "$1" = on ]; then [ "$after" -gt "$before" ]; else [ "$after" = "$before" ]; fi
}
features_on() {
	local k
	k=$(ip netns exec "$NSB" ethtool -k "$PB") || return 1
	grep -qx 'rx-checksumming: on' <<< "$k" && grep -qx 'receive-hashing: on' <<< "$k"
}
ktap_check "ethtool -k: rx-checksumming and receive-hashing on by default" features_on
ktap_check "rx checksum offload on: validated packets counted, every byte verified" \
	csum_counted_with on 5203
ktap_check "rx checksum offload off: none counted, every byte verified" \
	csum_counted_with off 5204
ip netns exec "$NSB" ethtool -K "$PB" rx on
ip -n "$NSA" link set "$PA" mtu 9000 && ip -n "$NSB" link set "$PB" mtu 9000
ktap_check "MTU 9000: 8000-byte ping, no fragmentation" \
	ip netns exec "$NSA" ping -M do -s 8000 -c 3 -i 0.2 -W 2 "$IPB"
ktap_check "MTU 9000: TCP stream, 16 MiB, every byte verified" \
	tcp_stream_check "$IPB" 5202 $((16 << 20))
ktap_check "MTU 9001 refused (device maximum 9000)" \
	bash -c "! ip -n $NSA link set $PA mtu 9001"
ip -n "$NSA" link set "$PA" mtu 1500
ip -n "$NSB" link set "$PB" mtu 1500
pair_cleanup
ktap_finish
