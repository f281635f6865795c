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
	124) summary "not ok $n selftests: devmem-rs: $t # TIMEOUT"; fails=$((fails + 1)) ;;
	*) summary "not ok $n selftests: devmem-rs: $t # exit=$rc"; fails=$((fails + 1)) ;;
	esac
done
[ $fails = 0 ]
