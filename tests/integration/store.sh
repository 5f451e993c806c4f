#!/bin/sh
# store.sh: the CDB store, the journal and `danemap warm`, with the real
# daemon against the signed test bed:
#  - keys the daemon resolves live reach the journal; `danemap warm` turns
#    them into a CDB that tinycdb's `cdb -d` can read and `danemap dump`
#    lists;
#  - warm restart: with the DNS server stopped, a restarted daemon answers
#    cached domains from the CDB and uncached ones TEMP; a warm run then
#    keeps the previous answers;
#  - TTL: a changed zone changes the answer only after the TTL, but at once
#    after a warm run;
#  - hot swap: warm runs over and over while clients query; every answer is
#    the old or the new one, no errors;
#  - faults: truncated, random, empty, unreadable, FIFO and unknown-version
#    files in place of the CDB; a disk that fills up during a warm run; a
#    warm run killed midway: the daemon keeps answering, the old CDB stays;
#  - journal: keys the daemon resolves during a warm run reach the next CDB.
. "$(dirname "$0")/common.sh"

# ------------------------------------------------- disk-full (subcommand)
# store.sh diskfull DIR: run inside a private mount namespace (see below):
# a tiny tmpfs holds the CDB; the warmer runs out of space.
if [ "${1:-}" = diskfull ]; then
	dir=$2
	. "$dir/env"
	small="$dir/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=256k,mode=0755 danemap-test "$small" || {
		fail "cannot mount a tmpfs"
		finish
		exit 1
	}
	cp "$dir/state/cache.cdb" "$small/cache.cdb"
	cp "$small/cache.cdb" "$dir/good.cdb"
	sed -e "s|^state_dir.*|state_dir = $small|" \
		-e "s|^cache_file.*|cache_file = $small/cache.cdb|" \
		"$dir/danemapd.conf" >"$dir/small.conf"
	sed -i -e "s|^listen.*|listen = unix:$dir/small.sock|" "$dir/small.conf"
	if ! daemon_start "$dir/small.conf" "$dir/small.sock" "$dir/small.log"; then
		fail "danemapd on the tmpfs did not start"
		cat "$dir/small.log"
		finish
		exit 1
	fi
	# Fill the file system, then free 8 KiB: the new CDB (200 keys more)
	# cannot fit.
	dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null
	truncate -s -8K "$small/fill"
	for i in $(seq 1 200); do echo "nx$i.test"; done >"$dir/many.txt"
	$DANEMAP -c "$dir/small.conf" warm -f "$dir/many.txt" >"$dir/full.out" 2>&1
	rc=$?
	if [ $rc = 73 ] && grep -q 'old cache file is unchanged' "$dir/full.out"; then
		pass "disk full during warm: exit 73, says the old file is unchanged"
	else
		fail "disk full during warm: exit $rc"
		cat "$dir/full.out"
	fi
	if cmp -s "$small/cache.cdb" "$dir/good.cdb"; then
		pass "disk full during warm: the old CDB is intact"
	else
		fail "disk full during warm: the CDB changed"
	fi
	if ls "$small" | grep -q '\.tmp$'; then
		fail "disk full during warm: a temporary file was left behind"
	else
		pass "disk full during warm: no temporary file left behind"
	fi
	got=$(ask "$dir/small.sock" dane-one.test)
	if [ "$got" = "OK dane-only" ]; then
		pass "disk full: the daemon still answers ('$got')"
	else
		fail "disk full: the daemon answered '$got'"
	fi
	rm -f "$small/fill"
	$DANEMAP -c "$dir/small.conf" warm -f "$dir/many.txt" >"$dir/full2.out" 2>&1
	rc=$?
	# the new CDB holds nx keys the old one had not (a slow wrapper may
	# time a few of the 200 out: those keep no record, which is right)
	if [ $rc = 0 ] && $DANEMAP -c "$dir/small.conf" dump 2>/dev/null |
		grep -q '^nx[0-9]*\.test	notfound	'; then
		pass "space again: the next warm run writes the new CDB"
	else
		fail "space again: warm exit $rc"
		cat "$dir/full2.out"
	fi
	daemon_stop
	umount "$small"
	finish
	exit
fi

cleanup_more() {
	[ -n "${soakpid:-}" ] && kill "$soakpid" 2>/dev/null
	[ -n "${nsdpid:-}" ] && kill -CONT $(nsd_pids) 2>/dev/null
}
testbed_up store
nsdpid=$(cat "$dir/nsd.pid")
# A fault proxy in front of NSD holds mixed.test's MX back 2.5 s: warm runs
# through it (slow.conf) take that long.
fport=$((port + 1))
"$TESTBED" fault "$dir" slow "$fport" --rule mixed.test/MX=slow:2500 >/dev/null ||
	fail "fault proxy did not start"
sock="$dir/danemapd.sock"
log="$dir/danemapd.log"
conf="$dir/danemapd.conf"
cache="$dir/state/cache.cdb"
journal="$dir/state/journal"
scale_conf "$TESTBED_CONF" "$conf.tmp"
{
	grep -v '^log_level' "$conf.tmp"
	echo "log_level = debug" # source= of every answer, cdb ones included
	echo "listen = unix:$sock"
} >"$conf"
mkdir -p "$dir/state"
sed -e '/^log_level/d' "$dir/danemap-slow.conf" >"$dir/slow.tmp"
scale_conf "$dir/slow.tmp" "$dir/slow.conf" 4000 8000

# dns_off / dns_on: the test bed's name server stops answering / answers
# again: NSD and the server processes it forked, stopped by signal.
nsd_pids() {
	pids=" $nsdpid "
	for round in 1 2 3; do
		for st in /proc/[0-9]*/stat; do
			{ read -r line <"$st"; } 2>/dev/null || continue
			pid=${st#/proc/}
			pid=${pid%/stat}
			set -- ${line##*) }
			case "$pids" in *" $2 "*) case "$pids" in *" $pid "*) ;; *) pids="$pids$pid " ;; esac ;; esac
		done
	done
	echo $pids
}
dns_off() { kill -STOP $(nsd_pids); }
dns_on() { kill -CONT $(nsd_pids); }

# expect LABEL KEY WANT: the daemon's answer for KEY is WANT.
expect() {
	got=$(ask "$sock" "$2")
	if reply_matches "$3" "$got"; then
		pass "$1: $2 -> '$got'"
	else
		fail "$1: $2 -> '$got', want '$3'"
	fi
}

# wait_for KEY WANT SECONDS: poll the daemon until KEY answers WANT.
wait_for() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		[ "$(ask "$sock" "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# set_tlsa on|off: mx2.dane-two.test with or without its TLSA record
# (dane-two.test answers "OK dane-only" or "OK dane"), re-signed.
zone="$dir/zones/dane-two.test.zone"
grep '^_25._tcp.mx2.dane-two.test' "$zone" >"$dir/mx2.tlsa"
set_tlsa() {
	grep -v '^_25._tcp.mx2.dane-two.test' "$zone" >"$zone.new"
	[ "$1" = on ] && cat "$dir/mx2.tlsa" >>"$zone.new"
	mv "$zone.new" "$zone"
	"$TESTBED" resign "$dir" dane-two.test >/dev/null
}

# warm [CONF] [ARGS...]: one warm run, its output in $dir/warm.out.
warm() {
	c=$conf
	case "${1:-}" in *.conf) c=$1 && shift ;; esac
	$DANEMAP -c "$c" warm "$@" >"$dir/warm.out" 2>&1
}

if ! daemon_start "$conf" "$sock" "$log"; then
	fail "danemapd did not start"
	cat "$log"
	finish
	exit 1
fi

# ---------------------------------------------------------------- journal
keys="dane-one.test dane-two.test mixed.test unsigned.test nullmx.test"
for k in $keys; do
	want=$(awk -F'\t' -v k="$k" '$1 == k { print $2 }' "$CASES")
	expect "live" "$k" "$want"
done
missing=
for k in $keys; do
	grep -qx "$k" "$journal" 2>/dev/null || missing="$missing $k"
done
if [ -z "$missing" ]; then
	pass "every key resolved live is in the journal"
else
	fail "journal lacks:$missing"
fi

# ---------------------------------------------------------------- warm
if warm && grep -q 'journal 5,' "$dir/warm.out" &&
	grep -q "wrote $cache (5 records)" "$dir/warm.out"; then
	pass "warm: the journal's 5 keys written to the CDB"
else
	fail "warm: $(cat "$dir/warm.out")"
fi
# tinycdb's own tool reads it; records are "1 REPLY EXPIRES STORED"
if cdb -d "$cache" | grep -Eq '^\+13,[0-9]+:dane-one\.test->1 dane-only [0-9]+ [0-9]+$'; then
	pass "cdb -d reads the file: dane-one.test -> '1 dane-only EXPIRES STORED'"
else
	fail "cdb -d: $(cdb -d "$cache" 2>&1 | head -n 3)"
fi
$DANEMAP -c "$conf" dump >"$dir/dump.out" 2>&1
if grep -q '^dane-two\.test	dane-only	20[0-9-]*T[0-9:]*Z	cdb$' "$dir/dump.out" &&
	grep -q '^unsigned\.test	notfound	' "$dir/dump.out"; then
	pass "dump lists key, reply, expiry (UTC) and source"
else
	fail "dump: $(cat "$dir/dump.out")"
fi
if wait_for dane-one.test "OK dane-only" 3 &&
	grep -q "cache file $cache: 5 records" "$log"; then
	pass "the running daemon switched to the new CDB"
else
	fail "the daemon did not pick up the new CDB"
fi

# ---------------------------------------------------------------- restart
daemon_stop
dns_off
daemon_start "$conf" "$sock" "$log" || fail "danemapd did not restart"
expect "warm restart, DNS down, from the CDB" dane-one.test "OK dane-only"
expect "warm restart, DNS down, from the CDB" unsigned.test "NOTFOUND"
expect "warm restart, DNS down, not cached" nx.test "TEMP"
if grep -q 'key=dane-one.test reply="OK dane-only" source=cdb' "$log"; then
	pass "warm restart: the answer came from the CDB (source=cdb)"
else
	fail "warm restart: no source=cdb answer in the log"
fi
# A warm run that cannot reach DNS keeps every previous answer rather
# than let the domains vanish from the cache.
if warm && grep -q 'temp 5 (previous kept 5, dropped 0)' "$dir/warm.out" &&
	$DANEMAP -c "$conf" dump 2>/dev/null |
	grep -q '^dane-one\.test	dane-only	.*	cdb$'; then
	pass "warm with DNS down: all 5 previous answers kept"
else
	fail "warm with DNS down: $(cat "$dir/warm.out")"
fi
expect "after a warm run with DNS down" dane-one.test "OK dane-only"
dns_on
daemon_stop

# ---------------------------------------------------------------- TTL
# Long enough for a resign, a warm run (it waits 2 s for the daemon to
# notice the rotated journal) and the daemon's once-a-second look, with
# room for a machine busy with the other tests (8 s was once too short,
# and 12 s once the probe and Postfix tests ran beside it).
ttl=$((18 + 4 * (TIME_SCALE - 1)))
sed -e '/^max_ttl/d' -e '/^min_ttl/d' "$conf" >"$dir/ttl.conf"
printf 'min_ttl = 0\nmax_ttl = %s\n' "$ttl" >>"$dir/ttl.conf"
rm -f "$cache" "$journal"
daemon_start "$dir/ttl.conf" "$sock" "$log" || fail "danemapd (ttl) did not start"
t0=$(date +%s)
expect "TTL, before the change" dane-two.test "OK dane-only"
# the entry expires TTL after its lookup ended, which under a slow
# wrapper can be seconds after t0: the wait below counts from here
t_answered=$(date +%s)
set_tlsa off
want=$($DANEMAP -c "$dir/ttl.conf" query dane-two.test 2>/dev/null | head -n 1)
if [ "$want" = "OK dane" ]; then
	pass "TTL: the zone now says '$want'"
else
	fail "TTL: after removing a TLSA, danemap query says '$want'"
fi
expect "TTL, changed zone, TTL not yet passed" dane-two.test "OK dane-only"
[ $(($(date +%s) - t0)) -lt "$ttl" ] ||
	fail "TTL: the check above came too late to mean anything"
sleep $((ttl - ($(date +%s) - t_answered) + 2))
expect "TTL, changed zone, TTL passed" dane-two.test "OK dane"
t1=$(date +%s)
set_tlsa on
expect "TTL, changed back, TTL not yet passed" dane-two.test "OK dane"
# the daemon looks for a new file once a second, but a machine busy with
# the other tests can take seconds more: wait as long as the memory
# entry's TTL still makes the check mean something
if warm "$dir/ttl.conf" &&
	left=$((ttl - ($(date +%s) - t1) - 1)) && [ "$left" -ge 1 ] &&
	wait_for dane-two.test "OK dane-only" "$left" &&
	[ $(($(date +%s) - t1)) -lt "$ttl" ]; then
	pass "TTL: after a warm run the change shows at once, before the TTL"
else
	fail "TTL: after a warm run '$(ask "$sock" dane-two.test)'," \
		"$(($(date +%s) - t1)) s after the live lookup (TTL $ttl s)"
	cat "$dir/warm.out"
fi
daemon_stop

# ---------------------------------------------------------------- hot swap
warm || fail "warm before the hot swap: $(cat "$dir/warm.out")"
daemon_start "$conf" "$sock" "$log" || fail "danemapd (swap) did not start"
clients=20
[ "$TIME_SCALE" -gt 1 ] && clients=4
rm -f "$dir/stop"
python3 "$top_srcdir/tests/integration/sockclient.py" soak "$sock" "$clients" \
	"$dir/stop" "dane-one.test=OK dane-only" \
	"dane-two.test=OK dane-only|OK dane" "unsigned.test=NOTFOUND " \
	"nullmx.test=NOTFOUND " >"$dir/soak.out" 2>&1 &
soakpid=$!
runs=0 failed_runs=0
for state in off on off on; do
	set_tlsa $state
	if warm; then runs=$((runs + 1)); else failed_runs=$((failed_runs + 1)); fi
	sleep 1.5 # the daemon looks for a new file once a second
done
touch "$dir/stop"
wait "$soakpid"
soakpid=
relay "hot swap" "$dir/soak.out"
if [ $runs = 4 ] && grep -q "seen dane-two.test -> 'OK dane': " "$dir/soak.out" &&
	grep -q "seen dane-two.test -> 'OK dane-only': " "$dir/soak.out"; then
	pass "hot swap: 4 warm runs, clients saw both the old and the new answer"
else
	fail "hot swap: $runs warm runs ok, $failed_runs failed"
	grep seen "$dir/soak.out"
fi
daemon_stop

# ---------------------------------------------------------------- faults
# The daemon runs as nobody here, so that a mode-000 file is unreadable to
# it; with DNS down, every answer it gives comes from the CDB it holds.
chmod 0755 "$dir"
chmod 0777 "$dir/state"
chmod 0644 "$cache"
sed -e '/^user/d' "$conf" >"$dir/nobody.conf"
echo "user = nobody" >>"$dir/nobody.conf"
cp "$cache" "$dir/good.cdb"
daemon_start "$dir/nobody.conf" "$sock" "$log" || fail "danemapd (nobody) did not start"
dns_off
expect "faults, before" dane-one.test "OK dane-only"
# fault NAME WHAT: put the file made by the caller ($dir/bad) in place of
# the CDB, give the daemon time to look, and check it still answers from
# the old one and logged the bad file once.
fault() {
	n_before=$(grep -c "cache file $cache: .*ignored" "$log")
	mv "$dir/bad" "$cache"
	sleep 2.5
	got1=$(ask "$sock" dane-one.test)
	got2=$(ask "$sock" unsigned.test)
	n=$(($(grep -c "cache file $cache: .*ignored" "$log") - n_before))
	if [ "$got1" = "OK dane-only" ] && [ "$got2" = "NOTFOUND " ] && [ "$n" = 1 ]; then
		pass "$1: the daemon answers from the old CDB; logged once ($2)"
	else
		fail "$1: answers '$got1' / '$got2', logged $n times"
		tail -n 3 "$log"
	fi
}
head -c "$(($(wc -c <"$dir/good.cdb") / 2))" "$dir/good.cdb" >"$dir/bad"
fault "truncated CDB" "half the file"
head -c 8192 /dev/urandom >"$dir/bad"
fault "random bytes" "random"
: >"$dir/bad"
fault "zero-length file" "empty"
cp "$dir/good.cdb" "$dir/bad"
chmod 000 "$dir/bad"
fault "unreadable file" "mode 000"
mkfifo "$dir/bad"
fault "a FIFO" "not a regular file"
# SIGHUP while a corrupt file sits at cache_file: the reload keeps the
# verified file it has (DNS is down, so only that file can answer a key
# not asked before).
rm -f "$cache"
cp "$dir/good.cdb" "$cache"
sleep 1.5
hupkey=dane-two.test
hupwant=$(cdb -q "$dir/good.cdb" "$hupkey" | awk '{ print $2 }')
head -c 8192 /dev/urandom >"$dir/bad"
mv "$dir/bad" "$cache"
n_before=$(grep -c 'configuration reloaded' "$log")
kill -HUP "$dpid"
i=0
while [ "$(grep -c 'configuration reloaded' "$log")" = "$n_before" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
got=$(ask "$sock" "$hupkey")
case "$hupwant:$got" in
dane-only:"OK dane-only" | dane:"OK dane" | notfound:"NOTFOUND ")
	pass "SIGHUP with a corrupt cache file: still answers from the verified one ($hupkey -> '$got')" ;;
*) fail "SIGHUP with a corrupt cache file: $hupkey -> '$got', the good file says '$hupwant'" ;;
esac
# Unknown record versions: a well-formed CDB, so the daemon takes it, but
# never trusts its records: with DNS back, answers are live and right.
printf '+13,25:dane-one.test->9 dane-only 99999999999 1\n\n' | cdb -c "$dir/bad"
dns_on
mv "$dir/bad" "$cache"
sleep 2.5
expect "unknown record version, DNS up" dane-one.test "OK dane-only"
if grep -q "cache file $cache: record of an unknown version" "$log" &&
	grep -q 'key=dane-one.test reply="OK dane-only" source=live' "$log"; then
	pass "unknown record version: logged and not trusted (answered live)"
else
	fail "unknown record version: not logged or trusted"
fi
daemon_stop
cp "$dir/good.cdb" "$cache"

# A warm run killed midway (held up by mixed.test's slow MX) leaves the
# old CDB as it was; the next run replaces the temporary file it left.
{
	echo mixed.test
	for i in $(seq 1 300); do echo "nx$i.test"; done
} >"$dir/many.txt"
$DANEMAP -c "$dir/slow.conf" warm -f "$dir/many.txt" >/dev/null 2>&1 &
wpid=$!
sleep 1
kill -KILL "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
if cmp -s "$cache" "$dir/good.cdb"; then
	pass "warm killed midway: the old CDB is intact"
else
	fail "warm killed midway: the CDB changed"
fi
if warm; then
	pass "the next warm run after a killed one succeeds"
else
	fail "warm after a killed run: $(cat "$dir/warm.out")"
fi

# A cache file that is not a CDB: the warmer says so (and goes on, its
# keys come back through the journal), whatever a step before it left in
# errno: here no stale .tmp, so nothing else says ENOENT.
cp "$cache" "$dir/before-random.cdb"
rm -f "$cache.tmp"
head -c 5000 /dev/urandom >"$cache"
if warm && grep -q "ignoring $cache" "$dir/warm.out"; then
	pass "warm with a random 5,000-byte cache file: reported, new file written"
else
	fail "warm with a random cache file: not reported: $(cat "$dir/warm.out")"
fi
cp "$dir/before-random.cdb" "$cache"

# Out of memory while the warmer gathers its keys: it stops at once (exit
# 71, "out of memory") and the cache file stays as it was, never replaced
# by one written from a key list cut short. A preloaded shim fails every
# realloc of 512 KiB or more; the key list of a 20,000-record file needs
# one. (Not under sanitizers or valgrind: they own the allocator.)
if [ -z "${DANEMAP_WRAPPER:-}" ] &&
	! grep -qa __asan_init "$top_builddir/daemon/danemap" &&
	${CC:-cc} -shared -fPIC -o "$dir/failrealloc.so" \
		"$top_srcdir/tests/integration/failrealloc.c" 2>"$dir/cc.out"; then
	cp "$cache" "$dir/before-oom.cdb"
	"$top_builddir/tests/bench/cdbbuild" "$cache" 20000 >/dev/null
	cp "$cache" "$dir/big.cdb"
	LD_PRELOAD="$dir/failrealloc.so" FAIL_REALLOC_FROM=524288 \
		$DANEMAP -c "$conf" warm >"$dir/oom.out" 2>&1
	rc=$?
	if [ $rc = 71 ] && grep -q 'out of memory' "$dir/oom.out" &&
		cmp -s "$cache" "$dir/big.cdb"; then
		pass "out of memory gathering keys: warm stops (exit 71), the cache file is untouched"
	else
		fail "out of memory gathering keys: exit $rc, file $(cmp -s "$cache" "$dir/big.cdb" && echo same || echo changed): $(cat "$dir/oom.out")"
	fi
	cp "$dir/before-oom.cdb" "$cache"
else
	echo "NOTE: allocation-failure case not run (sanitizers, a wrapper, or no cc)"
fi

# A disk that fills up: in a private mount namespace with a tiny tmpfs.
if unshare -m true 2>/dev/null; then
	unshare -m --propagation private "$0" diskfull "$dir" >"$dir/diskfull.out" 2>&1
	relay "disk full" "$dir/diskfull.out"
else
	echo "NOTE: no private mount namespace here: disk-full case not run"
fi

# ---------------------------------------------------------------- journal
# A warm run that takes a while (mixed.test's slow MX); a key the daemon
# resolves meanwhile reaches the next CDB.
daemon_start "$conf" "$sock" "$log" || fail "danemapd (journal) did not start"
echo mixed.test >"$dir/slow.txt"
$DANEMAP -c "$dir/slow.conf" warm -f "$dir/slow.txt" >"$dir/warm1.out" 2>&1 &
wpid=$!
sleep 1
expect "during a warm run" implicit.test "OK dane-only"
wait "$wpid"
rc=$?
$DANEMAP -c "$conf" dump >"$dir/dump1.out" 2>&1
if [ $rc = 0 ] && ! grep -q '^implicit\.test	dane-only	.*	cdb' "$dir/dump1.out" &&
	grep -q '^implicit\.test	-	-	journal$' "$dir/dump1.out"; then
	pass "a key resolved during the warm run waits in the journal"
else
	fail "journal during warm (exit $rc): $(grep implicit "$dir/dump1.out")"
	cat "$dir/warm1.out"
fi
warm
$DANEMAP -c "$conf" dump >"$dir/dump2.out" 2>&1
if grep -q '^implicit\.test	dane-only	.*	cdb$' "$dir/dump2.out"; then
	pass "the key resolved during the warm run is in the next CDB"
else
	fail "after the next warm run: $(grep implicit "$dir/dump2.out")"
fi
daemon_stop || fail "danemapd exit status $? at the end"

if grep -q 'ERROR SUMMARY\|definitely lost\|runtime error\|AddressSanitizer\|LeakSanitizer' "$log" "$dir"/*.out 2>/dev/null; then
	fail "sanitizer or valgrind reports"
	grep -A8 'ERROR SUMMARY\|definitely lost\|runtime error\|Sanitizer' "$log" "$dir"/*.out | head -60
fi
finish
