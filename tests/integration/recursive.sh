#!/bin/sh
# recursive.sh: `resolution = recursive` (libunbound inside getdns,
# iterating from the root) against a signed test tree of its own:
#  - the decision cases of tests/testbed/cases.txt, moved from test. to
#    dnstest. (libunbound answers test. itself as a local zone);
#  - one zone's server silent, another's answering SERVFAIL: those keys
#    TEMP within lookup_deadline, the other keys asked with them unharmed;
#  - root hints at an address where nothing listens and at one with no
#    route: every key TEMP within lookup_deadline, never NOTFOUND (getdns
#    1.6.0 hands back a stale packet for another question there);
#  - the built-in defaults (recursive, no network): TEMP, exit 75;
#  - the answer is written before anything can fail at exit; a failed
#    write is exit 74; warm and dump work and exit as documented;
#  - danemapd in recursive mode through Postfix's postmap -q, a SIGHUP
#    that switches stub -> recursive -> stub, and SIGTERM: exit 0.
# Under DANEMAP_WRAPPER=valgrind ... every program's exit status also
# says whether it made an invalid access or leaked at exit.
#
# libunbound never sends a query to 127.0.0.0/8, so the tree is served on
# 10.53.0.1, an address this test adds to lo inside its own private
# network namespace. Without such a namespace the test is skipped: no
# other address is ever a target.
. "$(dirname "$0")/common.sh"

if [ "${DANEMAP_NETNS:-0}" != 1 ]; then
	echo "SKIP: no private network namespace: recursive mode needs an address outside 127.0.0.0/8"
	exit 77
fi
BED=10.53.0.1 SILENT=10.53.0.3 SERVFAIL=10.53.0.4 DEAD=10.53.0.9 NOROUTE=10.99.0.1
for a in $BED $SILENT $SERVFAIL $DEAD; do
	ip addr add "$a/32" dev lo || { echo "cannot add $a to lo"; exit 1; }
done

TESTBED_TLD=dnstest TESTBED_OWN_NS="silent=$SILENT servfail=$SERVFAIL"
export TESTBED_TLD TESTBED_OWN_NS
testbed_up recursive "$BED"
CONF="$dir/recursive.conf"
scale_conf "$TESTBED_RECURSIVE_CONF" "$CONF"
deadline_ms=$(sed -n 's/^lookup_deadline *= *//p' "$CONF")

# timed OUTFILE CMD...: run CMD, stdout to OUTFILE; sets rc and ms
timed() {
	o=$1
	shift
	t0=$(date +%s%N)
	"$@" >"$o" 2>"$dir/stderr"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# ---------------------------------------------------------------- cases
check_cases "$CONF" recursive "$TESTBED_TLD"

# ---------------------------------------------------------------- faults
# One zone's server silent, another's answering SERVFAIL; the keys next
# to them, asked in the same run, are unharmed.
if FAULT_ADDR=$SILENT "$TESTBED" fault "$dir" silent "$port" --default drop >/dev/null &&
	FAULT_ADDR=$SERVFAIL "$TESTBED" fault "$dir" servfail "$port" --default servfail >/dev/null; then
	timed "$dir/out" $DANEMAP -c "$CONF" query silent.dnstest servfail.dnstest \
		dane-one.dnstest mixed.dnstest
	got=$(tr '\n' '|' <"$dir/out")
	case "$got" in
	"TEMP "*"|TEMP "*"|OK dane-only|OK dane|")
		if [ "$rc" = 75 ] && [ "$ms" -le $((deadline_ms + 2000)) ]; then
			pass "silent and SERVFAIL zone servers: TEMP in $ms ms, other keys unharmed: $got"
		else
			fail "silent and SERVFAIL zone servers: exit $rc after $ms ms (deadline $deadline_ms ms)"
		fi
		;;
	*) fail "silent and SERVFAIL zone servers: got '$got'" ;;
	esac
else
	fail "fault proxies on $SILENT / $SERVFAIL did not start"
fi

# ---------------------------------------------------------------- dead roots
# Nothing answers at the root: every key TEMP in time, none NOTFOUND.
keys="dane-one.dnstest unsigned.dnstest nx.dnstest [mx1.dane-one.dnstest]:587 example.com"
for where in "$DEAD:nothing listens" "$NOROUTE:no route"; do
	a=${where%%:*} why=${where#*:}
	printf '. 3600000 IN NS ns.dead.\nns.dead. 3600000 IN A %s\n' "$a" >"$dir/dead.hints"
	sed "s|^root_hints.*|root_hints = $dir/dead.hints|" "$CONF" >"$dir/dead.conf"
	# shellcheck disable=SC2086
	timed "$dir/out" $DANEMAP -c "$dir/dead.conf" query $keys
	n=$(grep -c '^TEMP ' "$dir/out")
	if [ "$n" = 5 ] && [ "$rc" = 75 ] && [ "$ms" -le $((deadline_ms + 2000)) ]; then
		pass "root hints at $a ($why): all 5 keys TEMP, exit 75, $ms ms"
	else
		fail "root hints at $a ($why): $n of 5 TEMP, exit $rc, $ms ms: $(tr '\n' '|' <"$dir/out")"
		sed 's/^/    /' "$dir/stderr"
	fi
done

# The built-in defaults: recursive mode, the system's root trust anchor,
# getdns's built-in root servers, which no packet can reach from here.
: >"$dir/empty.conf"
timed "$dir/out" $DANEMAP -c "$dir/empty.conf" query example.com
case "$(cat "$dir/out"):$rc" in
"TEMP "*:75) pass "default configuration, no network: '$(cat "$dir/out")', exit 75, $ms ms" ;;
*) fail "default configuration, no network: '$(cat "$dir/out")' exit $rc" ;;
esac

# ---------------------------------------------------------------- exit
# The reply is out before the teardown, through a pipe too; a write that
# fails is exit 74, not a success.
out=$($DANEMAP -c "$CONF" query dane-one.dnstest nx.dnstest 2>"$dir/stderr" | cat)
if [ "$out" = "OK dane-only
NOTFOUND " ]; then
	pass "answers reach a pipe whole"
else
	fail "answers through a pipe: '$out'"
fi
if [ -w /dev/full ]; then
	$DANEMAP -c "$CONF" query dane-one.dnstest >/dev/full 2>"$dir/stderr"
	rc=$?
	if [ "$rc" = 74 ] && grep -q 'cannot write' "$dir/stderr"; then
		pass "stdout that cannot be written: exit 74"
	else
		fail "stdout that cannot be written: exit $rc"
	fi
fi

# warm and dump in recursive mode: exit statuses exact, the new file right
printf 'dane-one.dnstest\nmixed.dnstest\nbogus-mx.dnstest\n' >"$dir/warm.list"
mkdir -p "$dir/state"
$DANEMAP -c "$CONF" warm -f "$dir/warm.list" >"$dir/warm.out" 2>&1
rc=$?
$DANEMAP -c "$CONF" dump >"$dir/dump.out" 2>&1
drc=$?
if [ $rc = 0 ] && [ $drc = 0 ] &&
	grep -q '^dane-one\.dnstest	dane-only	.*	cdb$' "$dir/dump.out" &&
	grep -q '^mixed\.dnstest	dane	.*	cdb$' "$dir/dump.out" &&
	! grep -q '^bogus-mx' "$dir/dump.out"; then
	pass "warm and dump in recursive mode: exit 0, dane-only/dane stored, TEMP not"
else
	fail "warm (exit $rc) / dump (exit $drc) in recursive mode"
	sed 's/^/    /' "$dir/warm.out" "$dir/dump.out"
fi

# ---------------------------------------------------------------- daemon
if [ -x "$POSTMAP" ]; then
	sock="$dir/danemapd.sock"
	stub="$dir/stub.conf"
	{
		grep -v '^log_level' "$CONF" | sed -e 's/^resolution.*/resolution = stub/' \
			-e "s|^root_hints.*|upstream = $BED@$port|"
		echo "listen = unix:$sock"
		echo "log_level = info"
	} >"$stub"
	sed -e 's/^resolution.*/resolution = recursive/' \
		-e "s|^upstream.*|root_hints = $TESTBED_HINTS|" "$stub" >"$dir/rec.conf"
	cp "$dir/rec.conf" "$dir/d.conf"
	postmap_setup
	if daemon_start "$dir/d.conf" "$sock" "$dir/danemapd.log"; then
		bad=
		for key in dane-one.dnstest mixed.dnstest unsigned.dnstest bogus-tlsa.dnstest \
			'[mx1.dane-one.dnstest]:587' silent.dnstest; do
			want=$($DANEMAP -c "$CONF" query "$key" 2>/dev/null)
			got=$(postmap_answer "$key" "socketmap:unix:$sock:tlspolicy")
			[ "$got" = "$want" ] || bad="$bad $key: '$got' not '$want';"
		done
		if [ -z "$bad" ]; then
			pass "danemapd recursive through postmap -q: same answers as danemap query"
		else
			fail "danemapd recursive through postmap -q:$bad"
		fi
		# SIGHUP switching the resolution mode, twice; each time a key
		# not asked before, so it is resolved in the new mode
		for step in stub:dane-two.dnstest recursive:cname-target.dnstest \
			stub:cname-original.dnstest; do
			mode=${step%%:*} key=${step#*:}
			if [ $mode = stub ]; then cp "$stub" "$dir/d.conf"; else cp "$dir/rec.conf" "$dir/d.conf"; fi
			before=$(grep -c 'configuration reloaded' "$dir/danemapd.log")
			kill -HUP "$dpid"
			i=0
			while [ "$(grep -c 'configuration reloaded' "$dir/danemapd.log")" = "$before" ] && [ $i -lt 100 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			got=$(postmap_answer "$key" "socketmap:unix:$sock:tlspolicy")
			if [ "$got" = "OK dane-only" ]; then
				pass "SIGHUP to $mode resolution: $key '$got'"
			else
				fail "SIGHUP to $mode resolution: $key '$got'"
			fi
		done
		if daemon_stop; then
			pass "SIGTERM: danemapd exits 0 after recursive and stub resolution"
		else
			fail "SIGTERM: danemapd exit $rc"
			tail -n 30 "$dir/danemapd.log" | sed 's/^/    /'
		fi
	else
		fail "danemapd did not start in recursive mode"
		sed 's/^/    /' "$dir/danemapd.log"
	fi
fi

finish
