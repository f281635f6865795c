#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The GVE-style driver over an emulated port pair: two network namespaces
# joined by the wire, ping both ways, and a TCP stream whose every byte is
# checked.
source "$(dirname "$0")/lib.sh"

ktap_header 7
pair_setup || { ktap_skip_all "no emulated port pair (CONFIG_GVE_RS_EMU)"; exit 4; }

ktap_check "link up on both ends" \
	ip netns exec "$NSA" bash -c "ip link show $PA | grep -q LOWER_UP"
ktap_check "ping a -> b" ip netns exec "$NSA" ping -c 3 -i 0.2 -W 2 "$IPB"
ktap_check "ping b -> a (IPv6)" ip netns exec "$NSB" ping -6 -c 3 -i 0.2 -W 2 "$IP6A"
ktap_check "TCP stream, 32 MiB, every byte verified" \
	tcp_stream_check "$IPB" 5201 $((32 << 20))
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
