#!/bin/sh
# postfix.sh: real Postfix delivery under an MTA-STS policy from danemapd.
# One Postfix instance, run by its own master inside the private network
# namespace, plays both sides:
#  - the sender: mail is handed to its smtpd on 127.0.0.1:10025, and its
#    smtp client (chrooted in the queue directory, whose etc/resolv.conf
#    names the test bed's NSD) asks danemapd through
#    smtp_tls_policy_maps = socketmap:inet:...:tlspolicy, trusting the
#    test CA (smtp_tls_CAfile);
#  - the receiving MX hosts: smtpd on each MX address, port 25 (of this
#    namespace, never the host's), which discard what they accept.
# sts-enforce.test's MX presents a certificate from the test CA for its own
# name: the mail is delivered over a verified TLS connection. The MX of
# sts-unsigned.test presents a certificate from the same CA for another
# name, which the policy's mx patterns do not match: the mail is deferred,
# and never delivered in clear.
# Skipped (exit 77) without a private namespace, root, or Postfix.
. "$(dirname "$0")/common.sh"

. "$(dirname "$0")/postfixbed.sh"
pf_available || exit 77
testbed_up postfix
addr=$TESTBED_ADDR
. "$(dirname "$0")/stsbed.sh"

# ------------------------------------------------------------ PKI, policies
ca ca || pki_failed "CA"
cert ca mta-sts.elsewhere.test default || pki_failed default
for d in sts-enforce sts-unsigned; do
	cert ca "mta-sts.$d.test" "mta-sts.$d.test" || pki_failed "$d"
	site $d "version: STSv1\nmode: enforce\nmx: mx1.$d.test\nmx: *.$d.test\nmax_age: 86400\n"
done
# the MX certificates: the right name, and another name
cert ca mx1.sts-enforce.test mx-good || pki_failed "MX"
cert ca mx1.elsewhere.test mx-wrong || pki_failed "MX, wrong name"
chmod 755 "$pki"
httpsd_start

# mx_addr ZONE: the address of mx1.ZONE in the test bed
mx_addr() {
	sed -n "s/^mx1\.$1\. [0-9]* IN A //p" "$dir/zones/$1.zone"
}
good_mx=$(mx_addr sts-enforce.test)
wrong_mx=$(mx_addr sts-unsigned.test)
if [ -z "$good_mx" ] || [ -z "$wrong_mx" ]; then
	fail "no MX addresses in the test bed's zones"
	finish
	exit 1
fi

# ------------------------------------------------------------ danemapd
sport=10026
scale_conf "$TESTBED_CONF" "$dir/bed.conf"
{
	grep -v '^log_level' "$dir/bed.conf"
	echo "log_level = info"
	echo "listen = inet:127.0.0.1:$sport"
	echo "listen = unix:$dir/danemapd.sock"
	echo "mta_sts_ca_file = $pki/ca.pem"
	echo "mta_sts_port = $hport"
	echo "mta_sts_timeout = $((5000 * TIME_SCALE))"
} >"$dir/d.conf"
if ! daemon_start "$dir/d.conf" "$dir/danemapd.sock" "$dir/danemapd.log"; then
	fail "danemapd did not start: $(cat "$dir/danemapd.log")"
	finish
	exit 1
fi

# ------------------------------------------------------------ Postfix
pf_prepare
cat >>"$pf/main.cf" <<EOF
smtp_tls_security_level = may
smtp_tls_CAfile = $pki/ca.pem
smtp_tls_loglevel = 1
smtp_tls_policy_maps = socketmap:inet:127.0.0.1:$sport:tlspolicy
smtp_connect_timeout = 5s
EOF
cat >>"$pf/master.cf" <<EOF
127.0.0.1:10025 inet n - n - - smtpd
$good_mx:25 inet n - n - - smtpd -o myhostname=mx1.sts-enforce.test -o content_filter=discard: -o smtpd_tls_security_level=may -o smtpd_tls_cert_file=$pki/mx-good.crt -o smtpd_tls_key_file=$pki/mx-good.key
$wrong_mx:25 inet n - n - - smtpd -o myhostname=mx1.sts-unsigned.test -o content_filter=discard: -o smtpd_tls_security_level=may -o smtpd_tls_cert_file=$pki/mx-wrong.crt -o smtpd_tls_key_file=$pki/mx-wrong.key
EOF
cleanup_more() {
	pf_stop
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
}
pf_start

# send RCPT: hand a message for RCPT to the sending side; it must be
# accepted
send() {
	if python3 - "$1" 2>"$dir/send.err" <<'EOF'; then
import smtplib, sys
with smtplib.SMTP("127.0.0.1", 10025, timeout=30) as s:
    s.sendmail("sender@danemap.invalid", [sys.argv[1]],
               "Subject: danemap test\r\n\r\nMTA-STS delivery test.\r\n")
EOF
		pass "message for $1 accepted"
	else
		fail "message for $1 not accepted: $(tail -3 "$dir/send.err")"
	fi
}
# wait_log PATTERN: true once the mail log has a line matching PATTERN
wait_log() {
	i=0
	while ! grep -q "$1" "$dir/maillog" 2>/dev/null &&
		[ $i -lt $((300 * TIME_SCALE)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$dir/maillog" 2>/dev/null
}

# the policies, as Postfix's own socketmap client gets them
postmap_setup
for d in sts-enforce sts-unsigned; do
	got=$(postmap_answer "$d.test" "socketmap:inet:127.0.0.1:$sport:tlspolicy")
	want="OK secure match=mx1.$d.test:.$d.test servername=hostname"
	[ "$got" = "$want" ] && pass "postmap -q $d.test: $got" ||
		fail "postmap -q $d.test: wanted '$want', got '$got'"
done

send user@sts-enforce.test
if wait_log "to=<user@sts-enforce.test>, relay=mx1.sts-enforce.test\[$good_mx\]:25.* status=sent"; then
	pass "sts-enforce.test: delivered to its MX"
else
	fail "sts-enforce.test: not delivered: $(grep -i 'sts-enforce\|TLS\|warning\|error' "$dir/maillog")"
fi
if grep -q "Verified TLS connection established to mx1.sts-enforce.test\[$good_mx\]:25" "$dir/maillog"; then
	pass "sts-enforce.test: over a verified TLS connection (policy 'secure')"
else
	fail "sts-enforce.test: no verified TLS connection: $(grep 'TLS connection' "$dir/maillog")"
fi

send user@sts-unsigned.test
if wait_log "to=<user@sts-unsigned.test>,.* status=deferred"; then
	pass "sts-unsigned.test: MX certificate outside the policy: deferred"
else
	fail "sts-unsigned.test: not deferred: $(grep -i 'sts-unsigned\|TLS' "$dir/maillog")"
fi
if grep -q "to=<user@sts-unsigned.test>,.* status=sent" "$dir/maillog"; then
	fail "sts-unsigned.test: delivered although its MX does not match the policy"
else
	pass "sts-unsigned.test: never delivered (in clear or otherwise)"
fi
grep -q "server certificate verification failed for mx1.sts-unsigned.test\[$wrong_mx\]:25: .*hostname mismatch" "$dir/maillog" &&
	grep -q "to=<user@sts-unsigned.test>, relay=mx1.sts-unsigned.test\[$wrong_mx\]:25, .*dsn=4.7.5, status=deferred (Server certificate not verified)" "$dir/maillog" &&
	pass "sts-unsigned.test: deferred (4.7.5) for the certificate's name" ||
	fail "sts-unsigned.test: no certificate reason: $(grep sts-unsigned "$dir/maillog")"
pf_stop
daemon_stop || fail "danemapd exit status at stop"
finish
