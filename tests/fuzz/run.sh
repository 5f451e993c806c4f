#!/bin/sh
# run.sh: build each libFuzzer target with clang (fuzzer, ASan, UBSan) and
# run it for FUZZ_SECONDS seconds (default 10) on a copy of its seed corpus.
# Usage: tests/fuzz/run.sh [TARGET...]   (default: every fuzz_*.c here)
# Crashes are written to $FUZZ_OUT/crash-* and fail the run.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$top/build-fuzz}
seconds=${FUZZ_SECONDS:-10}
runs=${FUZZ_RUNS:-}
mkdir -p "$out"

targets=$*
[ -n "$targets" ] || targets=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')

# the lib sources each target needs (pure modules only: no I/O)
sources_for() {
	case "$1" in
	fuzz_netstring) echo lib/netstring.c ;;
	fuzz_sockmap) echo lib/sockmap.c lib/netstring.c ;;
	fuzz_mapkey) echo lib/mapkey.c ;;
	fuzz_record) echo lib/record.c lib/sts.c ;;
	fuzz_config) echo lib/configfile.c lib/log.c ;;
	fuzz_answer) echo lib/answer.c lib/policy.c lib/tlsa.c ;;
	fuzz_sts) echo lib/sts.c ;;
	fuzz_smtpreply) echo lib/smtpreply.c ;;
	fuzz_control) echo lib/control.c ;;
	*) echo "unknown fuzz target $1" >&2; exit 64 ;;
	esac
}

# the libraries a target links beyond them
libs_for() {
	case "$1" in
	fuzz_answer) echo "$(pkg-config --libs getdns libcrypto)" ;;
	esac
}

status=0
for t in $targets; do
	srcs=""
	for s in $(sources_for "$t"); do srcs="$srcs $top/$s"; done
	# shellcheck disable=SC2086
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -D_GNU_SOURCE \
		-I"$top/lib" "$top/tests/fuzz/$t.c" $srcs $(libs_for "$t") -o "$out/$t"
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	cp "$top/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null || true
	if [ -n "$runs" ]; then limit="-runs=$runs"; else limit="-max_total_time=$seconds"; fi
	echo "== $t ($limit)"
	if "$out/$t" "$limit" -max_len=12000 -artifact_prefix="$out/$t-" \
		-print_final_stats=1 "$corpus" >"$out/$t.log" 2>&1; then
		grep -E '^stat::number_of_executed_units' "$out/$t.log" | sed "s/^/$t: /"
	else
		status=1
		echo "$t: FAILED"
		tail -n 40 "$out/$t.log"
	fi
done
exit $status
