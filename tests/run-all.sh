#!/bin/sh
# Run every test of danemap, as the README says and CI does:
#   1. a -Werror build and `make check` (Check unit tests, then integration
#      tests against the hermetic signed test bed, the real daemon and
#      Postfix's postmap, all inside a private network namespace);
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the integration tests once more with the programs under valgrind
#      (zero errors, zero leaks);
#   4. each libFuzzer target for FUZZ_SECONDS (default 5) seconds.
# Ends with one line "tests: N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/deps.sh" || exit 1

total_pass=0
total_fail=0
status=0

# run NAME BUILDDIR MAKE-ARGS...: make check there, add up its counts.
run() {
	name=$1 dir=$2
	shift 2
	echo "== $name"
	if make -C "$dir" -j"$(nproc)" check "$@" >"$dir/check.out" 2>&1; then
		:
	else
		status=1
		grep -E '^(FAIL|ERROR|XPASS)' "$dir/check.out"
		for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
			echo "---- ${log%.trs}.log"
			tail -n 60 "${log%.trs}.log"
		done
	fi
	p=$(sed -n 's/^# PASS: *//p' "$dir/test-suite.log" 2>/dev/null | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$dir/test-suite.log" 2>/dev/null | head -1)
	e=$(sed -n 's/^# ERROR: *//p' "$dir/test-suite.log" 2>/dev/null | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$dir/test-suite.log" 2>/dev/null | head -1)
	echo "$name: ${p:-0} passed, $(( ${f:-0} + ${e:-0} )) failed, ${s:-0} skipped"
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0} + ${e:-0}))
	if [ -z "$p" ]; then
		status=1
		tail -n 40 "$dir/check.out"
	fi
}

"$top/tests/build.sh" "$top/build" --enable-werror || exit 1
run "default build" "$top/build"

"$top/tests/build.sh" "$top/build-san" --enable-werror --enable-sanitizers || exit 1
run "ASan+UBSan build" "$top/build-san"

DANEMAP_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
export DANEMAP_WRAPPER
run "valgrind" "$top/build" TESTS="$(make -s -C "$top/build" print-integration-tests)"
unset DANEMAP_WRAPPER

echo "== fuzz (${FUZZ_SECONDS:-5} s per target)"
fuzz_targets=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fp=0 ff=0
mkdir -p "$top/build-fuzz"
for t in $fuzz_targets; do
	if FUZZ_OUT="$top/build-fuzz" FUZZ_SECONDS="${FUZZ_SECONDS:-5}" \
		"$top/tests/fuzz/run.sh" "$t" >"$top/build-fuzz/run-$t.out" 2>&1; then
		fp=$((fp + 1))
		grep "^$t: " "$top/build-fuzz/run-$t.out"
	else
		ff=$((ff + 1))
		status=1
		tail -n 40 "$top/build-fuzz/run-$t.out"
	fi
done
echo "fuzz: $fp passed, $ff failed"
total_pass=$((total_pass + fp))
total_fail=$((total_fail + ff))

echo "tests: $total_pass passed, $total_fail failed"
[ "$status" -eq 0 ] && [ "$total_fail" -eq 0 ]
