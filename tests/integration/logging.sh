#!/bin/sh
# logging.sh: what danemapd writes to its log about answers, with the real
# daemon against the signed test bed:
#  - at the default level (info), a line per answer a live lookup decided
#    and none per answer from memory, from the cache file or with nothing
#    to look up: those are counted in the statistics line, which is written
#    every minute and when the daemon stops;
#  - at debug, a line per answer whatever its source, and the statistics;
#  - a key that stays TEMP longer than temp_alert_after: a warning, once,
#    and a notice when it recovers (its zone re-signed).
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

stats='statistics: 7 answers in [0-9]* s: memory=2 cdb=2 live=1 shared=0 stale=0 queue=0 nolookup=2; dane-only=5 dane=0 notfound=2 sts=0 temp=0 perm=0$'

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
	sleep 3
	for i in 1 2 3; do ask "$sock" bogus-tlsa.test >>"$dir/temp.replies"; done
	warn='warning: key=bogus-tlsa.test has answered TEMP for [0-9]* s, since 20[0-9-]*T[0-9:]*Z: mail to it is deferred; last reason: '
	if [ "${first%% *}" = TEMP ] && [ "$(lines "$log" "$warn")" = 1 ] &&
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

if grep -q 'ERROR SUMMARY\|definitely lost\|runtime error\|AddressSanitizer\|LeakSanitizer' "$dir"/*.log; then
	fail "sanitizer or valgrind reports in the daemon log"
	grep -h -A8 'ERROR SUMMARY\|definitely lost\|runtime error\|Sanitizer' "$dir"/*.log | head -60
fi

finish
