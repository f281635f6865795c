#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interrupt coalescing and checksum offload of the GVE-style driver and its
# emulated device (issue 12):
# - ethtool -c/-C: rx-usecs and tx-usecs (GVE DQO's interrupt intervals,
#   at most 8190 us, 0 = an interrupt per completion) read back, survive
#   down/up, bad values and unsupported parameters refused with their errno
#   and message; with an interval set, the receiving port takes fewer rx
#   interrupts than it receives frames (without, one per frame).
# - ethtool -k/-K: rx-checksumming (the device validates L4 checksums:
#   CHECKSUM_UNNECESSARY) and tx-checksumming (NETIF_F_HW_CSUM: the device
#   fills in the checksum of CHECKSUM_PARTIAL frames), on by default; each
#   toggled off and on with verified TCP streams both ways, the counters
#   showing who did the work; a frame with a corrupted UDP checksum is
#   dropped by the stack (UDP InCsumErrors) while a good one is delivered.
# - ethtool -k/-K: scatter-gather (the device gathers a frame from its
#   linear part and frags) and TSO (the device segments TCP super-frames,
#   IPv4 and IPv6), on by default; verified streams with both on, TSO off,
#   SG off (which takes TSO with it) and both on again, the counters
#   showing what the driver and device did (tx<q>_sg_packets,
#   tx<q>_tso_packets, tx<q>_tso_segments, the receiver's frames) and no
#   segmentation refused (tx_tso_errors).
# - ethtool -k/-K: rx-gro-hw (the device coalesces the in-order segments
#   of a TCP flow that arrive together into one packet: one header, the
#   payloads packed into buffers), on by default; verified streams over
#   IPv4 and IPv6, with and without header split, with it on, off, and
#   off with rx-checksumming (which takes it with it), the counters
#   showing packets coalesced (rx<q>_gro_hw_packets/segments).
source "$(dirname "$0")/lib.sh"

ETHTOOL=${ETHTOOL:-ethtool}
# ethtool >= 6.7 for tcp-data-split (-G).
NEW_ETHTOOL=${NEW_ETHTOOL:-${DEVMEM_CACHE:-$HOME/.cache/devmem-rs}/tools/ethtool-trixie/usr/sbin/ethtool}
[ -x "$NEW_ETHTOOL" ] && "$NEW_ETHTOOL" --version > /dev/null 2>&1 || NEW_ETHTOOL=$ETHTOOL
MIB=$((1 << 20))

ktap_header 53
pair_setup || { ktap_skip_all "no emulated port pair (CONFIG_GVE_RS_EMU)"; exit 4; }
trap pair_cleanup EXIT

ea() { ip netns exec "$NSA" "$ETHTOOL" "$@"; }
eb() { ip netns exec "$NSB" "$ETHTOOL" "$@"; }
# qsum NS DEV NAME: sum over the queues of per-queue statistic <rx|tx><q>_NAME
# (NAME includes the direction: rx_interrupts is rx<q>_interrupts; exactly
# that name: tx_packets is not tx<q>_tso_packets).
qsum() {
	ip netns exec "$1" "$ETHTOOL" -S "$2" | awk -v d="${3%%_*}" -v s="${3#*_}:" '
		$1 ~ "^" d "[0-9]+_" && substr($1, index($1, "_") + 1) == s { t += $2 }
		END { print t + 0 }'
}
# coal_is NAME VALUE: ethtool -c of port B shows NAME: VALUE.
coal_is() { eb -c "$PB" | grep -Eq "^$1:\s+$2$"; }

# tcp_stream_rev ADDR PORT BYTES: like tcp_stream_check, from NSB to NSA.
tcp_stream_rev() { tcp_stream "$NSA" "$NSB" "$@"; }

# --- interrupt coalescing

check_coal_default() {
	eb -c "$PB" | tee /dev/stderr | grep -q '^rx-usecs:' &&
		coal_is rx-usecs 0 && coal_is tx-usecs 0
}

# c_refused ERRNO_TEXT MESSAGE ARGS...: ethtool -C ARGS fails with the
# errno's text and (if not empty) the extack message; values unchanged.
c_refused() {
	local want=$1 msg=$2 out rc
	shift 2
	out=$(eb -C "$PB" "$@" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ $rc != 0 ] && echo "$out" | grep -q "$want" &&
		{ [ -z "$msg" ] || echo "$out" | grep -qF "$msg"; } &&
		coal_is rx-usecs 20 && coal_is tx-usecs 50
}

check_coal_updown() {
	ip -n "$NSB" link set "$PB" down && ip -n "$NSB" link set "$PB" up &&
		coal_is rx-usecs 20 && coal_is tx-usecs 50 &&
		ip netns exec "$NSA" ping -c 2 -i 0.2 -W 5 "$IPB" > /dev/null
}

# A verified stream into B: print "<rx interrupts> <rx packets>" of B's
# queues over it.
irqs_per_stream() {
	local i0 p0 i1 p1
	i0=$(qsum "$NSB" "$PB" rx_interrupts)
	p0=$(qsum "$NSB" "$PB" rx_packets)
	tcp_stream_check "$IPB" "$1" $((2 * MIB)) > /dev/null || return 1
	i1=$(qsum "$NSB" "$PB" rx_interrupts)
	p1=$(qsum "$NSB" "$PB" rx_packets)
	echo "$((i1 - i0)) $((p1 - p0))"
}

# Without coalescing the device raises an rx interrupt per frame; with an
# 8 ms interval (two ticks at HZ=250) at most one per interval and vector,
# and a 2 MiB stream sends many frames per interval: fewer than half as
# many interrupts as frames is a wide margin.
check_coal_irqs() {
	local off on
	# Frames, not packets of coalesced ones.
	eb -K "$PB" rx-gro-hw off || return 1
	eb -C "$PB" rx-usecs 0 tx-usecs 0 || return 1
	off=$(irqs_per_stream 5402) || return 1
	eb -C "$PB" rx-usecs 8000 tx-usecs 8000 || return 1
	on=$(irqs_per_stream 5403) || return 1
	eb -K "$PB" rx-gro-hw on || return 1
	set -- $off $on
	echo "rx-usecs 0: $1 interrupts for $2 frames; rx-usecs 8000: $3 for $4"
	[ "$2" -gt 0 ] && [ "$4" -gt 0 ] && [ "$1" -ge "$2" ] && [ $((2 * $3)) -lt "$4" ]
}

# --- checksum offload

feature_is() { ip netns exec "$1" "$ETHTOOL" -k "$2" | grep -Eq "^$3: $4( |$)"; }

# stream_counts DIR PORT: a verified 2 MiB stream (ab: A to B, ba: B to A);
# prints the growth of the sender's tx csum_partial and of the receiver's
# rx csum_unnecessary.
stream_counts() {
	local sns sdev rns rdev t0 r0 p0 q0 t1 r1 p1 q1
	if [ "$1" = ab ]; then
		sns=$NSA sdev=$PA rns=$NSB rdev=$PB
	else
		sns=$NSB sdev=$PB rns=$NSA rdev=$PA
	fi
	t0=$(qsum "$sns" "$sdev" tx_csum_partial)
	p0=$(qsum "$sns" "$sdev" tx_packets)
	r0=$(qsum "$rns" "$rdev" rx_csum_unnecessary)
	q0=$(qsum "$rns" "$rdev" rx_packets)
	if [ "$1" = ab ]; then
		tcp_stream_check "$IPB" "$2" $((2 * MIB)) > /dev/null || return 1
	else
		tcp_stream_rev "$IPA" "$2" $((2 * MIB)) > /dev/null || return 1
	fi
	t1=$(qsum "$sns" "$sdev" tx_csum_partial)
	p1=$(qsum "$sns" "$sdev" tx_packets)
	r1=$(qsum "$rns" "$rdev" rx_csum_unnecessary)
	q1=$(qsum "$rns" "$rdev" rx_packets)
	echo "$((t1 - t0)) $((r1 - r0)) $((p1 - p0)) $((q1 - q0))"
}

# check_stream DIR PORT TX RX: the stream verifies; the sender's offloaded
# frames grow (TX=grow: most of the frames it handed the driver, which
# with TSO are fewer than the 1400 on the wire) or not (TX=same), the
# receiver's validated ones likewise (RX=grow: most of the packets it
# got, fewer than the frames with GRO_HW).
check_stream() {
	local c
	c=$(stream_counts "$1" "$2") || return 1
	set -- "$1" "$2" "$3" "$4" $c
	echo "$1: tx csum_partial +$5 of $7 frames, rx csum_unnecessary +$6 of $8 packets"
	most "$3" "$5" "$7" && most "$4" "$6" "$8"
}

# most grow|same N OF: N of OF things offloaded: grow wants 90% of them or
# more (and some), same none.
most() {
	case $1 in
	grow) [ "$2" -gt 0 ] && [ $((10 * $2)) -ge $((9 * $3)) ] ;;
	same) [ "$2" = 0 ] ;;
	*) return 1 ;;
	esac
}

# Raw UDP frames from A to B's port 5404, one per argument, in order: its
# checksum right (good) or corrupted (bad); payload "<kind> devmem-rs".
send_udp() {
	local smac dmac
	smac=$(ip netns exec "$NSA" cat "/sys/class/net/$PA/address")
	dmac=$(ip netns exec "$NSB" cat "/sys/class/net/$PB/address")
	ip netns exec "$NSA" /usr/bin/python3 - "$PA" "$smac" "$dmac" "$IPA" "$IPB" "$@" <<'EOF'
import socket, struct, sys
ifname, smac, dmac, sip, dip = sys.argv[1:6]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton(sip), socket.inet_aton(dip)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for kind in sys.argv[6:]:
    payload = kind.encode() + b" devmem-rs"
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", 5405, 5404, ulen, 0) + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xffff
    if kind == "bad":
        c ^= 0x5a5a
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(mac(dmac) + mac(smac) + b"\x08\x00" + ip + udp)
EOF
}

udp_csum_errors() {
	ip netns exec "$NSB" awk '/^Udp:/ { if (!n) { for (i = 2; i <= NF; i++) if ($i == "InCsumErrors") c = i; n = 1 } else print $c }' /proc/net/snmp
}

# The corrupted frame is dropped by B's stack (InCsumErrors + 1, not
# delivered, not marked validated by the device); the good one sent after
# it is the first datagram the socket gets.
check_bad_csum() {
	local e0 e1 v0 v1 out
	e0=$(udp_csum_errors)
	v0=$(qsum "$NSB" "$PB" rx_csum_unnecessary)
	ip netns exec "$NSB" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5404))
s.settimeout(60)
print(s.recv(100).decode())
' "$IPB" > /tmp/gve_offload.udp &
	local rcv=$! i
	for i in $(seq 50); do
		ip netns exec "$NSB" ss -Huln "sport = :5404" | grep -q . && break
		sleep 0.1
	done
	send_udp bad good || { kill $rcv; return 1; }
	wait $rcv
	e1=$(udp_csum_errors)
	v1=$(qsum "$NSB" "$PB" rx_csum_unnecessary)
	out=$(cat /tmp/gve_offload.udp)
	echo "InCsumErrors $e0 -> $e1; rx csum_unnecessary $v0 -> $v1; received: $out"
	[ "$e1" = $((e0 + 1)) ] && [ "$out" = "good devmem-rs" ] && [ "$v1" -ge $((v0 + 1)) ]
}

# --- coalescing
ktap_check "ethtool -c: rx-usecs 0, tx-usecs 0 by default" check_coal_default
ktap_check "ethtool -C rx-usecs 20 tx-usecs 50" eb -C "$PB" rx-usecs 20 tx-usecs 50
ktap_check "ethtool -c: rx-usecs 20, tx-usecs 50" \
	bash -c "ip netns exec $NSB $ETHTOOL -c $PB | grep -Eq '^rx-usecs:\s+20$' &&
		ip netns exec $NSB $ETHTOOL -c $PB | grep -Eq '^tx-usecs:\s+50$'"
ktap_check "ethtool -C rx-usecs 8191: EINVAL, with the limit" \
	c_refused "Invalid argument" "rx-usecs above the device's maximum, 8190" rx-usecs 8191
ktap_check "ethtool -C tx-usecs 100000: EINVAL, with the limit" \
	c_refused "Invalid argument" "tx-usecs above the device's maximum, 8190" tx-usecs 100000
# The netlink core refuses parameters outside supported_coalesce_params
# with EINVAL (the ioctl with EOPNOTSUPP) before the driver is called.
ktap_check "ethtool -C rx-frames 8: EINVAL (unsupported parameter)" \
	c_refused "Invalid argument" "cannot modify an unsupported parameter" rx-frames 8
ktap_check "ethtool -C adaptive-rx on: EINVAL (unsupported parameter)" \
	c_refused "Invalid argument" "cannot modify an unsupported parameter" adaptive-rx on
ktap_check "ethtool -C rx-usecs 8190 (the maximum)" eb -C "$PB" rx-usecs 8190
ktap_check "ethtool -C rx-usecs 20 again" eb -C "$PB" rx-usecs 20
ktap_check "coalescing survives down/up; traffic flows" check_coal_updown
ktap_check "fewer rx interrupts than frames with rx-usecs 8000 (one per frame at 0)" \
	check_coal_irqs
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -C rx-usecs 0 tx-usecs 0" eb -C "$PB" rx-usecs 0 tx-usecs 0
ktap_check "ethtool -c: back to 0" coal_is rx-usecs 0

# --- checksum offload
ktap_check "ethtool -k: rx- and tx-checksumming on, both ports" bash -c "
	for p in '$NSA $PA' '$NSB $PB'; do
		set -- \$p
		ip netns exec \$1 $ETHTOOL -k \$2 | grep -q '^rx-checksumming: on' &&
			ip netns exec \$1 $ETHTOOL -k \$2 | grep -q '^tx-checksumming: on' &&
			ip netns exec \$1 $ETHTOOL -k \$2 | grep -q 'tx-checksum-ip-generic: on' || exit 1
	done"
ktap_check "A to B: device fills tx checksums, B's device validates" \
	check_stream ab 5410 grow grow
ktap_check "B to A: likewise" check_stream ba 5411 grow grow
ktap_check "ethtool -K tx off (A)" ea -K "$PA" tx off
ktap_check "ethtool -k: tx-checksumming off (A)" feature_is "$NSA" "$PA" tx-checksumming off
ktap_check "tx off: the stack computes, stream verified, still valid at B" \
	check_stream ab 5412 same grow
ktap_check "ethtool -K tx on (A): the device computes again" \
	bash -c "ip netns exec $NSA $ETHTOOL -K $PA tx on"
ktap_check "tx on again: offloaded, stream verified" check_stream ab 5413 grow grow
ktap_check "ethtool -K rx off (B)" eb -K "$PB" rx off
ktap_check "rx off: CHECKSUM_NONE at B, the stack verifies, stream verified" \
	check_stream ab 5414 grow same
ktap_check "ethtool -K rx on (B)" eb -K "$PB" rx on
ktap_check "rx on again: validated by the device, stream verified" \
	check_stream ab 5415 grow grow
ktap_check "corrupted UDP checksum dropped (InCsumErrors), good one delivered" \
	check_bad_csum
sed 's/^/# /' /tmp/ktap.out
# --- scatter-gather and TSO

# tx_counts: A's tx frames, sent from several buffers, TSO super-frames and
# the segments the stack counted for them (sums over queues).
tx_counts() {
	local s
	for s in tx_packets tx_sg_packets tx_tso_packets tx_tso_segments; do
		qsum "$NSA" "$PA" $s
	done | xargs
}
# devstat NS DEV NAME: device statistic NAME.
devstat() { ip netns exec "$1" "$ETHTOOL" -S "$2" | awk -v n="$3:" '$1 == n { print $2 }'; }

# rx_frames: the frames B's device received (its packets, but segments
# for the packets it coalesced).
rx_frames() {
	echo $(($(qsum "$NSB" "$PB" rx_packets) - $(qsum "$NSB" "$PB" rx_gro_hw_packets) +
		$(qsum "$NSB" "$PB" rx_gro_hw_segments)))
}

# check_sg_tso ADDR PORT SG TSO: a verified 4 MiB stream from A to B at
# ADDR. SG=grow: most of A's frames went from several buffers (SG=same:
# none); TSO=grow: A sent super-frames, of two segments or more on
# average, and B received at least as many frames as the stack counted
# segments (the device made them) and more than A handed its driver
# (TSO=same: no super-frame); the device refused no segmentation.
check_sg_tso() {
	local a0 a1 r0 r1 e0 e1 p sg tso seg rx
	a0=$(tx_counts)
	r0=$(rx_frames)
	e0=$(devstat "$NSA" "$PA" tx_tso_errors)
	tcp_stream_check "$1" "$2" $((4 * MIB)) > /dev/null || return 1
	a1=$(tx_counts)
	r1=$(rx_frames)
	e1=$(devstat "$NSA" "$PA" tx_tso_errors)
	local sgm=$3 tsom=$4
	set -- $a0 $a1
	p=$(($5 - $1)) sg=$(($6 - $2)) tso=$(($7 - $3)) seg=$(($8 - $4)) rx=$((r1 - r0))
	echo "A: $p frames, $sg scatter-gather, $tso TSO of $seg segments; B: $rx frames;" \
		"tx_tso_errors $e0 -> $e1"
	[ -n "$e0" ] && [ "$e1" = "$e0" ] || return 1
	case $sgm in
	grow) [ $((2 * sg)) -gt "$p" ] ;;
	same) [ "$sg" = 0 ] ;;
	*) false ;;
	esac || return 1
	case $tsom in
	grow) [ "$tso" -gt 0 ] && [ "$seg" -ge $((2 * tso)) ] && [ "$rx" -ge "$seg" ] &&
		[ "$rx" -gt "$p" ] ;;
	same) [ "$tso" = 0 ] && [ "$seg" = 0 ] ;;
	*) false ;;
	esac
}

# IPv6 addresses go with a link down (check_coal_updown): put them back.
ip -n "$NSA" addr replace "$IP6A/64" dev "$PA" nodad
ip -n "$NSB" addr replace "$IP6B/64" dev "$PB" nodad
ktap_check "ethtool -k: scatter-gather, TSO (v4, v6) on by default, both ports" bash -c "
	for p in '$NSA $PA' '$NSB $PB'; do
		set -- \$p
		k=\$(ip netns exec \$1 $ETHTOOL -k \$2)
		echo \"\$k\" | grep -q '^scatter-gather: on' &&
			echo \"\$k\" | grep -q '^tcp-segmentation-offload: on' &&
			echo \"\$k\" | grep -q 'tx-tcp-segmentation: on' &&
			echo \"\$k\" | grep -q 'tx-tcp6-segmentation: on' || exit 1
	done"
ktap_check "SG + TSO, IPv4: the device segments super-frames, stream verified" \
	check_sg_tso "$IPB" 5420 grow grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "SG + TSO, IPv6: likewise" check_sg_tso "$IP6B" 5421 grow grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -K tso off (A)" ea -K "$PA" tso off
ktap_check "ethtool -k: tcp-segmentation-offload off, scatter-gather on (A)" bash -c "
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^tcp-segmentation-offload: off' &&
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^scatter-gather: on'"
ktap_check "tso off: no super-frame, still scatter-gather (software GSO), verified" \
	check_sg_tso "$IPB" 5422 grow same
sed 's/^/# /' /tmp/ktap.out
ktap_check "tso off, IPv6: likewise" check_sg_tso "$IP6B" 5423 grow same
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -K tso on sg off (A)" ea -K "$PA" tso on sg off
ktap_check "ethtool -k: scatter-gather off takes TSO with it (A)" bash -c "
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^scatter-gather: off' &&
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^tcp-segmentation-offload: off'"
ktap_check "sg off: linear frames only, no super-frame, stream verified" \
	check_sg_tso "$IPB" 5424 same same
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -K sg on (A): TSO comes back with it" bash -c "
	ip netns exec $NSA $ETHTOOL -K $PA sg on &&
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^tcp-segmentation-offload: on'"
ktap_check "SG + TSO again, IPv4: stream verified" check_sg_tso "$IPB" 5425 grow grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "SG + TSO again, IPv6: stream verified" check_sg_tso "$IP6B" 5426 grow grow
sed 's/^/# /' /tmp/ktap.out
# --- hardware GRO

# gro_counts: B's coalesced packets and their segments, B's frames, A's
# TSO segments (sums over queues).
gro_counts() {
	echo "$(qsum "$NSB" "$PB" rx_gro_hw_packets) $(qsum "$NSB" "$PB" rx_gro_hw_segments)" \
		"$(qsum "$NSB" "$PB" rx_packets) $(qsum "$NSA" "$PA" tx_tso_segments)"
}

# check_gro ADDR PORT GRO: a verified 4 MiB stream from A (TSO on) to B at
# ADDR. GRO=grow: B's device coalesced segments, two or more per packet on
# average, and B got fewer packets than A's device sent segments;
# GRO=same: nothing coalesced.
check_gro() {
	local c0 c1 gp gs rx seg
	c0=$(gro_counts)
	tcp_stream_check "$1" "$2" $((4 * MIB)) > /dev/null || return 1
	c1=$(gro_counts)
	local mode=$3
	set -- $c0 $c1
	gp=$(($5 - $1)) gs=$(($6 - $2)) rx=$(($7 - $3)) seg=$(($8 - $4))
	echo "B: $rx packets, $gp of them coalesced from $gs segments; A: $seg TSO segments"
	case $mode in
	grow) [ "$gp" -gt 0 ] && [ "$gs" -ge $((2 * gp)) ] && [ "$rx" -lt "$seg" ] ;;
	same) [ "$gp" = 0 ] && [ "$gs" = 0 ] ;;
	*) false ;;
	esac
}

ktap_check "ethtool -k: rx-gro-hw on by default, both ports" bash -c "
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^rx-gro-hw: on' &&
	ip netns exec $NSB $ETHTOOL -k $PB | grep -q '^rx-gro-hw: on'"
ktap_check "GRO_HW, IPv4, unsplit: segments coalesced, stream verified" \
	check_gro "$IPB" 5430 grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "GRO_HW, IPv6: likewise" check_gro "$IP6B" 5431 grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -G tcp-data-split on (B)" ip netns exec "$NSB" "$NEW_ETHTOOL" -G "$PB" tcp-data-split on
ktap_check "GRO_HW with header split: one header buffer, payloads packed, verified" \
	check_gro "$IPB" 5432 grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -K rx-gro-hw off (B)" eb -K "$PB" rx-gro-hw off
ktap_check "rx-gro-hw off: nothing coalesced, stream verified" check_gro "$IPB" 5433 same
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -K rx-gro-hw on (B)" eb -K "$PB" rx-gro-hw on
ktap_check "ethtool -K rx off (B) takes rx-gro-hw with it" bash -c "
	ip netns exec $NSB $ETHTOOL -K $PB rx off &&
	ip netns exec $NSB $ETHTOOL -k $PB | grep -q '^rx-gro-hw: off'"
ktap_check "rx off: nothing coalesced, stream verified" check_gro "$IPB" 5434 same
ktap_check "ethtool -K rx on (B): rx-gro-hw comes back" bash -c "
	ip netns exec $NSB $ETHTOOL -K $PB rx on &&
	ip netns exec $NSB $ETHTOOL -k $PB | grep -q '^rx-gro-hw: on'"
ktap_check "GRO_HW again, IPv6 with header split: stream verified" \
	check_gro "$IP6B" 5435 grow
sed 's/^/# /' /tmp/ktap.out
ktap_check "ethtool -G tcp-data-split off (B)" ip netns exec "$NSB" "$NEW_ETHTOOL" -G "$PB" tcp-data-split off
ktap_check "ethtool -k: both on again at the end" bash -c "
	ip netns exec $NSA $ETHTOOL -k $PA | grep -q '^tx-checksumming: on' &&
	ip netns exec $NSB $ETHTOOL -k $PB | grep -q '^rx-checksumming: on'"
ktap_finish
