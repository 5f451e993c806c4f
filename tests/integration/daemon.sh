#!/bin/sh
# daemon.sh: the real danemapd over real sockets, against the signed test
# bed (through the fault proxy, which slows one domain down):
#  - every case of cases.txt: Postfix's own `postmap -q` through
#    socketmap:unix: gives the same answer as `danemap query`; some also
#    through socketmap:inet:;
#  - hostile and broken input, each with its defined outcome, and the
#    daemon still answers afterwards;
#  - 200 clients at once, cached, uncached and slow keys: every answer
#    right, slow keys do not hold up fast ones;
#  - SIGHUP with a good and a bad configuration; SIGTERM with requests in
#    flight: they are answered and the daemon exits 0.
. "$(dirname "$0")/common.sh"

if [ ! -x "$POSTMAP" ]; then
	echo "SKIP: postmap not found"
	exit 77
fi

testbed_up daemon
fport=$((port + 1))
iport=$((port + 2))
if ! "$TESTBED" fault "$dir" slow "$fport" --rule mixed.test/MX=slow:2500 >/dev/null; then
	fail "fault proxy did not start"
	finish
	exit 1
fi
sock="$dir/danemapd.sock"
conf="$dir/danemapd.conf"
sed -e 's/^log_level.*/log_level = info/' "$dir/danemap-slow.conf" >"$dir/base.conf"
scale_conf "$dir/base.conf" "$conf" 4000 8000
{
	echo "listen = unix:$sock"
	echo "listen = inet:127.0.0.1:$iport"
	echo "idle_timeout = 1500"
} >>"$conf"
postmap_setup

if ! daemon_start "$conf" "$sock" "$dir/danemapd.log"; then
	fail "danemapd did not start"
	cat "$dir/danemapd.log"
	finish
	exit 1
fi

# ---------------------------------------------------------------- postmap
tab=$(printf '\t')
n=0
while IFS="$tab" read -r key expected status desc; do
	case "$key" in '' | '#'*) continue ;; esac
	want=$($DANEMAP -c "$conf" query "$key" 2>/dev/null | head -n 1)
	got=$(postmap_answer "$key" "socketmap:unix:$sock:tlspolicy")
	if [ "$got" = "$want" ] && reply_matches "$expected" "$got"; then
		pass "postmap $key: '$got' = danemap query"
	else
		fail "postmap $key: '$got', danemap query '$want', expected '$expected'"
	fi
	n=$((n + 1))
	if [ $((n % 5)) = 1 ]; then
		got=$(postmap_answer "$key" "socketmap:inet:127.0.0.1:$iport:tlspolicy")
		if [ "$got" = "$want" ]; then
			pass "postmap over inet $key: '$got'"
		else
			fail "postmap over inet $key: '$got', want '$want'"
		fi
	fi
done <"$CASES"
got=$(postmap_answer dane-one.test "socketmap:unix:$sock:othermap")
if [ "$got" = "PERM unknown map name" ]; then
	pass "wrong map name: '$got'"
else
	fail "wrong map name: '$got'"
fi

# ---------------------------------------------------------------- hostile
python3 "$top_srcdir/tests/integration/sockclient.py" hostile "$sock" \
	dane-one.test "OK dane-only" 1500 >"$dir/hostile.out" 2>&1
relay hostile "$dir/hostile.out"
if kill -0 "$dpid" 2>/dev/null; then
	pass "daemon alive after hostile input"
else
	fail "daemon died under hostile input"
fi

# ---------------------------------------------------------------- load
# fast: cached keys and 40 uncached ones; slow: 20 uncached keys whose MX
# lookup the fault proxy holds back 2.5 s. Under a slow wrapper (valgrind)
# the point is memory safety with many lookups in flight, not speed: fewer
# clients and keys, and the timing is not judged.
clients=200 nfast=40 nslow=20
if [ "$TIME_SCALE" -gt 1 ]; then
	clients=40 nfast=8 nslow=4
	DANEMAP_LOAD_TIMING=0
	export DANEMAP_LOAD_TIMING
fi
set --
for p in $(seq 2000 $((2000 + nfast - 1))); do
	set -- "$@" "dane-one.test:$p=NOTFOUND "
done
set -- "$@" --
for p in $(seq 3000 $((3000 + nslow - 1))); do
	set -- "$@" "mixed.test:$p=NOTFOUND "
done
python3 "$top_srcdir/tests/integration/sockclient.py" load "$sock" "$clients" \
	"dane-one.test=OK dane-only" "dane-two.test=OK dane-only" \
	"nx.test=NOTFOUND " "bogus-mx.test=TEMP" "$@" >"$dir/load.out" 2>&1
relay load "$dir/load.out"
grep '^    ' "$dir/load.out"

# ---------------------------------------------------------------- SIGHUP
settle=0.5
[ "$TIME_SCALE" -gt 1 ] && settle=2
cp "$conf" "$dir/good.conf"
{
	grep -v '^map_name' "$dir/good.conf"
	echo "map_name = tlspolicy2"
} >"$conf"
kill -HUP "$dpid"
sleep "$settle"
got=$(postmap_answer dane-one.test "socketmap:unix:$sock:tlspolicy2")
if [ "$got" = "OK dane-only" ]; then
	pass "SIGHUP with a good configuration: the new map name is served"
else
	fail "SIGHUP good configuration: '$got'"
fi
printf 'map_name = tlspolicy\nno_such_key = 1\n' >"$conf"
kill -HUP "$dpid"
sleep "$settle"
got=$(postmap_answer dane-one.test "socketmap:unix:$sock:tlspolicy2")
if [ "$got" = "OK dane-only" ] &&
	grep -q 'reload rejected.*danemapd.conf:2: unknown key' "$dir/danemapd.log"; then
	pass "SIGHUP with a bad configuration: rejected with file:line, old one kept"
else
	fail "SIGHUP bad configuration: '$got'"
	tail -n 3 "$dir/danemapd.log"
fi
# A reload that moves state_dir: the journal follows it (the warmer reads
# the new one); keys a reload cannot apply are named in the log.
mkdir -p "$dir/state2"
{
	grep -v '^state_dir\|^socket_mode' "$dir/good.conf"
	echo "state_dir = $dir/state2"
	echo "socket_mode = 0600"
} >"$conf"
kill -HUP "$dpid"
sleep "$settle"
ask "$sock" implicit.test:2526 >/dev/null
if grep -qx 'implicit.test:2526' "$dir/state2/journal" 2>/dev/null; then
	pass "SIGHUP moving state_dir: live keys go to the new journal"
else
	fail "SIGHUP moving state_dir: the key is not in $dir/state2/journal"
fi
if grep -q 'reload: socket_mode changed: takes effect at the next start' "$dir/danemapd.log"; then
	pass "SIGHUP: a restart-only key that changed is named in the log"
else
	fail "SIGHUP: no notice that socket_mode takes effect at restart"
fi
cp "$dir/good.conf" "$conf"
kill -HUP "$dpid"
sleep "$settle"

# ---------------------------------------------------------------- SIGTERM
# The signal must come after the request is in: wait for the client to say
# it sent it (a loaded machine may take longer than any fixed sleep to start
# python), then give the daemon a moment to read it.
SOCKCLIENT_SENT="$dir/inflight.sent" python3 \
	"$top_srcdir/tests/integration/sockclient.py" ask "$sock" \
	mixed.test:2525 >"$dir/inflight.out" 2>&1 &
apid=$!
i=0
while [ ! -e "$dir/inflight.sent" ] && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep "$settle"
kill -TERM "$dpid"
wait "$apid"
got=$(cat "$dir/inflight.out")
if [ "$got" = "NOTFOUND " ]; then
	pass "SIGTERM: the request in flight was answered ('$got')"
else
	fail "SIGTERM: the request in flight got '$got'"
fi
wait "$dpid"
rc=$?
dpid=
if [ "$rc" = 0 ]; then
	pass "SIGTERM: exit status 0"
else
	fail "SIGTERM: exit status $rc"
	tail -n 30 "$dir/danemapd.log"
fi
if [ ! -S "$sock" ]; then
	pass "SIGTERM: socket removed"
else
	fail "SIGTERM: socket left behind"
fi
# ---------------------------------------------------------------- contrib
# The example configuration shipped for administrators must be accepted as
# it is (socket_group postfix: the Postfix package made that group).
if out=$($DANEMAPD -t -c "$top_srcdir/contrib/danemap.conf" 2>&1); then
	pass "contrib/danemap.conf is a valid configuration"
else
	fail "contrib/danemap.conf: $out"
fi

# ---------------------------------------------------------------- state_dir
# The daemon drops to its user after binding; the journal in state_dir
# must then be writable by that user, or the warmer silently stops
# learning live keys. A state_dir that user cannot write: -t and the start
# both refuse, naming it. A missing one: created for that user.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 0755 "$dir"
	mkdir -p "$dir/rootstate"
	chmod 0755 "$dir/rootstate"
	{
		grep -v '^state_dir\|^user\|^cache_file' "$dir/good.conf"
		echo "state_dir = $dir/rootstate"
		echo "user = nobody"
	} >"$dir/nobody.conf"
	out=$($DANEMAPD -t -c "$dir/nobody.conf" 2>&1)
	rc=$?
	if [ $rc = 78 ] && echo "$out" | grep -q "state_dir $dir/rootstate is not writable by user nobody"; then
		pass "danemapd -t: a state_dir the daemon's user cannot write is an error"
	else
		fail "danemapd -t with a root-owned state_dir: exit $rc: $out"
	fi
	$DANEMAPD -f -c "$dir/nobody.conf" >"$dir/nobody.log" 2>&1
	rc=$?
	if [ $rc = 78 ] && grep -q 'not writable by user nobody' "$dir/nobody.log"; then
		pass "danemapd refuses to start with a state_dir its user cannot write"
	else
		fail "danemapd with a root-owned state_dir: exit $rc"
		tail -n 5 "$dir/nobody.log"
	fi
	sed "s|^state_dir = .*|state_dir = $dir/newstate|" "$dir/nobody.conf" >"$dir/nobody2.conf"
	if daemon_start "$dir/nobody2.conf" "$sock" "$dir/nobody.log"; then
		ask "$sock" implicit.test:2527 >/dev/null
		owner=$(stat -c %U "$dir/newstate" 2>/dev/null)
		if [ "$owner" = nobody ] && grep -qx 'implicit.test:2527' "$dir/newstate/journal"; then
			pass "a missing state_dir is created for the daemon's user; live keys reach its journal"
		else
			fail "missing state_dir: owner '$owner', journal: $(cat "$dir/newstate/journal" 2>&1)"
		fi
		daemon_stop || fail "danemapd (nobody) exit status $?"
	else
		fail "danemapd did not start with a missing state_dir"
		tail -n 5 "$dir/nobody.log"
	fi
else
	echo "NOTE: not root or no user nobody: state_dir ownership not tested"
fi

if grep -q 'ERROR SUMMARY\|definitely lost\|runtime error\|AddressSanitizer\|LeakSanitizer' "$dir/danemapd.log"; then
	fail "sanitizer or valgrind reports in the daemon log"
	grep -A8 'ERROR SUMMARY\|definitely lost\|runtime error\|Sanitizer' "$dir/danemapd.log" | head -60
fi

finish
