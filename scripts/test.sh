#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: host checks, then one VM boot that runs KUnit (the kernel
# crate's doctests, ours included) and our kselftests. Prints each test's
# result and ends with "N passed, N failed". Exits non-zero on any failed
# test, a timeout, or any oops/WARN/BUG/lockdep/kmemleak report in the
# guest log, which is kept in test-logs/guest.log.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$DEVMEM_SRC"

LOGS=${DEVMEM_TEST_LOGS:-$DEVMEM_SRC/test-logs$([ "$CORE" = c ] && echo -c)}
VM_TIMEOUT=${DEVMEM_VM_TIMEOUT:-4200}
rm -rf "$LOGS"
mkdir -p "$LOGS"
passed=0
failed=0
failed_names=()
failed_why=()

result() { # result 0|1 NAME [DETAIL]
	if [ "$1" = 0 ]; then
		passed=$((passed + 1))
		echo "ok - $2${3:+ # $3}"
	else
		failed=$((failed + 1))
		failed_names+=("$2")
		failed_why+=("${3:-}")
		echo "not ok - $2${3:+ # $3}"
	fi
}

# check NAME CMD...: run a host check, keep its output in the logs.
check() {
	local name=$1 t0=$SECONDS
	shift
	if "$@" > "$LOGS/$name.log" 2>&1; then
		result 0 "host: $name" "$((SECONDS - t0))s"
	else
		tail -n 40 "$LOGS/$name.log" | sed 's/^/#   /'
		result 1 "host: $name" "log: $LOGS/$name.log"
	fi
}

our_rs() { git ls-files '*.rs'; }
# Our files of the kernel crate (patches/0002 joins them).
our_kernel_rs() { git ls-files 'rust/kernel/*.rs'; }

rustfmt_check() {
	/usr/bin/rustfmt --check --edition 2021 --config-path "$KSRC/.rustfmt.toml" $(our_rs)
}

# The uapi header must be what ynl-gen-c makes of the spec (which also
# validates the spec against the genetlink schema).
uapi_check() {
	local spec tmp rc=0
	tmp=$(mktemp)
	for spec in Documentation/netlink/specs/*.yaml; do
		hdr=include/uapi/linux/$(sed -n 's|^uapi-header: linux/||p' "$spec")
		"$PYTHON" "$KSRC/tools/net/ynl/ynl-gen-c.py" --mode uapi --header \
			--spec "$KSRC/Documentation/netlink/specs/${spec##*/}" -o "$tmp" || rc=1
		diff -u "$hdr" "$tmp" || { echo "$hdr is stale: regenerate it from $spec"; rc=1; }
	done
	rm -f "$tmp"
	return $rc
}

checkpatch() {
	local c
	c=$(git ls-files '*.c' '*.h')
	"$KSRC/scripts/checkpatch.pl" --no-tree --strict --quiet -f $c
}

# Clippy on our crates and the kernel crate with our additions; any
# warning about our files fails.
clippy_check() {
	local log=$LOGS/clippy-build.log
	"$DEVMEM_SRC/scripts/kernel.sh" clippy > "$log" 2>&1 || { cat "$log"; return 1; }
	local ours
	ours=$(our_kernel_rs | sed 's/\./\\./g' | paste -sd'|')
	! grep -B8 -A4 -E -- "--> .*($DEVMEM_KDIR/|$ours)" "$log"
}

echo "# devmem-rs: make test, $CORE devmem core ($(date -u +%FT%TZ))"
t0=$SECONDS
check setup "$DEVMEM_SRC/scripts/setup.sh"
check kernel-tree "$DEVMEM_SRC/scripts/kernel.sh" tree
check ncdevmem "$DEVMEM_SRC/scripts/ncdevmem.sh"
check drv-tests "$DEVMEM_SRC/scripts/drv-tests.sh"
check patches-apply "$DEVMEM_SRC/scripts/kernel.sh" patches-check
check rustfmt rustfmt_check
check uapi-from-spec uapi_check
check checkpatch checkpatch
check build "$DEVMEM_SRC/scripts/kernel.sh" build
check clippy clippy_check
# devmem-rx (the bench tool; its smoke test runs in the guest): build,
# its unit tests, clippy.
check devmem-rx "$DEVMEM_SRC/scripts/devmem-rx.sh" build
check devmem-rx-unit "$DEVMEM_SRC/scripts/devmem-rx.sh" test
check devmem-rx-clippy "$DEVMEM_SRC/scripts/devmem-rx.sh" clippy
echo "# host checks took $((SECONDS - t0))s"

# selftest_results DIR: one result per subtest of each program whose TAP
# run_tests.sh kept in DIR, and one per program.
selftest_results() {
	local dir=$1 tap prog line name
	if [ ! -f "$dir/summary.tap" ]; then
		result 1 "selftest: run_tests.sh" "no results in $dir"
		return
	fi
	for tap in "$dir"/*.tap; do
		[ "${tap##*/}" = summary.tap ] && continue
		prog=${tap##*/}
		prog=${prog%.tap}
		# Each result with, after a tab, the last comment lines the
		# case printed before it (a failure's reason: CI shows only
		# the head and tail of this output).
		while IFS=$'\t' read -r line why; do
			name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ ([^#]+).*/\2/; s/ +$//')
			case $line in
			"not ok"*) result 1 "selftest: $prog: $name" "${why:0:700}" ;;
			*"# SKIP"*) echo "ok - selftest: $prog: $name # SKIP" ;;
			# A known failure (drv_upstream.py: a timing check TCG
			# cannot meet): shown with its reason, not counted as
			# passed.
			*"# XFAIL"*) echo "ok - selftest: $prog: $name # XFAIL${line##*# XFAIL}" ;;
			*) result 0 "selftest: $prog: $name" ;;
			esac
		done < <(awk '
			/^(not )?ok [0-9]+ / {
				d = ""
				for (i = (n > 6 ? n - 6 : 0); i < n; i++)
					d = d (d == "" ? "" : " | ") substr(buf[i % 6], 3)
				print $0 "\t" d
				n = 0
				next
			}
			/^# / { buf[n % 6] = $0; n++ }' "$tap")
	done
	while read -r line; do
		name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ selftests: ([^#]+).*/\2/; s/ +$//')
		case $line in
		"not ok"*) result 1 "selftest: $name" "$(echo "$line" | sed -n 's/.*# //p')" ;;
		*) result 0 "selftest: $name" ;;
		esac
	done < <(grep -E '^(not )?ok [0-9]+ ' "$dir/summary.tap")
}

# vm_result NAME EXIT: the boot itself.
vm_result() {
	case $2 in
	124) result 1 "$1: boot and run" "timeout after ${VM_TIMEOUT}s" ;;
	125) result 1 "$1: boot and run" "no exit status (crash?)" ;;
	*) result 0 "$1: boot and run" ;;
	esac
}

# log_result NAME LOG: any kernel report in a guest log fails the run.
log_result() {
	local reports=${2%.log}-reports.log
	guest_reports "$2" > "$reports"
	if [ -s "$reports" ]; then
		head -n 20 "$reports" | sed 's/^/#   /'
		result 1 "$1: log free of oops/WARN/BUG/lockdep/kmemleak" "$reports"
	else
		result 0 "$1: log free of oops/WARN/BUG/lockdep/kmemleak"
	fi
}

kernel=$KOBJ/arch/x86/boot/bzImage
if [[ ! " ${failed_names[*]} " =~ " host: build " ]] && [ -f "$kernel" ]; then
	t1=$SECONDS
	out=$LOGS/guest-out
	mkdir -p "$out"
	# Upstream's driver selftests (drv_upstream.py: 35-40 min alone,
	# most of it rss_ctx.py's iperf3 phases) run in a second boot of
	# the same kernel beside the first (one vCPU each, the host has
	# two cores), when TESTS does not name the tests to run and
	# DEVMEM_TEST_UPSTREAM is not 0. KUnit runs in the first boot only.
	upid=
	if [ -z "${TESTS:-}" ] && [ "${DEVMEM_TEST_UPSTREAM:-1}" != 0 ]; then
		out2=$LOGS/guest-upstream-out
		mkdir -p "$out2"
		DEVMEM_CMDLINE="slub_debug=FZPU kunit.enable=0 ${DEVMEM_CMDLINE:-}" \
		"$DEVMEM_SRC/scripts/vm.sh" -t "$VM_TIMEOUT" -l "$LOGS/guest-upstream.log" -o "$out2" \
			"DEVMEM_CACHE=$DEVMEM_CACHE KSRC=$KSRC CORE=$CORE tools/testing/selftests/devmem-rs/run_tests.sh -o /run/devmem-out/selftests drv_upstream.py" \
			> /dev/null 2>&1 &
		upid=$!
		echo "# upstream's driver selftests: second VM, log: $LOGS/guest-upstream.log"
	fi
	# Slab poisoning: a use-after-free oopses instead of passing.
	DEVMEM_CMDLINE="slub_debug=FZPU ${DEVMEM_CMDLINE:-}" \
	"$DEVMEM_SRC/scripts/vm.sh" -t "$VM_TIMEOUT" -l "$LOGS/guest.log" -o "$out" \
		"DEVMEM_CACHE=$DEVMEM_CACHE KSRC=$KSRC CORE=$CORE tools/testing/selftests/devmem-rs/run_tests.sh -o /run/devmem-out/selftests ${TESTS:-}" \
		> /dev/null 2>&1
	vmrc=$?
	echo "# VM run took $((SECONDS - t1))s (exit $vmrc), log: $LOGS/guest.log"
	# devmem_diff.py's record of this core, for the other core's runs.
	if [ -f "$out/diff-$CORE.json" ]; then
		mkdir -p "$DEVMEM_CACHE/diff"
		cp "$out/diff-$CORE.json" "$DEVMEM_CACHE/diff/$CORE.json"
	fi
	vm_result guest "$vmrc"

	# KUnit: every leaf test case in the console log.
	kunit=$(sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$LOGS/guest.log" |
		grep -E '^    (not )?ok [0-9]+ ' || true)
	while read -r line; do
		[ -n "$line" ] || continue
		name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ ([^ #]+).*/\2/')
		case $line in
		"not ok"*) result 1 "kunit: $name" ;;
		*"# SKIP"*) echo "ok - kunit: $name # SKIP" ;;
		*) result 0 "kunit: $name" ;;
		esac
	done <<< "$kunit"
	# rustdoc_test_gen names a doctest after its file: rust/kernel/net/
	# netdev.rs gives rust_doctest_kernel_net_netdev_rs_N.
	ours=$(our_kernel_rs | sed -E 's|^rust/||; s|[/.]|_|g; s|^|rust_doctest_|; s/$/_[0-9]+( |$)/' |
		paste -sd'|')
	ours=$(echo "$kunit" | sed -E 's/^ *(not )?ok [0-9]+ //' | grep -cE "^($ours)" || true)
	[ "$ours" -gt 0 ]
	result $? "kunit: devmem-rs doctests ran" "$ours"

	# kselftests: each subtest of each program.
	selftest_results "$out/selftests"
	log_result guest "$LOGS/guest.log"

	if [ -n "$upid" ]; then
		wait "$upid"
		vmrc=$?
		echo "# second VM (upstream's driver selftests) done after $((SECONDS - t1))s (exit $vmrc), log: $LOGS/guest-upstream.log"
		vm_result "guest (upstream)" "$vmrc"
		selftest_results "$out2/selftests"
		log_result "guest (upstream)" "$LOGS/guest-upstream.log"
	fi
else
	result 1 "guest: boot and run" "no kernel to boot"
fi

echo "# total time $((SECONDS - t0))s"
for i in "${!failed_names[@]}"; do
	echo "# failed: ${failed_names[i]}"
	[ -z "${failed_why[i]}" ] || echo "#   ${failed_why[i]}"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
