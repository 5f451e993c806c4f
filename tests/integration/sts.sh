#!/bin/sh
# sts.sh: MTA-STS policy fetches (lib/stsfetch, through tests/testbed/stsget)
# against a real HTTPS server (tests/testbed/httpsd.py) with its own test
# CA, inside the private network namespace. RFC 8461 §3.3 and §3.2:
#  - a valid policy over verified HTTPS is taken (text/plain, with or
#    without parameters), whatever proxy the environment names;
#  - a certificate for another name, an expired one, one from an unknown
#    CA: refused (sts-webpki-invalid);
#  - a redirect (not followed), a 404, text/html, a body over 64 KiB, a
#    server slower than the timeout, nothing listening: refused
#    (sts-policy-fetch-error);
#  - bad version, max_age out of range, enforce without mx, an mx that
#    would inject Postfix attributes: refused (sts-policy-invalid).
# Then `danemap query` against the signed test bed's sts-* zones, whose
# policy host is this server: DANE first (a DANE answer or TEMP is final),
# MTA-STS only after a DANE NOTFOUND: enforce gives "OK secure match=...",
# testing, an invalid policy, no policy host or two records give NOTFOUND;
# TLS-RPT attributes with tlsrpt = yes; nothing with mta_sts = no.
# Then danemapd over its socket, RFC 8461 §5.1 with the policy cache:
# an enforced policy is answered live and from memory; an unchanged id
# fetches nothing; a changed id fetches the new policy; a failed fetch
# and a removed TXT record leave the cached policy in force; requests for
# a domain whose policy host is slow share one fetch, and answers for
# other domains do not wait for it; the metrics count the fetches by
# result as the log has them; mta_sts_max_fetches bounds fetches.
# And `danemap warm`: policies go into the cache file (record version 2,
# listed by `dump`) and the daemon answers them from there without a
# fetch; an unchanged id is not fetched again; past half its max_age a
# policy is refreshed, and a refresh that fails keeps the old one.
. "$(dirname "$0")/common.sh"

STSGET="${DANEMAP_WRAPPER:-} $top_builddir/tests/testbed/stsget"
testbed_up sts
addr=$TESTBED_ADDR
. "$(dirname "$0")/stsbed.sh"

# ------------------------------------------------------------ the test CA
ca ca || pki_failed "CA"
ca otherca || pki_failed "second CA"
cert ca mta-sts.elsewhere.test default || pki_failed default
for d in good charset redirect notfound html big slow badversion maxage \
	nomx inject sts-enforce sts-testing sts-invalid sts-unsigned sts-dane \
	bogus-tlsa; do
	cert ca "mta-sts.$d.test" "mta-sts.$d.test" || pki_failed "$d"
done
cert ca mta-sts.expired.test mta-sts.expired.test 20200101000000Z \
	20200201000000Z || pki_failed expired
cert otherca mta-sts.unknownca.test mta-sts.unknownca.test ||
	pki_failed unknownca
# wrongname.test has no certificate of its own: the default one's name

# ------------------------------------------------------------ the sites
good='version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmx: *.good.test\r\nmax_age: 604800\r\n'
for d in good wrongname expired unknownca; do
	site $d "$good"
done
site charset "$good" "type=text/plain; charset=utf-8"
site redirect "$good" status=301 location=https://mta-sts.good.test/.well-known/mta-sts.txt
site notfound "$good" status=404
site html "$good" type=text/html
site slow "$good" delay=$((2 * TIME_SCALE))
site badversion 'version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 60\n'
site maxage 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n'
site nomx 'version: STSv1\nmode: enforce\nmax_age: 60\n'
site inject 'version: STSv1\nmode: enforce\nmx: a.test servername=evil\nmax_age: 60\n'
# the test bed's MTA-STS domains
for d in sts-enforce sts-unsigned sts-dane bogus-tlsa; do
	site $d "version: STSv1\nmode: enforce\nmx: mx1.$d.test\nmx: *.$d.test\nmax_age: 86400\n"
done
site sts-testing 'version: STSv1\nmode: testing\nmx: mx1.sts-testing.test\nmax_age: 86400\n'
site sts-invalid 'version: STSv1\nmode: enforce\nmax_age: 86400\n'
mkdir -p "$web/sites/mta-sts.big.test"
{
	printf 'version: STSv1\nmode: none\nmax_age: 60\n'
	head -c 70000 /dev/zero | tr '\0' 'x' | fold -w 60 | sed 's/^/x-pad: /'
} >"$web/sites/mta-sts.big.test/body"

httpsd_start

# expect DOMAIN WANT [stsget options]: stsget's line for DOMAIN holds WANT,
# and it exits 0 for a policy, 1 for none (anything else, say valgrind's
# 99, is a failure of its own)
expect() {
	d=$1 want=$2
	shift 2
	got=$($STSGET -c "$pki/ca.pem" "$@" "$d" "$addr" $hport 2>&1)
	rc=$?
	case "$got" in status=ok*) want_rc=0 ;; *) want_rc=1 ;; esac
	case "$got" in
	*"$want"*) [ $rc = $want_rc ] && pass "$d: $want" ||
		fail "$d: exit $rc: $got" ;;
	*) fail "$d: wanted '$want', got: $got" ;;
	esac
}

t=$((5000 * TIME_SCALE))
expect good.test "status=ok http=200" -t $t
expect good.test "mode=enforce max_age=604800 mx=mail.good.test,*.good.test" -t $t
expect charset.test "status=ok" -t $t
# a proxy in the environment is never used (it leads nowhere here)
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
	ALL_PROXY=http://127.0.0.1:9 expect good.test "status=ok" -t $t
expect wrongname.test "status=webpki http=0 size=0 failure=sts-webpki-invalid" -t $t
expect expired.test "status=webpki" -t $t
expect unknownca.test "status=webpki" -t $t
expect redirect.test "status=http http=301 size=" -t $t
expect redirect.test "failure=sts-policy-fetch-error" -t $t
expect notfound.test "status=http http=404" -t $t
expect html.test "status=type http=200" -t $t
expect big.test "status=too-big" -t $t
expect slow.test "status=timeout" -t $((1000 * TIME_SCALE))
expect badversion.test "status=invalid http=200" -t $t
expect badversion.test "failure=sts-policy-invalid" -t $t
expect maxage.test "status=invalid" -t $t
expect nomx.test "status=invalid" -t $t
expect inject.test "detail=\"invalid policy: an mx value is not a host name pattern\"" -t $t
# nothing listening there
got=$($STSGET -c "$pki/ca.pem" -t $t good.test "$addr" 9 2>&1)
case "$got" in
*"status=network"*"failure=sts-policy-fetch-error"*) pass "nothing listening: status=network" ;;
*) fail "nothing listening: $got" ;;
esac
# the system's CA store does not know the test CA
expect good.test "status=webpki" -c "" -t $t

# ------------------------------------------------------------ danemap query
scale_conf "$TESTBED_CONF" "$dir/bed.conf"
{
	cat "$dir/bed.conf"
	echo "mta_sts_ca_file = $pki/ca.pem"
	echo "mta_sts_port = $hport"
	echo "mta_sts_timeout = $t"
} >"$dir/sts.conf"
{ cat "$dir/sts.conf"; echo "tlsrpt = yes"; } >"$dir/tlsrpt.conf"
{ cat "$dir/sts.conf"; echo "mta_sts = no"; } >"$dir/nosts.conf"

# query CONF KEY WANT EXIT: the first line of danemap query is WANT
# (under valgrind: see batch_note in common.sh)
query() {
	out=$($DANEMAP_PLAIN -c "$1" query "$2" 2>"$dir/query.err")
	rc=$?
	first=$(echo "$out" | head -n 1)
	batch_note "$1" "$2" "$first"
	case "$3" in
	TEMP) match=0; case "$first" in "TEMP "*) match=1 ;; esac ;;
	*) match=0; [ "$first" = "$3" ] && match=1 ;;
	esac
	if [ $match = 1 ] && [ $rc = "$4" ]; then
		pass "query $2: '$first' (exit $rc)"
	else
		fail "query $2: wanted '$3' exit $4, got '$first' exit $rc $(cat "$dir/query.err")"
	fi
}
c="$dir/sts.conf"
query "$c" sts-enforce.test "OK secure match=mx1.sts-enforce.test:.sts-enforce.test servername=hostname" 0
query "$c" sts-unsigned.test "OK secure match=mx1.sts-unsigned.test:.sts-unsigned.test servername=hostname" 0
query "$c" sts-testing.test "NOTFOUND " 1
query "$c" sts-invalid.test "NOTFOUND " 1
query "$c" sts-nohost.test "NOTFOUND " 1
query "$c" sts-twotxt.test "NOTFOUND " 1
query "$c" sts-dane.test "OK dane-only" 0
query "$c" bogus-tlsa.test TEMP 75
query "$c" dane-one.test "OK dane-only" 0
query "$c" unsigned.test "NOTFOUND " 1
query "$dir/nosts.conf" sts-enforce.test "NOTFOUND " 1
query "$dir/tlsrpt.conf" sts-enforce.test "OK secure match=mx1.sts-enforce.test:.sts-enforce.test servername=hostname policy_type=sts policy_domain=sts-enforce.test policy_ttl=86400 { policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = max_age: 86400 } { policy_string = mx: mx1.sts-enforce.test } { policy_string = mx: *.sts-enforce.test } mx_host_pattern=mx1.sts-enforce.test mx_host_pattern=*.sts-enforce.test" 0
# with tlsrpt, DANE answers carry nothing more
query "$dir/tlsrpt.conf" sts-dane.test "OK dane-only" 0
batch_check

# a CA file that cannot be read is a configuration error, not a
# certificate problem of every domain
sed "s|^mta_sts_ca_file = .*|mta_sts_ca_file = $dir/no-such-ca.pem|" \
	"$dir/sts.conf" >"$dir/noca.conf"
$DANEMAP -c "$dir/noca.conf" query sts-enforce.test >"$dir/noca.out" 2>&1
rc=$?
if [ $rc = 78 ] && grep -q "mta_sts_ca_file $dir/no-such-ca.pem" "$dir/noca.out"; then
	pass "unreadable mta_sts_ca_file: exit 78, named"
else
	fail "unreadable mta_sts_ca_file: exit $rc: $(cat "$dir/noca.out")"
fi

# -v says what MTA-STS saw and who decided, key by key
# verbose KEY LINE...: each LINE is a whole line of `query -v KEY`
verbose() {
	k=$1
	shift
	$DANEMAP -c "$c" query -v "$k" >"$dir/v.out" 2>&1
	for want in "$@"; do
		if grep -qxF "$want" "$dir/v.out"; then
			pass "query -v $k: $want"
		else
			fail "query -v $k: no line '$want' in: $(cat "$dir/v.out")"
		fi
	done
}
verbose sts-enforce.test "  MTA-STS record: id=20261130" \
	"  policy: mode enforce, max_age 86400" \
	"    mx: *.sts-enforce.test" \
	"  decided by: MTA-STS (enforce)"
grep -q "^  fetch https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt: ok, HTTP 200, " \
	"$dir/v.out" && pass "query -v: the fetch line" ||
	fail "query -v: no fetch line in: $(cat "$dir/v.out")"
verbose sts-twotxt.test \
	"  MTA-STS record: none: more than one v=STSv1 TXT record" \
	"  decided by: DANE (no MTA-STS policy)"
verbose sts-testing.test "  policy: mode testing, max_age 86400" \
	"  decided by: DANE (the MTA-STS policy is not enforced)"
verbose sts-dane.test "  decided by: DANE"
verbose sts-nohost.test "  policy host: no address" \
	"  decided by: DANE (no MTA-STS policy)"

# ------------------------------------------------------------ danemapd
sock="$dir/danemapd.sock"
ttl=$((2 * TIME_SCALE))
{
	grep -v '^log_level\|^min_ttl\|^max_ttl' "$dir/sts.conf"
	echo "listen = unix:$sock"
	echo "log_level = info"
	echo "min_ttl = 0"
	echo "max_ttl = $ttl"
	echo "metrics_listen = inet:$((hport + 1))"
} >"$dir/d.conf"
dlog="$dir/danemapd.log"
if ! daemon_start "$dir/d.conf" "$sock" "$dlog"; then
	fail "danemapd did not start: $(cat "$dlog")"
	finish
	exit 1
fi
enf="OK secure match=mx1.sts-enforce.test:.sts-enforce.test servername=hostname"
# dask KEY WANT LABEL: the daemon's reply for KEY is WANT
dask() {
	got=$(ask "$sock" "$1")
	if [ "$got" = "$2" ]; then
		pass "danemapd $1: $3"
	else
		fail "danemapd $1: $3: wanted '$2', got '$got'"
	fi
}
# fetches DOMAIN N LABEL: the daemon fetched DOMAIN's policy N times
fetches() {
	got=$(grep -c "key=$1 mta-sts policy fetched" "$dlog")
	if [ "$got" = "$2" ]; then
		pass "danemapd $1: $2 fetch(es): $3"
	else
		fail "danemapd $1: $got fetches, wanted $2: $3"
	fi
}
# retxt ZONE ID|-: the zone's _mta-sts record gets id ID (or goes), the
# zone is signed again and NSD reloads it
retxt() {
	sed -i '/^_mta-sts\./d' "$dir/zones/$1.zone"
	[ "$2" = - ] ||
		echo "_mta-sts.$1. 3600 IN TXT \"v=STSv1; id=$2;\"" >>"$dir/zones/$1.zone"
	"$TESTBED" resign "$dir" "$1" >/dev/null 2>&1
}
expire() { sleep $((ttl + 1)); }

dask sts-enforce.test "$enf" "enforce policy, live"
dask sts-enforce.test "$enf" "again, from memory"
grep -q 'key=sts-enforce.test reply="OK secure match=.*source=live' "$dlog" &&
	pass "danemapd: the first answer is logged live" ||
	fail "danemapd: no live log line for sts-enforce.test"
fetches sts-enforce.test 1 "one fetch for two requests"
dask sts-dane.test "OK dane-only" "DANE wins over MTA-STS"
dask sts-testing.test "NOTFOUND " "testing mode is not enforced"
dask sts-invalid.test "NOTFOUND " "an invalid policy and none cached"
case "$(ask "$sock" bogus-tlsa.test)" in
TEMP*) pass "danemapd bogus-tlsa.test: TEMP despite a good policy" ;;
*) fail "danemapd bogus-tlsa.test: not TEMP" ;;
esac

# §5.1: the answer expired, the record's id unchanged: no fetch
expire
dask sts-enforce.test "$enf" "after expiry, id unchanged"
fetches sts-enforce.test 1 "an unchanged id fetches nothing"

# a changed id: the new policy is fetched and applies
site sts-enforce 'version: STSv1\nmode: enforce\nmx: mx2.sts-enforce.test\nmax_age: 86400\n'
retxt sts-enforce.test 20261201
expire
enf2="OK secure match=mx2.sts-enforce.test servername=hostname"
dask sts-enforce.test "$enf2" "id changed: the new policy"
fetches sts-enforce.test 2 "a changed id fetches"

# id changed again, but the fetch fails: the cached policy stays
echo 404 >"$web/sites/mta-sts.sts-enforce.test/status"
retxt sts-enforce.test 20261202
expire
dask sts-enforce.test "$enf2" "fetch failed: the cached policy applies"
grep -q "key=sts-enforce.test mta-sts policy fetch failed: http .*the cached policy stays in force" "$dlog" &&
	pass "danemapd: the failed fetch is logged, cached policy kept" ||
	fail "danemapd: no log line for the failed fetch"

# the record removed: the unexpired cached policy still applies
retxt sts-enforce.test -
expire
dask sts-enforce.test "$enf2" "record removed: the cached policy applies"

# a slow policy host: requests for it share one fetch, other domains'
# answers do not wait for it
echo $((2 * TIME_SCALE)) >"$web/sites/mta-sts.sts-unsigned.test/delay"
uns="OK secure match=mx1.sts-unsigned.test:.sts-unsigned.test servername=hostname"
if python3 "$top_srcdir/tests/integration/sockclient.py" load "$sock" 20 \
	dane-one.test="OK dane-only" unsigned.test="NOTFOUND " \
	-- sts-unsigned.test="$uns" >"$dir/load.out" 2>&1; then
	pass "danemapd: a slow policy host delays no other domain"
else
	fail "danemapd: slow policy host: $(cat "$dir/load.out")"
fi
fetches sts-unsigned.test 1 "two clients, one shared fetch"
grep -q 'key=sts-unsigned.test reply="OK secure.*source=shared' "$dlog" &&
	pass "danemapd: the other requests are logged shared" ||
	fail "danemapd: no shared answer for sts-unsigned.test: $(grep sts-unsigned "$dlog")"

# the metrics count the fetches by result as the log tells them
curl -s -o "$dir/metrics" "http://127.0.0.1:$((hport + 1))/metrics"
got="" want=""
for r in ok webpki http type too-big timeout network invalid; do
	if [ $r = ok ]; then
		n=$(grep -c 'mta-sts policy fetched' "$dlog")
	else
		n=$(grep -c "mta-sts policy fetch failed: $r (" "$dlog")
	fi
	want="$want $r=$n"
	got="$got $r=$(metric "danemap_mta_sts_fetches_total{result=\"$r\"}" "$dir/metrics")"
done
case "$want" in
*" ok=0"* | *" http=0"* | *" invalid=0"*) fail "metrics: the log shows no fetch of some kind:$want" ;;
*) [ "$got" = "$want" ] && pass "metrics: MTA-STS fetches by result, as logged:$got" ||
	fail "metrics: MTA-STS fetches:$got, the log says$want" ;;
esac

# mta_sts_max_fetches = 1: while one fetch runs, another domain's is not
# started (no cached policy: no policy, logged)
daemon_stop
echo "mta_sts_max_fetches = 1" >>"$dir/d.conf"
: >"$dlog"
daemon_start "$dir/d.conf" "$sock" "$dlog" || fail "danemapd did not restart"
echo $((2 * TIME_SCALE + 1)) >"$web/sites/mta-sts.sts-unsigned.test/delay"
rm -f "$web/sites/mta-sts.sts-enforce.test/status"
retxt sts-enforce.test 20261203
SOCKCLIENT_TIMEOUT=$((10 * TIME_SCALE)) ask "$sock" sts-unsigned.test \
	>"$dir/slow.out" &
sleep "$TIME_SCALE"
dask sts-enforce.test "NOTFOUND " "a fetch beyond mta_sts_max_fetches is not made"
grep -q "key=sts-enforce.test mta-sts policy not fetched: mta_sts_max_fetches" "$dlog" &&
	pass "danemapd: the fetch limit is logged" ||
	fail "danemapd: no log line for the fetch limit"
wait $!
[ "$(cat "$dir/slow.out")" = "$uns" ] && pass "danemapd: the running fetch finished" ||
	fail "danemapd: the slow fetch answered '$(cat "$dir/slow.out")'"
if daemon_stop; then
	pass "danemapd stopped cleanly"
else
	fail "danemapd exit status at stop"
fi

# ------------------------------------------------------------ warm
mkdir -p "$dir/wstate"
age=$((8 * TIME_SCALE + 2))
rm -f "$web/sites/mta-sts.sts-unsigned.test/delay"
site sts-unsigned "version: STSv1\nmode: enforce\nmx: mx1.sts-unsigned.test\nmax_age: $age\n"
# answers live up to an hour here (the policy's max_age caps them), so
# the daemon below answers from the warmed file however slow the build
{
	grep -v '^state_dir\|^cache_file\|^listen\|^max_ttl' "$dir/d.conf"
	echo "state_dir = $dir/wstate"
	echo "cache_file = $dir/wstate/cache.cdb"
	echo "listen = unix:$sock"
	echo "max_ttl = 3600"
} >"$dir/w.conf"
echo sts-unsigned.test >"$dir/keys.txt"
# warm_sts LABEL FETCHED FAILED WITH: warm's MTA-STS summary
warm_sts() {
	$DANEMAP -c "$dir/w.conf" warm -f "$dir/keys.txt" >"$dir/warm.out" 2>&1
	rc=$?
	want="warm: mta-sts: $2 policies fetched, $3 fetches failed; $4 records with a policy"
	if [ $rc = 0 ] && grep -qxF "$want" "$dir/warm.out"; then
		pass "warm: $1: $2 fetched, $3 failed, $4 kept"
	else
		fail "warm: $1: exit $rc, wanted '$want': $(cat "$dir/warm.out")"
	fi
}
warm_sts "a new policy" 1 0 1
$DANEMAP -c "$dir/w.conf" dump >"$dir/dump.out" 2>&1
if grep -q "^sts-unsigned\.test	notfound	" "$dir/dump.out" &&
	grep -q "^sts-unsigned\.test	mta-sts/enforce	.*	policy id=20261130 mx=mx1.sts-unsigned.test$" "$dir/dump.out"; then
	pass "dump lists the cached policy"
else
	fail "dump: $(cat "$dir/dump.out")"
fi
warm_sts "id unchanged, policy young: no fetch" 0 0 1
# the daemon answers it from the file, without a fetch
: >"$dlog"
if daemon_start "$dir/w.conf" "$sock" "$dlog"; then
	dask sts-unsigned.test "OK secure match=mx1.sts-unsigned.test servername=hostname" "from the warmed file"
	dask sts-unsigned.test "OK secure match=mx1.sts-unsigned.test servername=hostname" "again, the kept reply"
	# a reload turning tlsrpt on changes the cached answer's reply too
	cp "$dir/w.conf" "$dir/w0.conf"
	echo "tlsrpt = yes" >>"$dir/w.conf"
	kill -HUP "$dpid"
	i=0
	while ! grep -q "configuration reloaded" "$dlog" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	case "$(ask "$sock" sts-unsigned.test)" in
	"OK secure match=mx1.sts-unsigned.test servername=hostname policy_type=sts policy_domain=sts-unsigned.test "*)
		pass "danemapd: tlsrpt turned on by a reload reaches cached answers" ;;
	*) fail "danemapd: after the tlsrpt reload: $(ask "$sock" sts-unsigned.test)" ;;
	esac
	# and mta_sts = no stops cached policies being answered at once
	{ cat "$dir/w0.conf"; echo "mta_sts = no"; } >"$dir/w.conf"
	kill -HUP "$dpid"
	i=0
	while [ "$(grep -c "configuration reloaded" "$dlog")" -lt 2 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	dask sts-unsigned.test "NOTFOUND " "mta_sts = no by a reload: the cached policy is not answered"
	mv "$dir/w0.conf" "$dir/w.conf"
	daemon_stop || fail "danemapd exit status at stop"
	# cache file answers are counted, not logged one by one
	grep -q 'statistics: 4 answers .* cdb=4 .* sts=3 ' "$dlog" &&
		! grep -q "mta-sts policy fetched" "$dlog" &&
		pass "danemapd: the policy came from the cache file, no fetch" ||
		fail "danemapd: warmed policy not answered from the file: $(cat "$dlog")"
else
	fail "danemapd did not start on the warmed file"
fi
sleep $((age / 2 + 1))
echo 404 >"$web/sites/mta-sts.sts-unsigned.test/status"
warm_sts "refresh due, fetch fails: the old policy kept" 0 1 1
rm -f "$web/sites/mta-sts.sts-unsigned.test/status"
warm_sts "refresh due: fetched again" 1 0 1
finish
