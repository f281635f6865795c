#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the devmem-rs selftests in KTAP (kselftest style): each program is
# one test; its own KTAP output is nested under it. Exit code 4 means
# skipped. With -o DIR, each program's output is also kept as DIR/NAME.tap
# and the summary as DIR/summary.tap.
#
#   run_tests.sh [-o DIR] [TEST...]
set -u
cd "$(dirname "$0")"
# Python test output reaches the log line by line, also from a test that
# times out.
export PYTHONUNBUFFERED=1
outdir=
if [ "${1:-}" = -o ]; then
	outdir=$2
	shift 2
	mkdir -p "$outdir"
fi
tests=("$@")
if [ ${#tests[@]} = 0 ]; then
	read -r -a tests <<< "$(sed -n 's/^TEST_PROGS := //p' Makefile)"
fi

# Per program, as kselftest's settings file says (or KSFT_TIMEOUT).
tmo=${KSFT_TIMEOUT:-$(sed -n 's/^timeout=//p' settings 2>/dev/null)}
tmo=${tmo:-300}

summary() { echo "$@"; [ -z "$outdir" ] || echo "$@" >> "$outdir/summary.tap"; }

# After a program was killed (timeout), what it left behind would fail
# the programs after it: its processes in network namespaces are killed
# and the namespaces deleted, so that the emulated ports come back to the
# initial namespace (where every program expects to find them).
recover() {
	local ns i
	for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		echo "# recover: deleted network namespace $ns"
	done
	# Every port's netdev is back in this namespace's sysfs.
	for i in $(seq 100); do
		[ "$(ls -d /sys/bus/platform/devices/gve-rs-emu.*/net/* 2>/dev/null | wc -l)" = \
			"$(ls -d /sys/bus/platform/devices/gve-rs-emu.* 2>/dev/null | wc -l)" ] && return
		sleep 0.1
	done
	echo "# recover: the emulated ports did not all come back"
}
[ -z "$outdir" ] || : > "$outdir/summary.tap"
summary "TAP version 13"
summary "1..${#tests[@]}"
n=0
fails=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	echo "# selftests: devmem-rs: $t"
	log=$(mktemp)
	# A longer limit for one program: "timeout.NAME=SECONDS" in settings
	# (KSFT_TIMEOUT still overrides every limit).
	t_tmo=${KSFT_TIMEOUT:-$(sed -n "s/^timeout\.$t=//p" settings 2>/dev/null)}
	timeout --foreground -k 10 "${t_tmo:-$tmo}" "./$t" 2>&1 | tee "$log" | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	[ -z "$outdir" ] || cp "$log" "$outdir/$t.tap"
	rm -f "$log"
	case $rc in
	0) summary "ok $n selftests: devmem-rs: $t" ;;
	4) summary "ok $n selftests: devmem-rs: $t # SKIP" ;;
	124 | 137) summary "not ok $n selftests: devmem-rs: $t # TIMEOUT"; fails=$((fails + 1)); recover ;;
	*) summary "not ok $n selftests: devmem-rs: $t # exit=$rc"; fails=$((fails + 1)) ;;
	esac
done
[ $fails = 0 ]
