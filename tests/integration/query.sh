#!/bin/sh
# query.sh: `danemap query` against the hermetic signed test bed (real
# getdns validating real signed zones served by NSD on loopback):
#  - every case of tests/testbed/cases.txt gives its first line and exit
#    status;
#  - upstreams that answer SERVFAIL, REFUSED, FORMERR or garbage, or never
#    answer, give TEMP within the lookup deadline, never NOTFOUND;
#  - truncated answers are retried over TCP;
#  - a wrong trust anchor fails closed (TEMP);
#  - usage and configuration errors give 64 and 78 with file:line.
. "$(dirname "$0")/common.sh"

testbed_up query
# the cases are about answers, not speed: give a slow wrapper its time
CONF="$dir/cases.conf"
scale_conf "$TESTBED_CONF" "$CONF"

# ---------------------------------------------------------------- cases
check_cases "$CONF"

# ---------------------------------------------------------------- evidence
out=$($DANEMAP -c "$CONF" query -v "$(sed -n 's/\t.*//; /^[^#]/{p;q}' "$CASES")")
if printf '%s\n' "$out" | grep -q '^  lookup .* MX: dnssec secure' &&
	printf '%s\n' "$out" | grep -q '^  decision: '; then
	pass "-v prints each lookup with its DNSSEC status and the decision"
else
	fail "-v evidence missing:"
	printf '%s\n' "$out" | sed 's/^/    /'
fi

# -v lists each host's addresses, as the zone has them (what a probe
# would connect to)
mx_addr=$(sed -n 's/^mx1\.dane-one\.test\. [0-9]* IN A //p' "$dir/zones/dane-one.test.zone")
if [ -n "$mx_addr" ] &&
	$DANEMAP -c "$CONF" query -v dane-one.test | grep -qx "    address $mx_addr"; then
	pass "-v lists the host's address ($mx_addr)"
else
	fail "-v: no line '    address $mx_addr' for dane-one.test"
fi

# several keys: one reply line each, in order, exit status of the worst
keys=$(awk -F'\t' '!/^#/ && NF >= 3 { print $1 }' "$CASES" | head -n 6)
# shellcheck disable=SC2086
out=$($DANEMAP -c "$CONF" query $keys)
rc=$?
want=""
worst=0
for k in $keys; do
	line=$($DANEMAP -c "$CONF" query "$k")
	r=$?
	want="$want$line
"
	if [ "$r" = 75 ] || { [ "$r" = 1 ] && [ "$worst" = 0 ]; }; then worst=$r; fi
done
if [ "$out
" = "$want" ] && [ "$rc" = "$worst" ]; then
	pass "several keys at once: same replies in order, exit $rc"
else
	fail "several keys at once: got exit $rc, want $worst"
fi

# ---------------------------------------------------------------- faults
# The upstream itself misbehaves: every lookup fails, so TEMP, quickly.
# Timeouts (and the slow faults that must beat or miss them) are scaled
# like the cases' configuration, so a slow wrapper keeps the same margins.
deadline_ms=$(($(sed -n 's/^lookup_deadline *= *//p' "$TESTBED_CONF") * TIME_SCALE))

# fault_up NAME PORT ARGS...: the fault proxy NAME, and its configuration
# for danemap ($dir/danemap-NAME.conf) with the timeouts scaled.
fault_up() {
	"$TESTBED" fault "$dir" "$@" >/dev/null || return 1
	scale_conf "$dir/danemap-$1.conf" "$dir/danemap-$1.scaled" &&
		mv "$dir/danemap-$1.scaled" "$dir/danemap-$1.conf"
}
fport=$((port + 1))
for fault in servfail refused formerr drop; do
	if ! fault_up "$fault" "$fport" --default "$fault"; then
		fail "fault proxy $fault did not start"
		continue
	fi
	conf="$dir/danemap-$fault.conf"
	start=$(date +%s%N)
	out=$($DANEMAP -c "$conf" query dane-one.test 2>/dev/null)
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	case "$out" in
	"TEMP "*)
		if [ "$rc" = 75 ] && [ "$ms" -le $((deadline_ms + 2000)) ]; then
			pass "upstream $fault: '$out' in $ms ms (deadline $deadline_ms ms)"
		else
			fail "upstream $fault: exit $rc after $ms ms"
		fi
		;;
	*) fail "upstream $fault: want TEMP, got '$out' (exit $rc)" ;;
	esac
	fport=$((fport + 1))
done

# Faults on one name only, the rest forwarded to NSD: never weaker than
# the evidence. name rules expected-first-line description; with
# TRANSPORT=udp in the environment, the stub queries go over UDP.
fault_case() {
	name=$1 key=$2 want=$3 desc=$4
	shift 4
	if ! fault_up "$name" "$fport" "$@"; then
		fail "fault proxy $name did not start"
		return
	fi
	if [ -n "${TRANSPORT:-}" ]; then
		echo "transport = $TRANSPORT" >>"$dir/danemap-$name.conf"
	fi
	start=$(date +%s%N)
	out=$($DANEMAP -c "$dir/danemap-$name.conf" query "$key" 2>/dev/null)
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if reply_matches "$want" "$out" && [ "$ms" -le $((deadline_ms + 2000)) ]; then
		pass "$desc: $key -> '$out' in $ms ms"
	else
		fail "$desc: $key -> '$out' (exit $rc, $ms ms), want '$want'"
	fi
	fport=$((fport + 1))
}
fault_case onehost mixed.test "OK dane" "DANE host up, the other host's address silent" \
	--rule mx2.mixed.test=drop
fault_case onehost2 dane-two.test "OK dane" "both hosts DANE but one unknown: dane, not dane-only" \
	--rule mx2.dane-two.test/A=servfail
fault_case nondane-unknown mixed.test "OK dane" "non-DANE host resolved, DANE host unknown: dane, not NOTFOUND" \
	--rule mx1.mixed.test/A=drop
fault_case tlsafail dane-one.test TEMP "only host's TLSA lookup SERVFAIL" \
	--rule _25._tcp.mx1.dane-one.test=servfail
fault_case deadline dane-one.test TEMP "TLSA answer slower than the lookup deadline" \
	--rule _25._tcp.mx1.dane-one.test=slow:$((5000 * TIME_SCALE))
fault_case garbage dane-one.test TEMP "upstream answers garbage" \
	--default garbage
fault_case slowok dane-one.test "OK dane-only" "slow but within the deadline" \
	--default slow:100
# Truncated UDP answers (TC=1). The default transport is TCP: nothing is
# truncated, every answer is right.
fault_case alltc dane-two.test "OK dane-only" "every UDP answer truncated, transport tcp (default)" \
	--default truncate --log
if grep -q '^udp ' "$dir/fault-alltc.log"; then
	fail "transport tcp: the proxy saw UDP queries"
elif grep -q '^tcp ' "$dir/fault-alltc.log"; then
	pass "transport tcp: all $(grep -c '^tcp ' "$dir/fault-alltc.log") queries came over TCP"
else
	fail "transport tcp: the proxy logged no query"
fi
# With transport = udp, getdns retries a truncated answer over TCP.
TRANSPORT=udp fault_case tcp dane-one.test "OK dane-only" "transport udp, TLSA answer truncated: retried over TCP" \
	--rule _25._tcp.mx1.dane-one.test/TLSA=truncate
TRANSPORT=udp fault_case tcp2 dane-two.test "OK dane-only" "transport udp, one host's A answer truncated: retried over TCP" \
	--rule mx2.dane-two.test/A=truncate
# Every UDP answer truncated: getdns 1.6.0's fallback fails when several
# queries fall back at once under the libevent adapter ("Epoll ADD ... Bad
# file descriptor"; the reason transport = tcp is the default). Whatever it
# does, the answer must be right or TEMP, in time.
if fault_up alltcudp "$fport" --default truncate; then
	echo "transport = udp" >>"$dir/danemap-alltcudp.conf"
	start=$(date +%s%N)
	out=$($DANEMAP -c "$dir/danemap-alltcudp.conf" query dane-one.test 2>/dev/null)
	ms=$((($(date +%s%N) - start) / 1000000))
	case "$out" in
	"OK dane-only" | "TEMP "*)
		if [ "$ms" -le $((deadline_ms + 2000)) ]; then
			pass "transport udp, every answer truncated: '$out' in $ms ms (right or TEMP)"
		else
			fail "transport udp, every answer truncated: '$out' after $ms ms"
		fi
		;;
	*) fail "transport udp, every answer truncated: '$out', want OK dane-only or TEMP" ;;
	esac
	fport=$((fport + 1))
else
	fail "fault proxy alltcudp did not start"
fi

# ---------------------------------------------------------------- anchors
# A trust anchor that matches nothing: validation fails, never downgrades.
sed 's/^\(\.[[:space:]].*DS[[:space:]]*[0-9]*[[:space:]]*[0-9]*[[:space:]]*[0-9]*[[:space:]]*\)[0-9A-Fa-f]\{8\}/\100000000/' \
	"$TESTBED_ANCHOR" >"$dir/wrong.key"
if cmp -s "$dir/wrong.key" "$TESTBED_ANCHOR"; then
	fail "could not make a wrong trust anchor from $TESTBED_ANCHOR"
else
	sed "s|^trust_anchor_file.*|trust_anchor_file = $dir/wrong.key|" "$TESTBED_CONF" >"$dir/wrong.conf"
	out=$($DANEMAP -c "$dir/wrong.conf" query dane-one.test 2>/dev/null)
	rc=$?
	case "$out" in
	"TEMP "*) pass "wrong trust anchor fails closed: '$out'" ;;
	*) fail "wrong trust anchor: want TEMP, got '$out' (exit $rc)" ;;
	esac
fi

# ---------------------------------------------------------------- usage
$DANEMAP -c "$TESTBED_CONF" >/dev/null 2>&1
rc=$?
[ "$rc" = 64 ] && pass "no command: exit 64" || fail "no command: exit $rc, want 64"
$DANEMAP -c "$TESTBED_CONF" frobnicate >/dev/null 2>&1
rc=$?
[ "$rc" = 64 ] && pass "unknown command: exit 64" || fail "unknown command: exit $rc"
# --help, danemap(1) and the README name the same commands
cmds=$($DANEMAP -h | sed -n 's/^ *\(usage:\)\{0,1\} *danemap \[-c FILE\] \([a-z]*\).*/\2/p' | sort -u)
missing=
for c in $cmds; do
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$top_srcdir/man/danemap.1" | grep -qx "\.Cm $c" || missing="$missing man:$c"
	grep -q "^\.Ss $c\$" "$top_srcdir/man/danemap.1" || missing="$missing man-section:$c"
	grep -q "danemap $c" "$top_srcdir/README.md" || missing="$missing README:$c"
done
if [ "$(printf '%s\n' $cmds | wc -l)" -ge 6 ] && [ -z "$missing" ]; then
	pass "--help, danemap(1) and README name the same commands ($(echo $cmds))"
else
	fail "commands in --help ($(echo $cmds)) missing from:$missing"
fi
printf 'resolution = stub\nupstream = 127.0.0.1\nbogus_key = 1\n' >"$dir/bad.conf"
err=$($DANEMAP -c "$dir/bad.conf" query dane-one.test 2>&1 >/dev/null)
rc=$?
case "$rc:$err" in
78:*bad.conf:3:*) pass "bad configuration: exit 78 with file:line" ;;
*) fail "bad configuration: exit $rc, stderr '$err'" ;;
esac
err=$($DANEMAP -c "$dir/missing.conf" query dane-one.test 2>&1 >/dev/null)
rc=$?
[ "$rc" = 78 ] && pass "missing configuration: exit 78" || fail "missing configuration: exit $rc ($err)"

finish
