#!/bin/sh
# logging.sh: what danemapd writes to its log about answers, with the real
# daemon against the signed test bed:
#  - at the default level (info), a line per answer a live lookup decided
#    and none per answer from memory, from the cache file or with nothing
#    to look up: those are counted in the statistics line, which is written
#    every minute and when the daemon stops;
#  - at debug, a line per answer whatever its source, and the statistics;
#  - a key that stays TEMP longer than temp_alert_after: a warning, once,
#    and a notice when it recovers (its zone re-signed); many such keys at
#    once: ten lines a minute name theirs, one line counts the rest;
#  - overrides_file: a line in force answers (logged at notice, counted as
#    source override), a line whose until has passed does not (its end
#    logged once), a bad line is reported with file:line and the others
#    apply, a changed file is read again without a signal; danemap
#    query -v says an override decided.
. "$(dirname "$0")/common.sh"

testbed_up logging
sock="$dir/danemapd.sock"
scale_conf "$TESTBED_CONF" "$dir/bed.conf"
# The test bed's configuration asks for debug: leave log_level out, so the
# daemon runs at its default.
{
	grep -v '^log_level' "$dir/bed.conf"
	echo "listen = unix:$sock"
} >"$dir/info.conf"
{
	cat "$dir/info.conf"
	echo "log_level = debug"
} >"$dir/debug.conf"

# The cache file holds dane-one.test before the daemon starts.
mkdir -p "$dir/state"
echo dane-one.test >"$dir/warm.keys"
if ! $DANEMAP -c "$dir/info.conf" warm -f "$dir/warm.keys" >"$dir/warm.out" 2>&1; then
	fail "danemap warm: $(cat "$dir/warm.out")"
	finish
	exit 1
fi

# session CONF LOG: start the daemon, ask the same seven questions, stop it
# with SIGTERM (which writes the statistics line). dane-one.test comes from
# the cache file twice; dane-two.test live once, then from memory twice;
# an IP literal and a parent-domain key have nothing to look up.
session() {
	if ! daemon_start "$1" "$sock" "$2"; then
		fail "danemapd did not start with $1"
		cat "$2"
		finish
		exit 1
	fi
	for key in dane-one.test dane-one.test dane-two.test dane-two.test \
		dane-two.test "[192.0.2.1]" .test; do
		ask "$sock" "$key" >>"$2.replies"
	done
	if daemon_stop; then
		pass "$3: SIGTERM: exit status 0"
	else
		fail "$3: SIGTERM: exit status not 0"
	fi
	if [ "$(tr '\n' '|' <"$2.replies")" = "OK dane-only|OK dane-only|OK dane-only|OK dane-only|OK dane-only|NOTFOUND |NOTFOUND |" ]; then
		pass "$3: every answer right"
	else
		fail "$3: answers: $(tr '\n' '|' <"$2.replies")"
	fi
}

# lines LOG PATTERN: how many lines of LOG match PATTERN
lines() { grep -c -- "$2" "$1"; }

stats='statistics: 7 answers in [0-9]* s: memory=2 cdb=2 live=1 shared=0 stale=0 queue=0 nolookup=2 override=0; dane-only=5 dane=0 notfound=2 sts=0 temp=0 perm=0$'

# ---------------------------------------------------------------- info
log="$dir/info.log"
session "$dir/info.conf" "$log" "default level"
n=$(lines "$log" ' reply=')
if [ "$n" = 1 ] &&
	[ "$(lines "$log" 'info: key=dane-two.test reply="OK dane-only" source=live ms=')" = 1 ]; then
	pass "default level: one answer line, for the live lookup"
else
	fail "default level: $n answer lines, want only dane-two.test's live one"
	grep -- ' reply=' "$log" | head -n 10
fi
if [ "$(lines "$log" "info: $stats")" = 1 ]; then
	pass "default level: the statistics line counts every answer by source and reply"
else
	fail "default level: no statistics line as expected when stopping"
	grep statistics "$log"
fi

# ---------------------------------------------------------------- debug
# A restart: memory is empty again, dane-two.test is looked up again.
log="$dir/debug.log"
session "$dir/debug.conf" "$log" "debug level"
ok=1
for want in 'dane-one.test reply="OK dane-only" source=cdb:2' \
	'dane-two.test reply="OK dane-only" source=live:1' \
	'dane-two.test reply="OK dane-only" source=memory:2' \
	'\[192.0.2.1\] reply="NOTFOUND " source=nolookup:1' \
	'\.test reply="NOTFOUND " source=nolookup:1'; do
	n=$(lines "$log" "key=${want%:*} ms=")
	if [ "$n" != "${want##*:}" ]; then
		ok=0
		fail "debug level: $n lines 'key=${want%:*}', want ${want##*:}"
	fi
done
[ $ok = 1 ] && pass "debug level: a line per answer, from the cache file, live, from memory and with nothing to look up"
if [ "$(lines "$log" "info: $stats")" = 1 ]; then
	pass "debug level: the statistics line too"
else
	fail "debug level: no statistics line as expected when stopping"
	grep statistics "$log"
fi

# ---------------------------------------------------------------- TEMP
# A key that keeps answering TEMP for longer than temp_alert_after: one
# warning (again only after an hour), then a notice once it recovers.
log="$dir/temp.log"
{ cat "$dir/info.conf"; echo "temp_alert_after = 2"; } >"$dir/temp.conf"
if daemon_start "$dir/temp.conf" "$sock" "$log"; then
	first=$(ask "$sock" bogus-tlsa.test)
	ask "$sock" dane-one.test >/dev/null
	early=$(grep -c 'has answered TEMP' "$log")
	sleep 3
	for i in 1 2 3; do
		ask "$sock" bogus-tlsa.test >>"$dir/temp.replies"
		ask "$sock" dane-one.test >/dev/null
	done
	# three seconds at least: not at the first TEMP, nor one second later
	warn='warning: key=bogus-tlsa.test has answered TEMP for \([3-9]\|[1-9][0-9]\+\) s, since 20[0-9-]*T[0-9:]*Z: mail to it is deferred; last reason: '
	if [ "${first%% *}" = TEMP ] && [ "$early" = 0 ] && [ "$(lines "$log" "$warn")" = 1 ] &&
		! grep "$warn" "$log" | grep -q 'last reason: none given$' &&
		[ "$(lines "$log" 'key=dane-one.test has answered')" = 0 ]; then
		pass "TEMP for longer than temp_alert_after: one warning, with the reason"
	else
		fail "TEMP alert: first '$first', $(grep -c "$warn" "$log") warnings: $(grep 'TEMP for' "$log")"
	fi
	# the recipient mends its zone: the next answer is good again
	"$TESTBED" resign "$dir" bogus-tlsa.test >/dev/null
	i=0
	while [ "$(ask "$sock" bogus-tlsa.test)" != "OK dane-only" ] && [ $i -lt $((20 * TIME_SCALE)) ]; do
		sleep 0.5
		i=$((i + 1))
	done
	if [ "$(lines "$log" 'notice: key=bogus-tlsa.test recovered: reply="OK dane-only" after [0-9]* s of TEMP since 20')" = 1 ]; then
		pass "TEMP alert: a notice when the key recovers"
	else
		fail "TEMP recovery: $(grep 'bogus-tlsa' "$log" | tail -n 3)"
	fi
	daemon_stop
else
	fail "danemapd did not start with temp_alert_after"
	cat "$log"
fi

# When the DNS fails for many destinations at once, each would get its own
# warning: at most 10 lines a minute name their key, the rest are counted
# in one line (written when the minute ends, or at stop). Twelve keys (the
# same bogus domain as twelve Postfix spellings, each its own key).
log="$dir/temp-many.log"
variants=$(python3 -c '
k = "bogus-mx.test"
print(k)
for i, c in enumerate(k):
    if c.isalpha():
        print(k[:i] + c.upper() + k[i + 1:])')
if daemon_start "$dir/temp.conf" "$sock" "$log"; then
	for k in $variants; do ask "$sock" "$k" >/dev/null; done
	sleep 3
	for k in $variants; do ask "$sock" "$k" >/dev/null; done
	daemon_stop
	named=$(lines "$log" 'warning: key=[bB][oO][gG][uU][sS]-[mM][xX]\.[tT][eE][sS][tT] has answered TEMP for')
	if [ "$(printf '%s\n' $variants | wc -l)" = 12 ] && [ "$named" = 10 ] &&
		[ "$(lines "$log" 'warning: 2 more key(s) have answered TEMP for longer than temp_alert_after (not named: more than 10 such lines a minute)')" = 1 ]; then
		pass "TEMP alert: at most 10 keys named a minute, the rest counted in one line"
	else
		fail "TEMP alert flood: $named named, $(grep 'more key' "$log")"
	fi
else
	fail "danemapd did not start for the TEMP flood"
	cat "$log"
fi

# ---------------------------------------------------------------- overrides
log="$dir/override.log"
ovf="$dir/overrides"
cat >"$ovf" <<'EOF'
# broken.example's TLSA rollover: fix promised
dane-two.test NOTFOUND until 2099-12-31
dane-one.test OK encrypt until 2001-01-01
this line is wrong
[mx1.dane-one.test]:587 TEMP maintenance until 2099-01-01T12:00
EOF
{ cat "$dir/info.conf"; echo "overrides_file = $ovf"; } >"$dir/override.conf"
if daemon_start "$dir/override.conf" "$sock" "$log"; then
	r1=$(ask "$sock" dane-two.test)
	r2=$(ask "$sock" dane-one.test)
	r3=$(ask "$sock" dane-one.test)
	r4=$(ask "$sock" "[mx1.dane-one.test]:587")
	if [ "$r1" = "NOTFOUND " ] && [ "$r2" = "OK dane-only" ] && [ "$r3" = "OK dane-only" ] &&
		[ "$r4" = "TEMP maintenance" ]; then
		pass "overrides: the lines in force answer, the ended one does not"
	else
		fail "overrides: '$r1' '$r2' '$r3' '$r4'"
	fi
	[ "$(lines "$log" "warning: $ovf:4: the reply is not OK, NOTFOUND or TEMP; the line is skipped")" = 1 ] &&
		pass "overrides: a bad line reported once, with file:line" ||
		fail "overrides: bad line: $(grep "$ovf" "$log")"
	[ "$(lines "$log" 'notice: key=dane-two.test reply="NOTFOUND " source=override ms=')" = 1 ] &&
		[ "$(lines "$log" "notice: $ovf:3: the override for dane-one.test ended at 2001-01-01T00:00Z; answers come from the DNS again")" = 1 ] &&
		pass "overrides: an answer logged at notice; the ended line logged once" ||
		fail "overrides: log: $(grep 'override\|ended' "$log")"
	# a change, no signal: read again within a few seconds; in place
	# first (the same inode), then as an editor saves it (a new one)
	printf 'dane-two.test TEMP in place\n' >"$ovf"
	i=0
	while [ "$(ask "$sock" dane-two.test)" != "TEMP in place" ] && [ $i -lt $((10 * TIME_SCALE)) ]; do
		sleep 0.5
		i=$((i + 1))
	done
	[ "$(ask "$sock" dane-two.test)" = "TEMP in place" ] &&
		pass "overrides: the file rewritten in place is read again" ||
		fail "overrides: in-place change: $(ask "$sock" dane-two.test)"
	printf 'dane-two.test OK dane\n' >"$ovf.new"
	mv "$ovf.new" "$ovf"
	i=0
	while [ "$(ask "$sock" dane-two.test)" != "OK dane" ] && [ $i -lt $((10 * TIME_SCALE)) ]; do
		sleep 0.5
		i=$((i + 1))
	done
	[ "$(ask "$sock" dane-two.test)" = "OK dane" ] &&
		[ "$(ask "$sock" "[mx1.dane-one.test]:587")" = "OK dane-only" ] &&
		pass "overrides: a changed file applies without a signal, the old lines gone" ||
		fail "overrides: after the change: $(ask "$sock" dane-two.test)"
	# an unreadable file: the overrides read before stay
	rm "$ovf"
	sleep 2
	[ "$(ask "$sock" dane-two.test)" = "OK dane" ] &&
		[ "$(lines "$log" "err: overrides_file $ovf: No such file or directory; the 1 override(s) read before stay in force")" = 1 ] &&
		pass "overrides: the file gone: logged once, the last good lines stay" ||
		fail "overrides: file gone: $(grep overrides_file "$log")"
	daemon_stop
	grep -q "override=[1-9]" "$log" && pass "overrides: counted in the statistics line" ||
		fail "overrides: statistics: $(grep statistics "$log")"
else
	fail "danemapd did not start with overrides_file"
	cat "$log"
fi
printf 'dane-two.test NOTFOUND\ndane-one.test TEMP until 2001-01-01\nnot good\n' >"$ovf"
out=$($DANEMAP -c "$dir/override.conf" query -v dane-two.test dane-one.test 2>"$dir/query.err")
rc=$?
if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | head -n 1)" = "NOTFOUND " ] &&
	printf '%s\n' "$out" | grep -qx "  decided by: an override, $ovf:1 (until for ever); without it: OK dane-only" &&
	printf '%s\n' "$out" | grep -qx "OK dane-only" &&
	printf '%s\n' "$out" | grep -qx "  override $ovf:2 ended at 2001-01-01T00:00Z: not applied" &&
	[ "$(cat "$dir/query.err")" = "danemap: $ovf:3: the reply is not OK, NOTFOUND or TEMP; the line is skipped" ]; then
	pass "danemap query -v: decided by an override, and what the DNS says; an ended line not applied; a bad one said"
else
	fail "query -v with an override: exit $rc: $out $(cat "$dir/query.err")"
fi

if grep -q 'ERROR SUMMARY\|definitely lost\|runtime error\|AddressSanitizer\|LeakSanitizer' "$dir"/*.log; then
	fail "sanitizer or valgrind reports in the daemon log"
	grep -h -A8 'ERROR SUMMARY\|definitely lost\|runtime error\|Sanitizer' "$dir"/*.log | head -60
fi

finish
