#!/bin/sh
# probe.sh: `danemap probe` against real SMTP servers: Postfix smtpd
# listeners (tests/integration/postfixbed.sh) on the test bed's MX
# addresses, inside the private network namespace, presenting the
# certificates the bed's TLSA records were made from, or others:
#  - dane-one.test: the right certificate: verified (3 1 1 at depth 0),
#    exit 0;
#  - dane-two.test: mx1 right but its certificate (same key, so the 3 1 1
#    record still matches) expires in 3 days: verified and flagged; mx2
#    serving another host's certificate (no-match), mx2's IPv6 address
#    unreachable: exit 65;
#  - mixed.test (policy dane): mx1, the host with TLSA, offers no
#    STARTTLS (no-starttls); mx2 has no TLSA and is not probed: exit 65;
#  - [mx1.dane-hosts.test]: nothing listens there: unreachable, exit 69;
#  - unsigned.test: no DANE policy, nothing probed: exit 1;
#  - bogus-tlsa.test: the policy is TEMP: exit 75; several keys: the
#    worst status; keys from -f lists; -j's JSON, parsed;
#  - -C, the rollover check without connecting: dane-one.test's records
#    accept its certificate and reject another host's.
# Skipped (exit 77) without a private namespace, root, or Postfix.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/postfixbed.sh"
pf_available || exit 77
testbed_up probe
scale_conf "$TESTBED_CONF" "$dir/bed.conf" # lookups slower under valgrind

# a_of HOST ZONE: the A record of HOST in the bed
a_of() {
	sed -n "s/^$1\. [0-9]* IN A //p" "$dir/zones/$2.zone"
}
c="$dir/certs"
# mx1.dane-two.test's key in a certificate that expires in 3 days
openssl req -x509 -key "$c/mx1.dane-two.test.key" -subj /CN=mx1.dane-two.test \
	-days 3 -out "$c/mx1.dane-two.test.3days.pem" 2>/dev/null
pf_prepare
{
	smtpd="inet n - n - - smtpd -o smtpd_tls_security_level=may"
	one=$(a_of mx1.dane-one.test dane-one.test)
	echo "$one:25 $smtpd -o smtpd_tls_cert_file=$c/mx1.dane-one.test.pem -o smtpd_tls_key_file=$c/mx1.dane-one.test.key"
	two1=$(a_of mx1.dane-two.test dane-two.test)
	echo "$two1:25 $smtpd -o smtpd_tls_cert_file=$c/mx1.dane-two.test.3days.pem -o smtpd_tls_key_file=$c/mx1.dane-two.test.key"
	two2=$(a_of mx2.dane-two.test dane-two.test)
	echo "$two2:25 $smtpd -o smtpd_tls_cert_file=$c/mx1.dane-one.test.pem -o smtpd_tls_key_file=$c/mx1.dane-one.test.key"
	mixed=$(a_of mx1.mixed.test mixed.test)
	echo "$mixed:25 inet n - n - - smtpd -o smtpd_tls_security_level=none"
} >>"$pf/master.cf"
cleanup_more() { pf_stop; }
pf_start

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
	$DANEMAP -c "$dir/bed.conf" probe $keys >"$dir/probe.out" 2>&1
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
	pass "dane-two.test: mx1 verified, mx2 no-match, its IPv6 address unreachable" ||
	fail "dane-two.test: $(cat "$dir/probe.out")"
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
probe unsigned.test dane-one.test 0
probe dane-one.test "[mx1.dane-hosts.test]" 69
probe "[mx1.dane-hosts.test]" dane-two.test 65
probe dane-two.test bogus-tlsa.test unsigned.test 75
# -C: would the records accept this certificate? (no connection made)
probe -C "$c/mx1.dane-one.test.pem" dane-one.test 0 \
	"  mx1.dane-one.test: accepts: TLSA 3 1 1 matches at depth 0"
probe -C "$c/mx1.dane-two.test.pem" dane-one.test 65
grep -q "^  mx1\.dane-one\.test: rejects: " "$dir/probe.out" &&
	pass "-C with another host's certificate: rejected" ||
	fail "-C with another host's certificate: $(cat "$dir/probe.out")"
$DANEMAP -c "$dir/bed.conf" probe -C "$dir/keys-none.pem" dane-one.test >/dev/null 2>&1
rc=$?
[ $rc = 66 ] && pass "-C without a certificate file: exit 66" ||
	fail "-C without a certificate file: exit $rc"
# keys from a list (- is standard input), as warm reads them
printf '# DANE domains\ndane-one.test\n\nunsigned.test\n' >"$dir/keys.txt"
probe -f "$dir/keys.txt" 0 "dane-one.test: OK dane-only" "unsigned.test: NOTFOUND "
echo dane-two.test | $DANEMAP -c "$dir/bed.conf" probe -f - >"$dir/probe.out" 2>&1
rc=$?
[ $rc = 65 ] && grep -q "^dane-two.test: OK dane-only$" "$dir/probe.out" &&
	pass "probe -f -: keys from standard input" ||
	fail "probe -f -: exit $rc: $(cat "$dir/probe.out")"
$DANEMAP -c "$dir/bed.conf" probe -f "$dir/no-such-list" >/dev/null 2>&1
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
$DANEMAP -c "$dir/bed.conf" probe >/dev/null 2>&1
rc=$?
[ $rc = 64 ] && pass "probe without a key: exit 64" ||
	fail "probe without a key: exit $rc"
# nothing but QUIT after the handshake: no mail was sent
if grep -q "from=<" "$dir/maillog"; then
	fail "a probe sent mail: $(grep 'from=<' "$dir/maillog")"
else
	pass "no probe sent mail"
fi
pf_stop
finish
