# common.sh: sourced by the integration tests. Finds the tree, re-runs the
# test inside a private network namespace (tests/testbed/netns.sh) so no
# packet can leave loopback, and offers pass/fail bookkeeping that ends
# with the line "N passed, M failed".
#
# Environment: top_srcdir / top_builddir (set by `make check`),
# DANEMAP_WRAPPER (e.g. valgrind ...) prefixed to every danemap program.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir

if [ -z "${DANEMAP_NETNS:-}" ]; then
	exec "$top_srcdir/tests/testbed/netns.sh" "$0" "$@"
fi

TESTBED="$top_srcdir/tests/testbed/testbed.sh"
CASES="$top_srcdir/tests/testbed/cases.txt"
DANEMAP="${DANEMAP_WRAPPER:-} $top_builddir/daemon/danemap"
DANEMAPD="${DANEMAP_WRAPPER:-} $top_builddir/daemon/danemapd"

# A wrapper such as valgrind makes every program tens of times slower:
# timeouts in the configurations the tests write are multiplied by
# TIME_SCALE, and the load test is made smaller (see daemon.sh).
if [ -n "${DANEMAP_WRAPPER:-}" ]; then
	TIME_SCALE=${DANEMAP_TIME_SCALE:-6}
else
	TIME_SCALE=${DANEMAP_TIME_SCALE:-1}
fi

# scale_conf SRC DST [QUERY_MS DEADLINE_MS]: copy a configuration with its
# query_timeout and lookup_deadline (or the given ones) times TIME_SCALE.
scale_conf() {
	q=${3:-$(sed -n 's/^query_timeout *= *//p' "$1")}
	d=${4:-$(sed -n 's/^lookup_deadline *= *//p' "$1")}
	sed -e "s/^query_timeout.*/query_timeout = $((q * TIME_SCALE))/" \
		-e "s/^lookup_deadline.*/lookup_deadline = $((d * TIME_SCALE))/" \
		"$1" >"$2"
}

# testbed_up NAME [ADDR]: a fresh $dir, the test bed started in it on
# ADDR (default 127.0.0.1) and $port (its env file sourced), and everything
# torn down at exit: the daemon, what the test's own cleanup_more function
# stops (if it defines one), the test bed (by pid) and $dir.
testbed_up() {
	dir=$(mktemp -d "/tmp/danemap-$1.XXXXXX")
	trap testbed_down EXIT INT TERM
	port=$(testbed_port)
	if ! "$TESTBED" start "$dir" "${2:-127.0.0.1}" "$port"; then
		fail "test bed did not start"
		finish
		exit 1
	fi
	. "$dir/env"
}

testbed_down() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	if command -v cleanup_more >/dev/null 2>&1; then
		cleanup_more
	fi
	"$TESTBED" stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}

# relay LABEL FILE: count the PASS/FAIL lines a helper program printed.
relay() {
	if ! grep -q '^PASS\|^FAIL' "$2"; then
		fail "$1: client did not run"
		sed 's/^/    /' "$2"
		return
	fi
	while IFS= read -r line; do
		case "$line" in
		PASS:*) pass "$1: ${line#PASS: }" ;;
		FAIL:*) fail "$1: ${line#FAIL: }" ;;
		esac
	done <"$2"
}

# daemon_start CONF SOCK LOG: start danemapd in the foreground (stderr to
# LOG), its pid in dpid; true once SOCK exists (30 s at most).
dpid=
daemon_start() {
	rm -f "$2"
	$DANEMAPD -f -c "$1" 2>>"$3" &
	dpid=$!
	i=0
	while [ ! -S "$2" ] && [ $i -lt 300 ] && kill -0 "$dpid" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$2" ]
}

# daemon_stop: SIGTERM the daemon started last and wait; its exit status.
daemon_stop() {
	[ -n "$dpid" ] || return 0
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid"
	rc=$?
	dpid=
	return $rc
}

# postmap_setup: the one-line main.cf that postmap -c "$dir/pf" needs on a
# machine without a Postfix configuration.
POSTMAP=${POSTMAP:-/usr/sbin/postmap}
postmap_setup() {
	mkdir -p "$dir/pf"
	echo "compatibility_level = 3.7" >"$dir/pf/main.cf"
}

# postmap_answer KEY TABLE: the reply as danemap query prints it, from
# what postmap says (exit 0 + value / exit 1 silent / exit 1 + error).
postmap_answer() {
	out=$("$POSTMAP" -c "$dir/pf" -q "$1" "$2" 2>"$dir/postmap.err")
	rc=$?
	if [ $rc = 0 ]; then
		echo "OK $out"
	elif grep -q 'temporary error: ' "$dir/postmap.err"; then
		echo "TEMP $(sed -n 's/.*temporary error: //p' "$dir/postmap.err")"
	elif grep -q 'permanent error: ' "$dir/postmap.err"; then
		echo "PERM $(sed -n 's/.*permanent error: //p' "$dir/postmap.err")"
	elif [ ! -s "$dir/postmap.err" ]; then
		echo "NOTFOUND "
	else
		echo "ERROR $(head -n 1 "$dir/postmap.err")"
	fi
}

# metric NAME_WITH_LABELS FILE: its value in a scrape of /metrics saved
# in FILE ("" if absent).
metric() {
	awk -v n="$1" '$1 == n { print $2 }' "$2"
}

# ask SOCK KEY: the daemon's reply payload for KEY.
ask() {
	python3 "$top_srcdir/tests/integration/sockclient.py" ask "$1" "$2"
}

passed=0
failed=0

pass() {
	passed=$((passed + 1))
	echo "PASS: $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}

# finish: the closing line, and the exit status for automake's harness.
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# testbed_port: 53 inside our own namespace, else a free-ish high port
# derived from the pid so parallel runs do not collide.
testbed_port() {
	if [ "${DANEMAP_NETNS:-0}" = 1 ]; then
		echo 53
	else
		echo $((20000 + $$ % 20000))
	fi
}

# A check repeated key by key costs a wrapper's (valgrind's) start-up
# each time. Under a wrapper such checks run $DANEMAP_PLAIN, the program
# without it, and note each configuration, key and reply (batch_note);
# batch_check then has the wrapped program answer each configuration's
# keys in one process: the same replies (TEMP reasons aside), no report
# from the wrapper. Every code path is still seen by valgrind, at one
# start-up instead of thirty. Without a wrapper both do nothing.
if [ -n "${DANEMAP_WRAPPER:-}" ]; then
	DANEMAP_PLAIN=$top_builddir/daemon/danemap
else
	DANEMAP_PLAIN=$DANEMAP
fi
batch_note() {
	[ -n "${DANEMAP_WRAPPER:-}" ] || return 0
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$dir/batch.list"
}
batch_check() {
	[ -n "${DANEMAP_WRAPPER:-}" ] && [ -s "$dir/batch.list" ] || return 0
	tab=$(printf '\t')
	for bconf in $(cut -f1 "$dir/batch.list" | sort -u); do
		awk -F"$tab" -v c="$bconf" '$1 == c { print $2 }' "$dir/batch.list" >"$dir/batch.keys"
		awk -F"$tab" -v c="$bconf" '$1 == c { print $3 }' "$dir/batch.list" >"$dir/batch.want"
		# all the walks at once under valgrind: ample timeouts (no
		# noted reply depends on one)
		sed -e 's/^query_timeout.*/query_timeout = 30000/' \
			-e 's/^lookup_deadline.*/lookup_deadline = 60000/' "$bconf" >"$dir/batch.conf"
		# one word a key, never a glob ("[192.0.2.1]")
		# shellcheck disable=SC2046
		(set -f; $DANEMAP -c "$dir/batch.conf" query $(cat "$dir/batch.keys")) >"$dir/batch.got" 2>"$dir/batch.err"
		brc=$?
		sed 's/^\(TEMP\) .*/\1/' "$dir/batch.want" >"$dir/batch.want1"
		sed 's/^\(TEMP\) .*/\1/' "$dir/batch.got" >"$dir/batch.got1"
		n=$(wc -l <"$dir/batch.keys")
		if [ "$brc" != 99 ] && ! grep -q 'ERROR SUMMARY\|definitely lost' "$dir/batch.err" &&
			cmp -s "$dir/batch.want1" "$dir/batch.got1"; then
			pass "${1:+$1 }$n keys of $(basename "$bconf") in one process under the wrapper: the same replies, no report"
		else
			fail "${1:+$1 }$n keys of $(basename "$bconf") under the wrapper: exit $brc"
			diff "$dir/batch.want1" "$dir/batch.got1" | head -n 20
			head -n 40 "$dir/batch.err"
		fi
	done
	rm -f "$dir/batch.list"
}

# check_cases CONF [LABEL [TLD]]: every case of tests/testbed/cases.txt
# through `danemap -c CONF query`, its first line and exit status; with
# TLD, the keys are moved from test. to TLD. (a bed built with that TLD).
check_cases() {
	tab=$(printf '\t')
	while IFS="$tab" read -r key expected status desc; do
		case "$key" in '' | '#'*) continue ;; esac
		if [ -n "${3:-}" ]; then
			key=$(printf '%s\n' "$key" |
				sed -E "s/\.test(\.?)(\]|:|$)/.$3\1\2/I")
		fi
		out=$($DANEMAP_PLAIN -c "$1" query "$key" 2>"$dir/stderr")
		rc=$?
		first=$(printf '%s\n' "$out" | head -n 1)
		batch_note "$1" "$key" "$first"
		if reply_matches "$expected" "$first" && [ "$rc" = "$status" ]; then
			pass "${2:+$2 }$key -> '$first' ($rc): $desc"
		else
			fail "${2:+$2 }$key: want '$expected' exit $status, got '$first' exit $rc: $desc"
			sed 's/^/    /' "$dir/stderr"
			$DANEMAP_PLAIN -c "$1" query -v "$key" 2>&1 | sed 's/^/    /'
		fi
	done <"$CASES"
	batch_check "${2:-}"
}

# expect_reply EXPECTED ACTUAL: the manifest's convention: "NOTFOUND"
# means exactly "NOTFOUND " (with its space), "TEMP" means "TEMP <reason>".
reply_matches() {
	case "$1" in
	NOTFOUND) [ "$2" = "NOTFOUND " ] ;;
	TEMP) case "$2" in "TEMP "?*) true ;; *) false ;; esac ;;
	*) [ "$1" = "$2" ] ;;
	esac
}
