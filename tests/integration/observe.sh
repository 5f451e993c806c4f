#!/bin/sh
# observe.sh: watching and steering a running danemapd, with the real
# daemon against the signed test bed:
#  - metrics_listen: GET /metrics scraped with curl; after known traffic
#    every counter moved by exactly what was sent (answers by reply and by
#    source, live lookups and their DNS failures, connections), the gauges
#    say what is held (memory entries, the cache file, the journal), a key
#    that stays TEMP past temp_alert_after is counted, a client beyond
#    max_connections is refused and counted; only GET /metrics;
#  - control_socket: `danemap stats` prints the same counters; `danemap
#    flush KEY` and `flush --all` make the daemon look keys up again (a
#    zone changed under a cached answer, from memory and from the cache
#    file; a lookup running at the flush is not kept); a key that is not
#    one flushes nothing; another user is
#    refused (the socket's mode, and the peer check when the mode is
#    loosened).
. "$(dirname "$0")/common.sh"

testbed_up observe
sock="$dir/danemapd.sock"
csock="$dir/control.sock"
if [ "${DANEMAP_NETNS:-0}" = 1 ]; then mport=9464; else mport=$((30000 + $$ % 20000)); fi
url="http://127.0.0.1:$mport/metrics"
log="$dir/daemon.log"
# through the fault proxy, which holds mixed.test's MX answer back long
# enough to flush the key while its lookup runs (longer under valgrind)
slow_ms=$((1500 * TIME_SCALE))
if ! "$TESTBED" fault "$dir" slow $((port + 1)) --rule "mixed.test/MX=slow:$slow_ms" >/dev/null; then
	fail "fault proxy did not start"
	finish
	exit 1
fi
scale_conf "$dir/danemap-slow.conf" "$dir/bed.conf" 4000 8000
{
	grep -v '^log_level' "$dir/bed.conf"
	echo "listen = unix:$sock"
	echo "metrics_listen = inet:$mport"
	echo "control_socket = unix:$csock"
	echo "temp_alert_after = 1"
} >"$dir/observe.conf"
chmod 644 "$dir/observe.conf"

# dane-one.test is in the cache file before the daemon starts
echo dane-one.test >"$dir/warm.keys"
if ! $DANEMAP -c "$dir/observe.conf" warm -f "$dir/warm.keys" >"$dir/warm.out" 2>&1; then
	fail "danemap warm: $(cat "$dir/warm.out")"
	finish
	exit 1
fi
if ! daemon_start "$dir/observe.conf" "$sock" "$log"; then
	fail "danemapd did not start"
	cat "$log"
	finish
	exit 1
fi

# scrape FILE: GET /metrics into FILE; false unless 200 and text/plain
scrape() {
	code=$(curl -s -o "$1" -D "$1.headers" -w '%{http_code}' "$url")
	[ "$code" = 200 ] && grep -qi '^content-type: text/plain; version=0.0.4' "$1.headers"
}

# ---------------------------------------------------------------- metrics
if scrape "$dir/m0" && [ "$(metric 'danemap_build_info{version="'"$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")"'"}' "$dir/m0")" = 1 ]; then
	pass "metrics: GET /metrics answers 200, text/plain version 0.0.4, with build info"
else
	fail "metrics: first scrape: $code $(head -c 300 "$dir/m0" 2>/dev/null)"
fi

# Known traffic, each question its own connection: dane-one.test from the
# cache file twice (the second time from its copy in memory, still counted
# as the file's); dane-two.test live then memory twice;
# bogus-tlsa.test live (TEMP, a DNSSEC failure), again after
# temp_alert_after (live again: TEMP is never cached); an IP literal has
# nothing to look up.
for key in dane-one.test dane-one.test dane-two.test dane-two.test \
	dane-two.test bogus-tlsa.test "[192.0.2.1]"; do
	ask "$sock" "$key" >>"$dir/replies"
done
sleep 2
ask "$sock" bogus-tlsa.test >>"$dir/replies"
scrape "$dir/m1"

# delta NAME: how much a counter moved between the two scrapes
delta() {
	echo $(($(metric "$1" "$dir/m1") - $(metric "$1" "$dir/m0")))
}
want="reply=dane_only:5 reply=temp:2 reply=notfound:1 reply=dane:0 reply=secure:0 reply=perm:0"
got=""
for w in $want; do
	lbl=${w%:*}
	got="$got ${lbl}:$(delta "danemap_answers_total{${lbl%%=*}=\"${lbl#*=}\"}")"
done
[ "$got" = " $want" ] && pass "metrics: answers by reply moved by exactly what was sent" ||
	fail "metrics: answers by reply:$got (want $want)"
want="cdb:2 memory:2 live:3 shared:0 stale:0 queue:0 nolookup:1 override:0"
got=""
for w in $want; do
	got="$got ${w%:*}:$(delta "danemap_answers_by_source_total{source=\"${w%:*}\"}")"
done
[ "$got" = " $want" ] && pass "metrics: answers by source moved by exactly what was sent" ||
	fail "metrics: answers by source:$got (want $want)"
if [ "$(delta 'danemap_dns_failures_total{kind="bogus"}')" = 2 ] &&
	[ "$(delta 'danemap_dns_failures_total{kind="timeout"}')" = 0 ] &&
	[ "$(delta 'danemap_lookup_duration_seconds_count')" = 3 ] &&
	[ "$(metric 'danemap_lookup_duration_seconds_bucket{le="+Inf"}' "$dir/m1")" = 3 ] &&
	[ "$(delta 'danemap_connections_accepted_total')" = 8 ] &&
	[ "$(metric danemap_connections_open "$dir/m1")" = 0 ] &&
	[ "$(metric danemap_lookups_running "$dir/m1")" = 0 ]; then
	pass "metrics: live lookups timed, their DNS failures by kind, connections counted"
else
	fail "metrics: lookups/failures/connections: $(grep -E 'dns_failures_total.kind="bogus"|duration_seconds_count|accepted_total|connections_open' "$dir/m1" | tr '\n' ' ')"
fi
if [ "$(metric danemap_memory_cache_entries "$dir/m1")" = 2 ] &&
	[ "$(metric danemap_cache_file_open "$dir/m1")" = 1 ] &&
	[ "$(metric danemap_cache_file_records "$dir/m1")" = 1 ] &&
	[ "$(metric danemap_cache_file_generation "$dir/m1")" = 1 ] &&
	[ "$(metric danemap_cache_file_age_seconds "$dir/m1")" -lt 600 ] &&
	[ "$(metric danemap_journal_bytes "$dir/m1")" = "$(wc -c <"$dir/state/journal")" ] &&
	[ "$(metric danemap_journal_bytes "$dir/m1")" -gt 0 ]; then
	pass "metrics: memory entries, the cache file and the journal as they are"
else
	fail "metrics: stores: $(grep -E '^danemap_(memory|cache_file|journal)' "$dir/m1" | tr '\n' ' ')"
fi
if [ "$(metric danemap_temp_keys_alerted "$dir/m1")" = 1 ] &&
	[ "$(metric danemap_temp_keys_watched "$dir/m1")" = 1 ] &&
	grep -q 'warning: key=bogus-tlsa.test has answered TEMP' "$log"; then
	pass "metrics: the key answering TEMP past temp_alert_after is counted"
else
	fail "metrics: TEMP keys: $(grep -E '^danemap_temp' "$dir/m1" | tr '\n' ' ')"
fi
# no label per domain: the scrape does not grow with the keys asked
if ! grep -q 'test' "$dir/m1" && [ "$(grep -vc '^#' "$dir/m0")" = "$(grep -vc '^#' "$dir/m1")" ]; then
	pass "metrics: fixed label sets: no domain in any series, as many series as before"
else
	fail "metrics: series changed: $(diff "$dir/m0" "$dir/m1" | grep -v '^[<>] danemap.* [0-9.e+-]*$' | head -5)"
fi
c1=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/")
c2=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
c3=$(curl -s -o /dev/null -w '%{http_code}' -I "$url")
[ "$c1" = 404 ] && [ "$c2" = 501 ] && [ "$c3" = 200 ] &&
	pass "metrics: another path 404, POST 501 (libevent's answer), HEAD 200" ||
	fail "metrics: other requests: / $c1, POST $c2, HEAD $c3"

# ---------------------------------------------------------------- stats
out=$($DANEMAP -c "$dir/observe.conf" stats 2>"$dir/stats.err")
rc=$?
scrape "$dir/m2"
if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q '^#' &&
	[ "$(printf '%s\n' "$out" | grep '^danemap_answers_total')" = "$(grep '^danemap_answers_total' "$dir/m2")" ]; then
	pass "danemap stats: the counters, as /metrics has them"
else
	fail "danemap stats: exit $rc: $(printf '%s\n' "$out" | head -n 3) $(cat "$dir/stats.err")"
fi

# ---------------------------------------------------------------- flush
# dane-two.test's TLSA records go: its cached answer stays until flushed
zone="$TESTBED_DIR/zones/dane-two.test.zone"
sed -i '/TLSA/d' "$zone"
"$TESTBED" resign "$dir" dane-two.test >/dev/null
before=$(ask "$sock" dane-two.test)
out=$($DANEMAP -c "$dir/observe.conf" flush dane-two.test 2>&1)
rc=$?
after=$(ask "$sock" dane-two.test)
if [ "$before" = "OK dane-only" ] && [ $rc = 0 ] &&
	[ "$out" = "1 key(s) flushed: dane-two.test" ] && [ "$after" = "NOTFOUND " ] &&
	grep -q 'notice: control: 1 key(s) flushed (uid 0): dane-two.test' "$log"; then
	pass "danemap flush KEY: the daemon forgets the key and looks it up again"
else
	fail "flush KEY: before '$before', exit $rc '$out', after '$after'"
fi
# A lookup running when its key is flushed: it answers, but its answer is
# not kept (it may have asked the DNS before the change): the next
# question is a live lookup again.
SOCKCLIENT_SENT="$dir/sent" SOCKCLIENT_TIMEOUT=$((slow_ms / 1000 + 30)) \
	ask "$sock" mixed.test >"$dir/slow.reply" &
apid=$!
i=0
while [ ! -e "$dir/sent" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
scrape "$dir/m-running"
$DANEMAP -c "$dir/observe.conf" flush mixed.test >"$dir/flush.out" 2>&1
rc=$?
wait $apid
second=$(SOCKCLIENT_TIMEOUT=$((slow_ms / 1000 + 30)) ask "$sock" mixed.test)
if [ "$(metric danemap_lookups_running "$dir/m-running")" = 1 ] && [ $rc = 0 ] &&
	[ "$(cat "$dir/slow.reply")" = "OK dane" ] && [ "$second" = "OK dane" ] &&
	[ "$(grep -c 'key=mixed.test reply="OK dane" source=live' "$log")" = 2 ]; then
	pass "flush during a running lookup: answered, not kept, looked up again"
else
	fail "flush while running: running $(metric danemap_lookups_running "$dir/m-running"), flush exit $rc, replies '$(cat "$dir/slow.reply")' '$second', $(grep 'key=mixed.test' "$log")"
fi
# dane-one.test comes from the cache file: flush --all ignores its record
sed -i '/TLSA/d' "$TESTBED_DIR/zones/dane-one.test.zone"
"$TESTBED" resign "$dir" dane-one.test >/dev/null
before=$(ask "$sock" dane-one.test)
out=$($DANEMAP -c "$dir/observe.conf" flush --all 2>&1)
rc=$?
after=$(ask "$sock" dane-one.test)
scrape "$dir/m3"
if [ "$before" = "OK dane-only" ] && [ $rc = 0 ] && [ "$after" = "NOTFOUND " ] &&
	[ "$(metric danemap_flushed_keys_total "$dir/m3")" = 2 ] &&
	[ "$(metric danemap_flushes_all_total "$dir/m3")" = 1 ] &&
	[ "$(metric danemap_memory_cache_entries "$dir/m3")" = 1 ]; then
	pass "danemap flush --all: memory emptied, the cache file's older record ignored"
else
	fail "flush --all: before '$before', exit $rc '$out', after '$after', $(grep -E '^danemap_(flush|memory)' "$dir/m3" | tr '\n' ' ')"
fi
out=$($DANEMAP -c "$dir/observe.conf" flush unsigned.test "[192.0.2.1]" 2>&1)
rc=$?
if [ $rc = 65 ] && printf '%s\n' "$out" | grep -q 'is not a key danemapd looks up' &&
	printf '%s\n' "$out" | grep -q 'nothing flushed'; then
	pass "danemap flush: a key that is not one: exit 65, nothing flushed"
else
	fail "flush of a non-key: exit $rc: $out"
fi

# ---------------------------------------------------------------- limit
# max_connections = 3 (a reload applies it): a fourth client is closed at
# once, and counted
echo "max_connections = 3" >>"$dir/observe.conf"
kill -HUP "$dpid"
i=0
while [ "$(grep -c 'configuration reloaded' "$log")" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
scrape "$dir/m5"
python3 - "$sock" "$dir/held" <<'EOF' &
import os, socket, sys, time
held = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(0.5)
extra = socket.socket(socket.AF_UNIX)
extra.connect(sys.argv[1])
extra.settimeout(20)
try:
    closed = extra.recv(1) == b""
except OSError:
    closed = True
with open(sys.argv[2], "w") as f:
    f.write("closed" if closed else "open")
deadline = time.time() + 60
while not os.path.exists(sys.argv[2] + ".done") and time.time() < deadline:
    time.sleep(0.1)
EOF
hpid=$!
i=0
while [ ! -s "$dir/held" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
scrape "$dir/m6"
touch "$dir/held.done"
wait $hpid
if [ "$(cat "$dir/held" 2>/dev/null)" = closed ] &&
	[ "$(metric danemap_connections_open "$dir/m6")" = 3 ] &&
	[ $(($(metric danemap_connections_refused_total "$dir/m6") - $(metric danemap_connections_refused_total "$dir/m5"))) = 1 ] &&
	grep -q 'warning: too many clients: refusing connections (max_connections 3' "$log"; then
	pass "max_connections: the client beyond it is closed, counted as refused, logged"
else
	fail "max_connections: fourth client $(cat "$dir/held" 2>/dev/null), $(grep -E '^danemap_connections' "$dir/m6" | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- refusal
chmod 755 "$dir"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $DANEMAP -c "$dir/observe.conf" stats 2>&1)
rc=$?
mode=$(stat -c %a "$csock")
if [ "$mode" = 600 ] && [ $rc = 69 ] && printf '%s\n' "$out" | grep -q 'Permission denied'; then
	pass "control socket: mode 0600, another user cannot connect"
else
	fail "control socket mode $mode, another user: exit $rc: $out"
fi
chmod 666 "$csock"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $DANEMAP -c "$dir/observe.conf" flush --all 2>&1)
rc=$?
scrape "$dir/m4"
if [ $rc = 77 ] && printf '%s\n' "$out" | grep -q 'permission denied: only root and the daemon' &&
	[ "$(metric danemap_flushes_all_total "$dir/m4")" = 1 ] &&
	[ "$(metric danemap_control_refused_total "$dir/m4")" = 1 ] &&
	grep -q 'warning: control: connection from uid 65534 refused' "$log"; then
	pass "control socket: another user's request refused by its credentials, counted and logged"
else
	fail "control refusal: exit $rc: $out; $(grep 'control' "$log" | tail -n 2)"
fi

if daemon_stop; then
	pass "SIGTERM: exit status 0"
else
	fail "SIGTERM: exit status $rc, not 0"
	tail -n 30 "$log"
fi
[ ! -e "$csock" ] && pass "control socket removed at exit" || fail "control socket left behind"
if grep -q 'ERROR SUMMARY\|definitely lost\|runtime error\|AddressSanitizer\|LeakSanitizer' "$log"; then
	fail "sanitizer or valgrind reports in the daemon log"
	grep -A8 'ERROR SUMMARY\|definitely lost\|runtime error\|Sanitizer' "$log" | head -60
fi
finish
