#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: builds the receiver/sender (tools/net/devmem-rx) and the
# kernel, boots the VM once per kernel, runs every measurement in it
# (bench-guest.sh: a progress line per step) and writes bench-results/:
# results.json (one object per figure), summary.md (the table, each figure
# with its spread over the runs) and PNG plots (bench-report.py).
#
#   bench.sh            3 runs of each figure, 10 s streams
#   QUICK=1 bench.sh    1 run of each figure, 2 s streams, 128 MiB instead
#                       of 1 GiB for the large bind (under 5 minutes with
#                       both kernels built)
#
# Kernels: one per devmem core in BENCH_CORES (default "rust c"): the
# Rust core (CORE=rust, build directory $DEVMEM_CACHE/build) and upstream's
# C core (CORE=c, $DEVMEM_CACHE/build-c), each built incrementally by
# kernel.sh and booted once; the raw results of each are in raw/<core>/.
# The Rust/C rows compare the two boots; every other ratio is from runs in
# one boot.
# DEVMEM_KERNEL=bzImage benchmarks that one kernel instead, without
# building (its core is what the guest's caps-get reports).
#
# Environment: DEVMEM_BENCH_RESULTS (default bench-results/), BENCH_CORES,
# BENCH_RUNS, BENCH_SECONDS, BENCH_BIND_SIZES ("64M 1G"; quick "64M 128M"),
# BENCH_DMABUF (the receiver's udmabuf: 64M; quick 16M), BENCH_PERF,
# DEVMEM_VM_MEM (default 3G here: a 1 GiB udmabuf is bound).
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$DEVMEM_SRC"

RESULTS=${DEVMEM_BENCH_RESULTS:-$DEVMEM_SRC/bench-results}
export DEVMEM_VM_MEM=${DEVMEM_VM_MEM:-3G}
# Every vCPU visible to the guest (vm.sh): the scaling figure needs 2.
export DEVMEM_VM_SMP=${DEVMEM_VM_SMP:-sockets}
# QUICK binds 128 MiB instead of 1 GiB (the C core's 1 GiB bind + unbind
# alone takes over 2 minutes under TCG, 256 MiB 31 s) and receives into a
# 16 MiB udmabuf (bound once per stream: seconds each for the C core).
if [ -n "${QUICK:-}" ] && [ "${QUICK:-0}" != 0 ]; then
	runs=${BENCH_RUNS:-1} secs=${BENCH_SECONDS:-2} memcpy_secs=1 kmsecs=500 variant=quick
	bind_sizes=${BENCH_BIND_SIZES:-64M 128M} dmabuf=${BENCH_DMABUF:-16M}
else
	runs=${BENCH_RUNS:-3} secs=${BENCH_SECONDS:-10} memcpy_secs=3 kmsecs=2000 variant=full
	bind_sizes=${BENCH_BIND_SIZES:-64M 1G} dmabuf=${BENCH_DMABUF:-64M}
fi
cores=${BENCH_CORES:-rust c}
[ -n "${DEVMEM_KERNEL:-}" ] && cores=given
t0=$SECONDS
load0=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$RESULTS"
mkdir -p "$RESULTS/raw"
echo "==> make bench ($variant: $runs run(s) per figure, ${secs} s streams; results in $RESULTS)"

step "set-up" "$RESULTS/logs/setup.log" "$DEVMEM_SRC/scripts/setup.sh" || exit 1
step "build devmem-rx" "$RESULTS/logs/devmem-rx.log" "$DEVMEM_SRC/scripts/devmem-rx.sh" build || exit 1
rx=$(tail -n 1 "$RESULTS/logs/devmem-rx.log")

# kernel_for CORE: builds the kernel for CORE (incrementally, in its own
# build directory) and prints its bzImage.
kernel_for() {
	if [ -n "${DEVMEM_KERNEL:-}" ]; then
		echo "$DEVMEM_KERNEL"
		return
	fi
	case $1 in
	rust | c)
		# kernel.sh picks the build directory from CORE (env.sh);
		# KOBJ from the environment would point both at one directory.
		step "build kernel ($1 core)" "$RESULTS/logs/kernel-$1.log" \
			env -u KOBJ CORE="$1" "$DEVMEM_SRC/scripts/kernel.sh" build >&2 || return 1
		(unset KOBJ; CORE=$1; . "$DEVMEM_SRC/scripts/env.sh" && echo "$KOBJ/arch/x86/boot/bzImage")
		;;
	*)
		echo "bench: unknown devmem core '$1' in BENCH_CORES (rust or c)" >&2
		return 1
		;;
	esac
}

failed=0
for core in $cores; do
	kernel=$(kernel_for "$core") || { failed=1; continue; }
	raw=$RESULTS/raw/$core
	mkdir -p "$raw"
	echo "==> VM ($core kernel: $kernel; console: $raw/guest.log)"
	# The in-kernel benches are the same Rust code in both kernels and the
	# report takes the Rust kernel's: the other kernel skips them.
	kbench=1
	[ "$core" != rust ] && [[ " $cores " == *" rust "* ]] && kbench=0
	t1=$SECONDS
	DEVMEM_KERNEL=$kernel "$DEVMEM_SRC/scripts/vm.sh" -s -t "${BENCH_VM_TIMEOUT:-3600}" \
		-l "$raw/guest.log" -o "$raw/out" \
		"DEVMEM_CACHE=$DEVMEM_CACHE KSRC=$KSRC DEVMEM_RX=$rx BENCH_RUNS=$runs BENCH_SECONDS=$secs BENCH_MEMCPY_SECONDS=$memcpy_secs BENCH_BIND_SIZES='$bind_sizes' BENCH_DMABUF=$dmabuf BENCH_KBENCH=$kbench BENCH_PERF=${BENCH_PERF:-} BENCH_KMSECS=$kmsecs scripts/bench-guest.sh /run/devmem-out/bench" |
		grep --line-buffered -E '^(bench|devmem-vm): ' | grep --line-buffered -v 'devmem-vm: running'
	rc=${PIPESTATUS[0]}
	echo "    VM done in $((SECONDS - t1)) s (exit $rc)"
	[ "$rc" = 0 ] || failed=1
	# Kernel reports are findings, listed in summary.md (a WARN or an
	# oops panics the guest, which fails the VM run above).
	guest_reports "$raw/guest.log" > "$raw/guest-reports.log"
	if [ -s "$raw/guest-reports.log" ]; then
		echo "==> kernel reports in the guest log:" >&2
		head -n 10 "$raw/guest-reports.log" | sed 's/^/    /' >&2
	fi
done

# The host's load (other work on the machine slows the VM down).
printf '{"loadavg_start": "%s", "loadavg_end": "%s", "cores": %s}\n' "$load0" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" > "$RESULTS/host.json"
echo "==> report"
"$PYTHON" "$DEVMEM_SRC/scripts/bench-report.py" --variant "$variant" "$RESULTS" || failed=1
[ -f "$RESULTS/summary.md" ] && cat "$RESULTS/summary.md"
echo "==> make bench ($variant) took $((SECONDS - t0)) s; results: $RESULTS"
exit $failed
