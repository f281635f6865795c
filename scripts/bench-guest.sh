#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The measurements of `make bench`, run in the guest by bench.sh (one boot
# per kernel). Ports 0 and 1 of the emulated NIC go into two namespaces
# (sender in A, receiver in B); port B gets 4 queues, header split, RSS on
# queue 0 only and ntuple rules steering port 5201 to queue 1 and 5202 to
# queue 2. Every measurement runs devmem-rx; each writes its JSON summary to
# OUTDIR and prints one line.
#
#   bench-guest.sh OUTDIR
#
# Environment: DEVMEM_RX (the tool), BENCH_RUNS (3), BENCH_SECONDS (10, per
# stream), BENCH_BIND_SIZES ("64M 1G"), BENCH_MEMCPY_SECONDS (3), BENCH_PERF
# (set: a perf profile of one more devmem and one more copy stream),
# BENCH_DMABUF (64M: the receiver's udmabuf), BENCH_KBENCH (1; 0 skips the
# in-kernel benches and the veth streams, which bench.sh does for the C
# kernel: neither depends on the devmem core, and the report takes the
# Rust kernel's figures).
set -uo pipefail
. "$(dirname "$0")/env.sh"
. "$DEVMEM_SRC/tools/testing/selftests/devmem-rs/lib.sh"

out=$1
mkdir -p "$out"
RX=${DEVMEM_RX:-$DEVMEM_CACHE/devmem-rx/release/devmem-rx}
ET=$DEVMEM_TOOLS/ethtool-trixie/usr/sbin/ethtool
runs=${BENCH_RUNS:-3}
secs=${BENCH_SECONDS:-10}
bind_sizes=${BENCH_BIND_SIZES:-64M 1G}
dmabuf=${BENCH_DMABUF:-64M}
PORT=5201
failed=0

# Progress lines carry the seconds since the script started.
say() { printf 'bench: [%4d s] %s\n' "$SECONDS" "$*"; }
fail() { say "FAILED: $*"; failed=$((failed + 1)); }

[ -x "$RX" ] || { say "no devmem-rx at $RX"; exit 2; }
[ -x "$ET" ] || { say "no ethtool with tcp-data-split at $ET"; exit 2; }

# The kernel: release, and which devmem core serves bind-rx (the devmem
# family's caps-get says so once it reports an implementation; until then
# it is 6.12's C core).
core=$("$RX" core 2>/dev/null || echo c)
printf '{"uname": "%s", "core": "%s", "cpus": %s, "mem_kib": %s}\n' "$(uname -r)" "$core" \
	"$(nproc)" "$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)" > "$out/kernel.json"
say "kernel $(uname -r), devmem core: $core, $(nproc) vCPUs, clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

pair_setup || { say "no emulated port pair"; exit 2; }
# A veth pair in two more namespaces: plain TCP over it against plain TCP
# over the emulated port pair (issue 12's figure), in the same boot.
NSVA=bench-veth-a NSVB=bench-veth-b VA=10.78.0.1 VB=10.78.0.2
cleanup() {
	pair_cleanup
	ip netns del $NSVA 2> /dev/null
	ip netns del $NSVB 2> /dev/null
}
trap cleanup EXIT
veth=0
if [ "${BENCH_KBENCH:-1}" != 0 ]; then
	veth_setup $NSVA $NSVB $VA $VB && veth=1 ||
		say "no veth pair: the pair/veth figure is not measured"
fi
nsb() { ip netns exec "$NSB" "$@"; }
nsb "$ET" -L "$PB" combined 4 &&
	nsb "$ET" -K "$PB" ntuple off &&
	nsb "$ET" -G "$PB" tcp-data-split on &&
	nsb "$ET" -K "$PB" ntuple on &&
	nsb "$ET" -X "$PB" equal 1 &&
	nsb "$ET" -N "$PB" flow-type tcp4 dst-ip "$IPB" dst-port $PORT action 1 &&
	nsb "$ET" -N "$PB" flow-type tcp4 dst-ip "$IPB" dst-port $((PORT + 1)) action 2 ||
	{ say "ethtool set-up of $PB failed"; exit 2; }
# udmabuf refuses buffers above size_limit_mb (64 by default).
echo 4096 > /sys/module/udmabuf/parameters/size_limit_mb

# The in-kernel micro-benchmarks of the devmem family (the same Rust code
# in both kernels; each op runs both sides for at least BENCH_KMSECS ms):
# alloc-bench, our net_iov allocator against a gen_pool used as 6.12's C
# core uses it; token-bench, our socket token store against 6.12's xarray.
kbench() { # OUT OP ARGS...: devmem-rx talks to the family (ynl's Python
	# CLI takes 10-20 s a call under TCG).
	local o=$1 op=$2
	shift 2
	"$RX" "$op" "$@" --json "$o" > "${o%.json}.log" 2>&1 || return 1
	say "$(sed 's/^devmem-rx //' "${o%.json}.log")"
}
kmsecs=${BENCH_KMSECS:-1000}

# stream NAME MODE FLOWS BATCH RXCPUS TXCPUS: one receive of $secs seconds
# over the emulated pair (queue 1 of port B); with VETH=1, a plain-copy
# one over the veth pair instead.
stream() {
	local name=$1 mode=$2 flows=$3 batch=$4 rxcpus=$5 txcpus=$6 rxpid rc
	local rxns=$NSB txns=$NSA addr=$IPB port=$PORT
	local dev=(--ifname "$PB" --queue 1 --dmabuf-size "$dmabuf")
	if [ "${VETH:-0}" = 1 ]; then
		rxns=$NSVB txns=$NSVA addr=$VB port=$((PORT + 3)) dev=()
	fi
	ip netns exec "$rxns" "$RX" recv --mode "$mode" "${dev[@]}" --flows "$flows" \
		--batch "$batch" --cpus "$rxcpus" --addr "$addr" --port $port \
		--json "$out/$name.rx.json" \
		> "$out/$name.rx.log" 2>&1 &
	rxpid=$!
	local t0=$SECONDS t1
	# Creating and binding the udmabuf takes seconds under TCG.
	if ! wait_tcp_listen "$rxns" $((port + flows - 1)) 180 $rxpid; then
		wait $rxpid
		fail "$name: receiver did not start: $(tail -n 3 "$out/$name.rx.log")"
		return
	fi
	t1=$SECONDS
	# A profile (BENCH_PERF) covers the stream itself: the receiver's
	# start-up is over, and perf (seconds to start under TCG) runs the
	# sender once it records, of all CPUs, until the sender is done.
	local perf=()
	[ -n "${perf_data:-}" ] && perf=(perf record -q -a -g -e cpu-clock -o "$perf_data" --)
	"${perf[@]}" ip netns exec "$txns" "$RX" send --addr "$addr" --port $port --flows "$flows" \
		--cpus "$txcpus" --seconds "$secs" --json "$out/$name.tx.json" > "$out/$name.tx.log" 2>&1
	rc=$?
	wait_pid $rxpid 120
	local rxrc=$?
	if [ $rc != 0 ] || [ $rxrc != 0 ]; then
		fail "$name: sender exit $rc, receiver exit $rxrc: $(grep -h 'error\|devmem-rx:' \
			"$out/$name.rx.log" "$out/$name.tx.log" | tail -n 3)"
		return
	fi
	say "$name: $(grep -h ' flow(s): ' "$out/$name.rx.log" | sed 's/^devmem-rx: //')" \
		"(receiver ready in $((t1 - t0)) s, both done $((SECONDS - t1)) s later)"
}

# Receiver on the last vCPU, sender on vCPU 0 (the same one when the
# guest has only one).
ncpu=$(nproc)
rxc=$((ncpu - 1))
[ "$ncpu" -ge 2 ] || say "note: the guest has 1 vCPU: sender and receiver share it"
t0=$SECONDS
for r in $(seq "$runs"); do
	say "memcpy run $r/$runs"
	"$RX" memcpy-bench --seconds "${BENCH_MEMCPY_SECONDS:-3}" --json "$out/memcpy.$r.json" \
		> "$out/memcpy.$r.log" 2>&1 || fail "memcpy run $r"
	say "memcpy: $(sed 's/^devmem-rx memcpy-bench: //' "$out/memcpy.$r.log")"
done
# One devmem stream of 1 s first, not counted: the first stream of a
# boot ran at a fraction of the later ones (2026-11-27, both kernels:
# 1.19 and 0.77 MB/s against 6-8 MB/s for the same stream later in the
# boot), which made the first measured figure a start-up cost.
say "warm-up stream (not counted)"
main_secs=$secs
secs=1
stream warmup devmem 1 128 $rxc 0
secs=$main_secs
for r in $(seq "$runs"); do
	# 1 flow: receiver on vCPU 1, sender (and the emulated NIC's work,
	# done synchronously when it transmits) on vCPU 0. devmem and copy
	# alternate so drift hits both alike.
	say "stream run $r/$runs: devmem, batch 128"
	stream "devmem.b128.$r" devmem 1 128 $rxc 0
	say "stream run $r/$runs: plain copy"
	stream "copy.$r" copy 1 128 $rxc 0
	if [ $veth = 1 ]; then
		say "stream run $r/$runs: plain copy over veth"
		VETH=1 stream "veth.$r" copy 1 128 $rxc 0
	fi
	# Scaling over queues and vCPUs: 1 flow with its sender, receiver
	# and NIC work on vCPU 0 against 2 flows on queues 1 and 2, flow i
	# wholly on vCPU i (with 1 vCPU both share it).
	if [ "$ncpu" -ge 2 ]; then
		say "stream run $r/$runs: devmem, 1 flow on vCPU 0 alone"
		stream "devmem1c.b128.$r" devmem 1 128 0 0
	fi
	say "stream run $r/$runs: devmem, 2 flows on queues 1 and 2"
	stream "devmem2.b128.$r" devmem 2 128 0,$rxc 0,$rxc
	for b in 1 32; do
		say "stream run $r/$runs: devmem, batch $b"
		stream "devmem.b$b.$r" devmem 1 "$b" $rxc 0
	done
done
if [ -n "${BENCH_PERF:-}" ]; then
	# Where the time goes (not a figure): perf samples all CPUs
	# (cpu-clock: TCG has no PMU) during one more stream of each mode.
	# devmem-b1: DONTNEED of every token alone, where the syscall is
	# most of the receiver's work.
	for m in devmem copy devmem-b1; do
		say "perf profile: $m stream"
		# Recorded on the guest's tmpfs (writing it to the 9p out
		# directory took an eighth of the CPU), kept in OUTDIR after.
		perf_data=/tmp/perf.$m.data
		if [ $m = devmem-b1 ]; then
			stream "perf.$m.1" devmem 1 1 $rxc 0
		else
			stream "perf.$m.1" "$m" 1 128 $rxc 0
		fi
		perf report -i "$perf_data" --stdio --no-children --sort sym \
			--percent-limit 0.5 -g none > "$out/perf.$m.txt" 2>> "$out/perf.$m.data.log"
		perf report -i "$perf_data" --stdio --no-children --sort cpu,comm \
			-g none > "$out/perf.$m.cpu.txt" 2>> "$out/perf.$m.data.log"
		# Time in and under each function: cpu-clock samples land
		# where interrupts come back on (TCG has no NMI), so the
		# callers say whose irq-off time a spin_unlock_irqrestore is.
		perf report -i "$perf_data" --stdio --children --sort sym \
			--percent-limit 2 -g none > "$out/perf.$m.children.txt" 2>> "$out/perf.$m.data.log"
		# What a DONTNEED call spends its time on (either core's
		# function is called from sk_setsockopt): self time of the
		# samples with sk_setsockopt in their call chain, only those.
		[ $m = copy ] || perf report -i "$perf_data" --stdio --no-children --sort sym \
			-p sk_setsockopt -x --percent-limit 0.05 -g none \
			> "$out/perf.$m.setsockopt.txt" 2>> "$out/perf.$m.data.log"
		cp "$perf_data" "$out/"
		perf_data=
		say "perf $m: top symbols in $out/perf.$m.txt"
	done
fi
for r in $(seq "$runs"); do
	[ "${BENCH_KBENCH:-1}" = 0 ] && break
	# 4 MiB of net_iovs refilled 64 at a time, 256 MiB refilled 1024 at
	# a time (gen_pool's first-fit search grows with what is allocated).
	for nb in 1024:64 65536:1024; do
		n=${nb%:*} b=${nb#*:}
		say "alloc-bench: $n net_iovs, batch $b, run $r/$runs"
		kbench "$out/alloc.$n.$r.json" alloc-bench --niovs "$n" --batch "$b" --msecs "$kmsecs" ||
			fail "alloc-bench $n/$b run $r: $(tail -n 2 "$out/alloc.$n.$r.log")"
	done
	# Nothing else held, skbs of 4 frags; 10000 tokens held, full skbs.
	for hf in 0:4 10000:17; do
		h=${hf%:*} f=${hf#*:}
		say "token-bench: $h held, skbs of $f frags, run $r/$runs"
		kbench "$out/tokens.$h.$r.json" token-bench --held "$h" --frags "$f" --msecs "$kmsecs" ||
			fail "token-bench $h/$f run $r: $(tail -n 2 "$out/tokens.$h.$r.log")"
	done
done
for size in $bind_sizes; do
	for r in $(seq "$runs"); do
		say "bind+unbind of a $size udmabuf, run $r/$runs"
		# As many pairs as fit in 3 seconds, at least one.
		nsb "$RX" bind-bench --ifname "$PB" --queue 1 --size "$size" --reps 1 --seconds 3 \
			--json "$out/bind.$size.$r.json" > "$out/bind.$size.$r.log" 2>&1 ||
			fail "bind $size run $r: $(tail -n 2 "$out/bind.$size.$r.log")"
		say "$(sed 's/^devmem-rx bind-bench: //' "$out/bind.$size.$r.log" | tail -n 1)"
	done
done
say "done in $((SECONDS - t0)) s, $failed failed"
# guest-init.sh scans for leaks after the command: minutes for a 3 GiB
# guest under TCG, and not what a benchmark is for (make test does it).
{ echo off > /sys/kernel/debug/kmemleak; } 2>/dev/null
[ $failed = 0 ]
