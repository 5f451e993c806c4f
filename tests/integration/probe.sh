#!/bin/sh
# probe.sh: `danemap probe` against real SMTP servers: Postfix smtpd
# listeners (tests/integration/postfixbed.sh) on the test bed's MX
# addresses, inside the private network namespace, presenting the
# certificates the bed's TLSA records were made from, or others:
#  - dane-one.test: the right certificate: verified (3 1 1 at depth 0),
#    exit 0;
#  - dane-two.test: mx1's key in a certificate for another name that
#    expires in 3 days: verified (usage 3 checks no name) and flagged;
#    mx2 serving another host's certificate (no-match), mx2's IPv6
#    address unreachable (left out with probe_inet_protocols = ipv4):
#    exit 65;
#  - cname-target.test: the MX host is a CNAME, the records are at the
#    target: verified;
#  - mixed.test (policy dane): mx1, the host with TLSA, offers no
#    STARTTLS (no-starttls); mx2 has no TLSA and is not probed: exit 65;
#  - [mx1.dane-hosts.test]: nothing listens there: unreachable, exit 69;
#  - unsigned.test: no DANE policy, nothing probed: exit 1;
#  - bogus-tlsa.test: the policy is TEMP: exit 75; several keys: the
#    worst status; keys from -f lists; -j's JSON, parsed;
#  - -C, the rollover check without connecting: dane-one.test's records
#    accept its certificate and reject another host's; usage 2 with and
#    without the CA in the file; for MTA-STS the right certificate, a
#    wrong name, a self-signed one, one naming the host in its CN only.
#  - dane-usages.test, the other kinds of record: mx1 matches 3 0 1, mx2
#    2 1 1 at depth 1 (the bed's CA, served in the chain), mx3 serves a
#    certificate from that CA for another name (usage 2 checks names):
#    no-match; -v shows the records and the chains, whose SPKI digests
#    are checked against openssl's;
#  - MTA-STS secure (policies from tests/testbed/httpsd.py, a test CA):
#    sts-enforce.test's MX verified; its policy changed to name another
#    host: no-match, and its smtpd logs no connection; sts-unsigned.test
#    serves the CA's certificate for another name, sts-invalid.test a
#    self-signed one: no-match; a testing policy: nothing probed; a
#    record without a policy host, and a policy fetch that fails: said,
#    exit 1;
#  - -q prints the problems only, one self-contained line each, and
#    contrib's cron line sends them to syslog;
#  - servers that never greet: unreachable; the server sees
#    probe_connections connections at once, and 1 with 1;
#    probe_connections = 1 gives the same output as parallel probing; a
#    list of 65 keys (two batches).
# Under valgrind (DANEMAP_WRAPPER) the cases that only repeat code paths
# run before them (several keys, lists, usage errors, the serial run, the
# cron line) run without the wrapper ($PLAIN), to keep CI's valgrind
# stage short; they are still checked.
# Skipped (exit 77) without a private namespace, root, or Postfix.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/postfixbed.sh"
pf_available || exit 77
testbed_up probe
addr=$TESTBED_ADDR
. "$(dirname "$0")/stsbed.sh"
scale_conf "$TESTBED_CONF" "$dir/bed.conf" # lookups slower under valgrind

# MTA-STS: the test CA, the policy host's certificates and policies
ca ca || pki_failed "CA"
cert ca mta-sts.elsewhere.test default || pki_failed default
for d in sts-enforce sts-unsigned sts-invalid sts-testing; do
	cert ca "mta-sts.$d.test" "mta-sts.$d.test" || pki_failed "$d"
	site $d "version: STSv1\nmode: enforce\nmx: mx1.$d.test\nmx: *.$d.test\nmax_age: 86400\n"
done
site sts-testing "version: STSv1\nmode: testing\nmx: mx1.sts-testing.test\nmax_age: 86400\n"
cert ca mx1.sts-enforce.test mx-good || pki_failed "MX"
cert ca mx1.elsewhere.test mx-wrong || pki_failed "MX, wrong name"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=mx1.sts-invalid.test -days 30 -keyout "$pki/mx-self.key" \
	-out "$pki/mx-self.crt" -addext subjectAltName=DNS:mx1.sts-invalid.test \
	2>/dev/null || pki_failed "self-signed MX"
# the right name in the subject's CN only, no subjectAltName
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=mx1.sts-enforce.test -keyout "$pki/mx-cn.key" 2>/dev/null |
	openssl x509 -req -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -set_serial 99 \
		-days 30 -out "$pki/mx-cn.crt" 2>/dev/null || pki_failed "CN-only MX"
chmod 755 "$pki"
httpsd_start
{
	echo "mta_sts_ca_file = $pki/ca.pem"
	echo "mta_sts_port = $hport"
	echo "mta_sts_timeout = $((5000 * TIME_SCALE))"
} >>"$dir/bed.conf"

# a_of HOST ZONE: the A record of HOST in the bed
a_of() {
	sed -n "s/^$1\. [0-9]* IN A //p" "$dir/zones/$2.zone"
}
c="$dir/certs"
# a certificate from the bed's DANE CA for a name that is not mx3's
printf 'subjectAltName = DNS:wrong.dane-usages.test\n' >"$c/wrong.ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj /CN=wrong.dane-usages.test -keyout "$c/wrong.dane-usages.test.key" 2>/dev/null |
	openssl x509 -req -CA "$c/dane-ca.pem" -CAkey "$c/dane-ca.key" -set_serial 3 \
		-days 30 -extfile "$c/wrong.ext" -out "$c/wrong.crt" 2>/dev/null
cat "$c/wrong.crt" "$c/dane-ca.pem" >"$c/wrong.dane-usages.test.pem"
# mx1.dane-two.test's key in a certificate for another name, expiring in
# 3 days
openssl req -x509 -key "$c/mx1.dane-two.test.key" -subj /CN=not-mx1.example \
	-days 3 -out "$c/mx1.dane-two.test.3days.pem" 2>/dev/null
one=$(a_of mx1.dane-one.test dane-one.test)
two1=$(a_of mx1.dane-two.test dane-two.test)
two2=$(a_of mx2.dane-two.test dane-two.test)
mixed=$(a_of mx1.mixed.test mixed.test)
u1=$(a_of mx1.dane-usages.test dane-usages.test)
u2=$(a_of mx2.dane-usages.test dane-usages.test)
u3=$(a_of mx3.dane-usages.test dane-usages.test)
se=$(a_of mx1.sts-enforce.test sts-enforce.test)
su=$(a_of mx1.sts-unsigned.test sts-unsigned.test)
si=$(a_of mx1.sts-invalid.test sts-invalid.test)
tgt=$(a_of target.dane-hosts.test dane-hosts.test)
# tls ADDR CERT KEY: master.cf's smtpd on ADDR:25 with STARTTLS and CERT,
# logging as postfix-ADDR
tls() {
	echo "$1:25 inet n - n - - smtpd -o syslog_name=postfix-$1 -o smtpd_tls_security_level=may -o smtpd_tls_cert_file=$2 -o smtpd_tls_key_file=$3"
}
pf_prepare
{
	tls "$one" "$c/mx1.dane-one.test.pem" "$c/mx1.dane-one.test.key"
	tls "$two1" "$c/mx1.dane-two.test.3days.pem" "$c/mx1.dane-two.test.key"
	tls "$two2" "$c/mx1.dane-one.test.pem" "$c/mx1.dane-one.test.key"
	echo "$mixed:25 inet n - n - - smtpd -o smtpd_tls_security_level=none"
	tls "$u1" "$c/mx1.dane-usages.test.pem" "$c/mx1.dane-usages.test.key"
	tls "$u2" "$c/mx2.dane-usages.test.pem" "$c/mx2.dane-usages.test.key"
	tls "$u3" "$c/wrong.dane-usages.test.pem" "$c/wrong.dane-usages.test.key"
	tls "$se" "$pki/mx-good.crt" "$pki/mx-good.key"
	tls "$su" "$pki/mx-wrong.crt" "$pki/mx-wrong.key"
	tls "$si" "$pki/mx-self.crt" "$pki/mx-self.key"
	tls "$tgt" "$c/target.dane-hosts.test.pem" "$c/target.dane-hosts.test.key"
} >>"$pf/master.cf"
silent=
cleanup_more() {
	pf_stop
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
	[ -n "$silent" ] && kill "$silent" 2>/dev/null
}
pf_start

PLAIN="$top_builddir/daemon/danemap" # see the head of this file
# probe KEY... WANT_EXIT LINE...: `danemap probe KEYS` exits WANT_EXIT and
# prints each LINE (a whole line); keys end at the first number
probe() {
	keys=
	while [ $# -gt 0 ]; do
		case "$1" in [0-9]*) break ;; esac
		keys="$keys $1"
		shift
	done
	want=$1
	shift
	# shellcheck disable=SC2086
	${PROBE_CMD:-$DANEMAP} -c "$dir/bed.conf" probe $keys >"$dir/probe.out" 2>&1
	rc=$?
	ok=1
	[ $rc = "$want" ] || ok=0
	for line in "$@"; do
		grep -qxF -- "$line" "$dir/probe.out" || { ok=0; echo "  missing: $line"; }
	done
	if [ $ok = 1 ]; then
		pass "probe$keys: exit $rc"
	else
		fail "probe$keys: exit $rc (wanted $want): $(cat "$dir/probe.out")"
	fi
}

probe dane-one.test 0 "dane-one.test: OK dane-only"
grep -Eq "^  mx1\.dane-one\.test\[$one\]:25 verified: TLSA 3 1 1 matched at depth 0; certificate expires [0-9]{4}-[0-9]{2}-[0-9]{2} \([0-9]+ days\)$" "$dir/probe.out" &&
	pass "dane-one.test: the matching record and the expiry" ||
	fail "dane-one.test: $(cat "$dir/probe.out")"
probe dane-two.test 65 "dane-two.test: OK dane-only"
grep -Eq "^  mx1\.dane-two\.test\[$two1\]:25 verified: .*\([23] days\), EXPIRES SOON$" "$dir/probe.out" &&
	grep -q "^  mx2\.dane-two\.test\[$two2\]:25 no-match: " "$dir/probe.out" &&
	grep -q "^  mx2\.dane-two\.test\[fd00::2\]:25 unreachable: " "$dir/probe.out" &&
	pass "dane-two.test: mx1 verified (another name: usage 3), mx2 no-match, its IPv6 address unreachable" ||
	fail "dane-two.test: $(cat "$dir/probe.out")"
{ cat "$dir/bed.conf"; echo "probe_inet_protocols = ipv4"; } >"$dir/ipv4.conf"
$PLAIN -c "$dir/ipv4.conf" probe dane-two.test >"$dir/probe.out" 2>&1
rc=$?
[ $rc = 65 ] && ! grep -q "fd00::2" "$dir/probe.out" &&
	grep -q "^  mx2\.dane-two\.test\[$two2\]:25 no-match: " "$dir/probe.out" &&
	pass "probe_inet_protocols = ipv4: the IPv6 address left out" ||
	fail "probe_inet_protocols = ipv4: exit $rc: $(cat "$dir/probe.out")"
probe cname-target.test 0 "cname-target.test: OK dane-only"
grep -q "^  mx\.cname-target\.test\[$tgt\]:25 verified: TLSA 3 1 1 matched at depth 0; " "$dir/probe.out" &&
	pass "cname-target.test: the records at the CNAME target verified" ||
	fail "cname-target.test: $(cat "$dir/probe.out")"
probe mixed.test 65 "mixed.test: OK dane"
grep -q "^  mx1\.mixed\.test\[$mixed\]:25 no-starttls: EHLO does not offer STARTTLS$" "$dir/probe.out" &&
	grep -q "^  mx2\.mixed\.test: not probed " "$dir/probe.out" &&
	pass "mixed.test: no STARTTLS at the DANE host; the other not probed" ||
	fail "mixed.test: $(cat "$dir/probe.out")"
probe "[mx1.dane-hosts.test]" 69
grep -q "^  mx1\.dane-hosts\.test\[.*\]:25 unreachable: " "$dir/probe.out" &&
	pass "[mx1.dane-hosts.test]: unreachable" ||
	fail "[mx1.dane-hosts.test]: $(cat "$dir/probe.out")"
probe unsigned.test 1 "unsigned.test: NOTFOUND "
probe bogus-tlsa.test 75
# several keys: the worst, 75 > 65 > 69 > 0 > 1
PROBE_CMD=$PLAIN
probe unsigned.test dane-one.test 0
probe dane-one.test "[mx1.dane-hosts.test]" 69
probe "[mx1.dane-hosts.test]" dane-two.test 65
probe dane-two.test bogus-tlsa.test unsigned.test 75
PROBE_CMD=
# -C: would the records accept this certificate? (no connection made)
probe -C "$c/mx1.dane-one.test.pem" dane-one.test 0 \
	"  mx1.dane-one.test: accepts: TLSA 3 1 1 matches at depth 0"
probe -C "$c/mx1.dane-two.test.pem" dane-one.test 65
grep -q "^  mx1\.dane-one\.test: rejects: " "$dir/probe.out" &&
	pass "-C with another host's certificate: rejected" ||
	fail "-C with another host's certificate: $(cat "$dir/probe.out")"
$PLAIN -c "$dir/bed.conf" probe -C "$dir/keys-none.pem" dane-one.test >/dev/null 2>&1
rc=$?
[ $rc = 66 ] && pass "-C without a certificate file: exit 66" ||
	fail "-C without a certificate file: exit $rc"
# keys from a list (- is standard input), as warm reads them
printf '# DANE domains\ndane-one.test\n\nunsigned.test\n' >"$dir/keys.txt"
PROBE_CMD=$PLAIN
probe -f "$dir/keys.txt" 0 "dane-one.test: OK dane-only" "unsigned.test: NOTFOUND "
PROBE_CMD=
echo dane-two.test | $PLAIN -c "$dir/bed.conf" probe -f - >"$dir/probe.out" 2>&1
rc=$?
[ $rc = 65 ] && grep -q "^dane-two.test: OK dane-only$" "$dir/probe.out" &&
	pass "probe -f -: keys from standard input" ||
	fail "probe -f -: exit $rc: $(cat "$dir/probe.out")"
$PLAIN -c "$dir/bed.conf" probe -f "$dir/no-such-list" >/dev/null 2>&1
rc=$?
[ $rc = 66 ] && pass "probe -f with a missing list: exit 66" ||
	fail "probe -f with a missing list: exit $rc"
# -j: one JSON object per key, for monitoring
$DANEMAP -c "$dir/bed.conf" probe -j dane-two.test unsigned.test >"$dir/probe.json" 2>&1
rc=$?
if [ $rc = 65 ] && python3 - "$dir/probe.json" "$two1" "$two2" <<'EOF'; then
import json, sys
objs = [json.loads(line) for line in open(sys.argv[1])]
two, uns = objs
assert two["key"] == "dane-two.test" and two["policy"] == "OK dane-only", two
assert two["status"] == 65, two
by = {(a["host"], a["address"]): a for a in two["addresses"]}
a = by[("mx1.dane-two.test", sys.argv[2])]
assert a["result"] == "verified" and a["tlsa"] == "3 1 1" and a["depth"] == 0, a
assert a["expiring"] is True and a["days_left"] <= 3, a
b = by[("mx2.dane-two.test", sys.argv[3])]
assert b["result"] == "no-match" and "tlsa" not in b and b["expiring"] is False, b
assert by[("mx2.dane-two.test", "fd00::2")]["result"] == "unreachable"
assert uns == {"key": "unsigned.test", "policy": "NOTFOUND ", "addresses": [], "status": 1}, uns
EOF
	pass "probe -j: the JSON parses and says what the text says"
else
	fail "probe -j: exit $rc: $(cat "$dir/probe.json")"
fi
$PLAIN -c "$dir/bed.conf" probe >/dev/null 2>&1
rc=$?
[ $rc = 64 ] && pass "probe without a key: exit 64" ||
	fail "probe without a key: exit $rc"
{ cat "$dir/bed.conf"; echo "probe_helo = -bad-"; } >"$dir/badhelo.conf"
$PLAIN -c "$dir/badhelo.conf" probe dane-one.test >"$dir/probe.out" 2>&1
rc=$?
[ $rc = 78 ] && grep -q "probe_helo" "$dir/probe.out" &&
	pass "probe with a bad probe_helo: exit 78, and says so" ||
	fail "probe with a bad probe_helo: exit $rc: $(cat "$dir/probe.out")"
# ------------------------------------------------------------ usages 3 0 1, 2 1 1
PROBE_CMD=$PLAIN # probe -v below runs the same under valgrind
probe dane-usages.test 65 "dane-usages.test: OK dane-only"
PROBE_CMD=
grep -q "^  mx1\.dane-usages\.test\[$u1\]:25 verified: TLSA 3 0 1 matched at depth 0; " "$dir/probe.out" &&
	pass "3 0 1: verified at depth 0" || fail "3 0 1: $(cat "$dir/probe.out")"
grep -q "^  mx2\.dane-usages\.test\[$u2\]:25 verified: TLSA 2 1 1 matched at depth 1; " "$dir/probe.out" &&
	pass "2 1 1: the CA in the served chain, verified at depth 1" ||
	fail "2 1 1: $(cat "$dir/probe.out")"
grep -q "^  mx3\.dane-usages\.test\[$u3\]:25 no-match: hostname mismatch; " "$dir/probe.out" &&
	pass "2 1 1 for another name: no-match (usage 2 checks the name)" ||
	fail "2 1 1, another name: $(cat "$dir/probe.out")"
# -v: the records and the chain, digests as openssl computes them
spki() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -hex | sed 's/.*= *//'
}
ta=$(spki "$c/dane-ca.pem")
leaf1=$(openssl x509 -in "$c/mx1.dane-usages.test.pem" -outform DER |
	openssl dgst -sha256 -hex | sed 's/.*= *//')
# enddate FILE: a certificate's notAfter as YYYY-MM-DD
enddate() {
	date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/notAfter=//')" +%Y-%m-%d
}
probe -v dane-usages.test 65 \
	"  mx1.dane-usages.test: TLSA 3 0 1 $leaf1" \
	"  mx2.dane-usages.test: TLSA 2 1 1 $ta"
# mx2's block, whole: its line, then the chain as served
cat >"$dir/want.txt" <<EOF
  mx2.dane-usages.test[$u2]:25 verified: TLSA 2 1 1 matched at depth 1; certificate expires $(enddate "$c/mx2.dane-usages.test.crt") (3649 days)
    certificate 0: subject /CN=mx2.dane-usages.test
      issuer /CN=danemap test bed DANE CA
      SPKI SHA-256 $(spki "$c/mx2.dane-usages.test.crt"), not after $(enddate "$c/mx2.dane-usages.test.crt")
    certificate 1: subject /CN=danemap test bed DANE CA
      issuer /CN=danemap test bed DANE CA
      SPKI SHA-256 $ta, not after $(enddate "$c/dane-ca.pem")
EOF
grep -A6 "^  mx2\.dane-usages\.test\[" "$dir/probe.out" | sed 's/([0-9]* days)/(3649 days)/' >"$dir/got.txt"
cmp -s "$dir/want.txt" "$dir/got.txt" &&
	pass "probe -v: mx2's chain, subjects, issuers, SPKI digests, dates" ||
	fail "probe -v: $(diff "$dir/want.txt" "$dir/got.txt")"

$DANEMAP -c "$dir/bed.conf" probe -j -v dane-usages.test >"$dir/probe.json" 2>&1
rc=$?
if [ $rc = 65 ] && python3 - "$dir/probe.json" "$u2" "$ta" <<'EOF'; then
import json, sys
o = json.loads(open(sys.argv[1]).read())
a = [x for x in o["addresses"] if x["address"] == sys.argv[2]][0]
assert a["result"] == "verified" and a["tlsa"] == "2 1 1" and a["depth"] == 1, a
ca = a["chain"][1]
assert ca["subject"] == "/CN=danemap test bed DANE CA", a
assert ca["spki_sha256"] == sys.argv[3], a
assert o["status"] == 65, o
EOF
	pass "probe -j -v: the chain in the JSON, with openssl's digest"
else
	fail "probe -j -v: exit $rc: $(cat "$dir/probe.json")"
fi
# -C with usage 2: the CA in the file, or not
probe -C "$c/mx2.dane-usages.test.pem" dane-usages.test 65 \
	"  mx2.dane-usages.test: accepts: TLSA 2 1 1 matches at depth 1" \
	"  mx3.dane-usages.test: rejects: hostname mismatch"
PROBE_CMD=$PLAIN
probe -C "$c/mx2.dane-usages.test.crt" dane-usages.test 65
PROBE_CMD=
grep -q "^  mx2\.dane-usages\.test: rejects: " "$dir/probe.out" &&
	pass "-C with a usage 2 leaf but not its CA: rejected" ||
	fail "-C, usage 2 leaf alone: $(cat "$dir/probe.out")"

# ------------------------------------------------------------ MTA-STS secure
probe sts-enforce.test 0
grep -q "^sts-enforce\.test: OK secure " "$dir/probe.out" &&
	grep -q "^  mx1\.sts-enforce\.test\[$se\]:25 verified: certificate trusted and valid for mx1\.sts-enforce\.test; certificate expires " "$dir/probe.out" &&
	pass "sts-enforce.test: the MX verified against the CA and its name" ||
	fail "sts-enforce.test: $(cat "$dir/probe.out")"
probe sts-unsigned.test 65 \
	"  mx1.sts-unsigned.test[$su]:25 no-match: certificate: hostname mismatch; certificate expires $(date -u -d "$(openssl x509 -in "$pki/mx-wrong.crt" -noout -enddate | sed 's/notAfter=//')" +%Y-%m-%d) (29 days)"
PROBE_CMD=$PLAIN # the path sts-unsigned.test took
probe sts-invalid.test 65
PROBE_CMD=
grep -q "^  mx1\.sts-invalid\.test\[$si\]:25 no-match: certificate: self-signed certificate; " "$dir/probe.out" &&
	pass "sts-invalid.test: a self-signed MX certificate: no-match" ||
	fail "sts-invalid.test: $(cat "$dir/probe.out")"
PROBE_CMD=$PLAIN
probe sts-testing.test 1 "sts-testing.test: NOTFOUND "
PROBE_CMD=
probe -C "$pki/mx-good.crt" sts-enforce.test 0 \
	"  mx1.sts-enforce.test: accepts: trusted and valid for mx1.sts-enforce.test"
probe -C "$pki/mx-wrong.crt" sts-enforce.test 65 \
	"  mx1.sts-enforce.test: rejects: hostname mismatch"
PROBE_CMD=$PLAIN
probe -C "$pki/mx-self.crt" sts-enforce.test 65 \
	"  mx1.sts-enforce.test: rejects: self-signed certificate"
PROBE_CMD=
PROBE_CMD=$PLAIN
probe -C "$pki/mx-cn.crt" sts-enforce.test 65 \
	"  mx1.sts-enforce.test: rejects: hostname mismatch"
PROBE_CMD=
# the policy changed: the MX host is in none of its patterns
site sts-enforce "version: STSv1\nmode: enforce\nmx: mx9.sts-enforce.test\nmax_age: 86400\n"
before=$(grep -c "postfix-$se/smtpd.*: connect from" "$dir/maillog")
probe sts-enforce.test 65 \
	"  mx1.sts-enforce.test[$se]:25 no-match: mx1.sts-enforce.test matches no mx pattern of the policy (not connected)"
sleep 1 # the log is written by postlogd
after=$(grep -c "postfix-$se/smtpd.*: connect from" "$dir/maillog")
[ "$before" -ge 1 ] && [ "$after" = "$before" ] &&
	pass "a host outside the mx patterns is not connected to ($before connections before, none more)" ||
	fail "not connected: $before connections before, $after after"
# a record without a policy host; a policy that cannot be fetched
PROBE_CMD=$PLAIN
probe sts-nohost.test 1 "sts-nohost.test: NOTFOUND " \
	"  MTA-STS record id=1, but mta-sts.sts-nohost.test has no address"
PROBE_CMD=
rm -r "$web/sites/mta-sts.sts-testing.test"
probe -q sts-testing.test 1
grep -q "^sts-testing\.test: MTA-STS policy fetch failed: " "$dir/probe.out" &&
	pass "probe -q: a policy fetch that fails is said" ||
	fail "probe -q, fetch failed: $(cat "$dir/probe.out")"

# ------------------------------------------------------------ -q, parallel
probe -q dane-one.test dane-two.test unsigned.test bogus-tlsa.test 75
if [ "$(grep -c . "$dir/probe.out")" = 4 ] &&
	grep -q "^dane-two\.test: mx1\.dane-two\.test\[$two1\]:25 verified: .*EXPIRES SOON$" "$dir/probe.out" &&
	grep -q "^dane-two\.test: mx2\.dane-two\.test\[$two2\]:25 no-match: " "$dir/probe.out" &&
	grep -q "^dane-two\.test: mx2\.dane-two\.test\[fd00::2\]:25 unreachable: " "$dir/probe.out" &&
	grep -q "^bogus-tlsa\.test: TEMP " "$dir/probe.out"; then
	pass "probe -q: the four problems, each on a line of its own"
else
	fail "probe -q: $(cat "$dir/probe.out")"
fi
printf 'dane-one.test\ndane-two.test\ndane-usages.test\nmixed.test\nsts-invalid.test\n' >"$dir/many.txt"
t0=$(date +%s.%N)
$DANEMAP -c "$dir/bed.conf" probe -f "$dir/many.txt" >"$dir/parallel.out" 2>&1
rc1=$?
t1=$(date +%s.%N)
{ cat "$dir/bed.conf"; echo "probe_connections = 1"; } >"$dir/serial.conf"
$PLAIN -c "$dir/serial.conf" probe -f "$dir/many.txt" >"$dir/serial.out" 2>&1
rc2=$?
t2=$(date +%s.%N)
# for the record, not judged: what parallel probing saved
[ -z "${DANEMAP_WRAPPER:-}" ] && echo "note: 5 keys, 9 addresses: $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s with probe_connections = 8, $(awk "BEGIN { printf \"%.2f\", $t2 - $t1 }") s with 1"
# the days left may differ by one across midnight: compare without them
if [ $rc1 = 65 ] && [ $rc2 = 65 ] && [ "$(grep -c '^  ' "$dir/serial.out")" -ge 9 ] &&
	[ "$(sed 's/([0-9]* days)//' "$dir/parallel.out")" = "$(sed 's/([0-9]* days)//' "$dir/serial.out")" ]; then
	pass "parallel probing: the same results, in the same order, as one at a time"
else
	fail "parallel vs serial: $rc1 $rc2: $(diff "$dir/serial.out" "$dir/parallel.out")"
fi

# servers that accept the connection and never greet: unreachable once
# probe_timeout has passed. The server writes how many probe connections
# it holds after each change, so the test sees how many were open at once.
s1=$(a_of implicit.test implicit.test)
s2=$(a_of mx1.noaddr-mixed.test noaddr-mixed.test)
s3=$(a_of plain.dane-hosts.test dane-hosts.test) # cname-original.test's
python3 - "$dir/silent.up" "$dir/silent.log" "$s1" "$s2" "$s3" <<'EOF' &
import select, socket, sys
listeners, conns = [], []
for a in sys.argv[3:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 25))
    s.listen(16)
    listeners.append(s)
log = open(sys.argv[2], "a")
open(sys.argv[1], "w").close()
while True:
    ready, _, _ = select.select(listeners + conns, [], [], 600)
    if not ready:
        break
    # closes first: a probe closes one connection before it opens the
    # next, and both may be seen in one round
    for s in sorted(ready, key=lambda s: s in listeners):
        if s in listeners:
            conns.append(s.accept()[0])  # and never a word
        elif not s.recv(512):
            conns.remove(s)
            s.close()
        else:
            continue
        log.write("%d\n" % len(conns))
        log.flush()
EOF
silent=$!
i=0
while [ ! -e "$dir/silent.up" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
for n in 3 1; do
	# under valgrind the three threads take a while to start: time enough
	ms=1000 cmd=$PLAIN
	[ $n = 3 ] && ms=$((1000 * TIME_SCALE)) cmd=$DANEMAP
	{ cat "$dir/bed.conf"; echo "probe_timeout = $ms"; echo "probe_connections = $n"; } >"$dir/silent.conf"
	from=$(($(wc -l <"$dir/silent.log") + 1))
	t0=$(date +%s.%N)
	$cmd -c "$dir/silent.conf" probe implicit.test noaddr-mixed.test cname-original.test >"$dir/probe.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	i=0 # until the server has seen every connection close
	while [ "$(tail -n 1 "$dir/silent.log")" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	most=$(tail -n +"$from" "$dir/silent.log" | sort -n | tail -n 1)
	[ -z "${DANEMAP_WRAPPER:-}" ] && echo "note: 3 silent servers, probe_timeout $ms ms: $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s with probe_connections = $n"
	if [ $rc = 69 ] && [ "$(grep -c " unreachable: no SMTP greeting within $ms ms\$" "$dir/probe.out")" = 3 ] &&
		[ "$most" = $n ]; then
		pass "no greeting: unreachable, exit 69; $n connections at once with probe_connections = $n"
	else
		fail "no greeting (probe_connections = $n): exit $rc, $most at once: $(cat "$dir/probe.out")"
	fi
done
kill $silent 2>/dev/null

# 65 keys: two batches, the worst status over both
{ i=0; while [ $i -lt 64 ]; do echo dane-one.test; i=$((i + 1)); done; echo bogus-tlsa.test; } >"$dir/65.txt"
# 64 lookups at once on a machine busy with other tests: time enough
scale_conf "$TESTBED_CONF" "$dir/65.conf" 5000 15000
$PLAIN -c "$dir/65.conf" probe -f "$dir/65.txt" >"$dir/probe.out" 2>&1
rc=$?
[ $rc = 75 ] && [ "$(grep -c '^dane-one\.test: OK dane-only$' "$dir/probe.out")" = 64 ] &&
	[ "$(grep -c '^  mx1\.dane-one\.test\[.*verified' "$dir/probe.out")" = 64 ] &&
	[ "$(tail -n 1 "$dir/probe.out" | cut -c1-21)" = "bogus-tlsa.test: TEMP" ] &&
	pass "65 keys (two batches): every key, in order, exit 75" ||
	fail "65 keys: exit $rc: $(tail -n 5 "$dir/probe.out")"

# the warner: contrib/danemap-probe.cron's command, paths made the test's
# and logger sending to a socket of the test's instead of /dev/log
line=$(grep -v '^#' "$top_srcdir/contrib/danemap-probe.cron" | cut -f3-)
printf 'dane-one.test\ndane-two.test\nbogus-tlsa.test\n' >"$dir/probe.list"
cmd=$(printf '%s\n' "$line" |
	sed -e "s|/usr/local/bin/danemap -c /etc/danemap/danemap.conf|$PLAIN -c $dir/bed.conf|" \
		-e "s|/etc/danemap/probe.list|$dir/probe.list|" \
		-e "s|logger |logger -u $dir/log.sock |")
python3 - "$dir/log.sock" "$dir/syslog.txt" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as out:
    try:
        while True:
            out.write(s.recv(4096).decode(errors="replace") + "\n")
            out.flush()
    except socket.timeout:
        pass
EOF
logpid=$!
i=0
while [ ! -S "$dir/log.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
sh -c "$cmd"
i=0
while [ "$(grep -c . "$dir/syslog.txt" 2>/dev/null)" -lt 4 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill $logpid 2>/dev/null
# syslog PRI: mail (2) * 8 + warning (4) = 20
if [ "$(grep -c . "$dir/syslog.txt")" = 4 ] &&
	grep -q "^<20>.*danemap-probe: dane-two\.test: mx2\.dane-two\.test\[$two2\]:25 no-match: " "$dir/syslog.txt" &&
	grep -q "^<20>.*danemap-probe: dane-two\.test: .*EXPIRES SOON$" "$dir/syslog.txt" &&
	grep -q "^<20>.*danemap-probe: bogus-tlsa\.test: TEMP " "$dir/syslog.txt" &&
	! grep -q "dane-one" "$dir/syslog.txt"; then
	pass "contrib's cron line: each problem one syslog line, mail.warning"
else
	fail "contrib's cron line: $(cat "$dir/syslog.txt")"
fi

# nothing but QUIT after the handshake: no mail was sent
if grep -q "from=<" "$dir/maillog"; then
	fail "a probe sent mail: $(grep 'from=<' "$dir/maillog")"
else
	pass "no probe sent mail"
fi
pf_stop
finish
