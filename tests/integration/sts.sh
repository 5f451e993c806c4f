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
. "$(dirname "$0")/common.sh"

STSGET="${DANEMAP_WRAPPER:-} $top_builddir/tests/testbed/stsget"
dir=$(mktemp -d /tmp/danemap-sts.XXXXXX)
hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
addr=127.0.0.1
hport=8443

# ------------------------------------------------------------ the test CA
pki="$dir/pki"
mkdir -p "$pki/newcerts" "$dir/certs"
# ca NAME: a CA of its own in $pki/NAME.{key,pem}, with its database
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1.key" -out "$pki/$1.pem" -days 30 \
		-subj "/CN=danemap test $1" 2>/dev/null
	: >"$pki/$1.index"
	echo 01 >"$pki/$1.serial"
	cat >"$pki/$1.cnf" <<EOC
[ca]
default_ca = tca
[tca]
database = $pki/$1.index
new_certs_dir = $pki/newcerts
serial = $pki/$1.serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
EOC
}
# cert CA NAME FILE [START END]: a certificate for DNS name NAME signed
# by CA, certificate and key in $dir/certs/FILE.pem
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$3.key" -out "$pki/$3.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName = DNS:%s\n' "$2" >"$pki/$3.ext"
	if [ -n "${4:-}" ]; then
		span="-startdate $4 -enddate $5"
	else
		span="-days 30"
	fi
	# shellcheck disable=SC2086
	openssl ca -batch -config "$pki/$1.cnf" -cert "$pki/$1.pem" \
		-keyfile "$pki/$1.key" -in "$pki/$3.csr" -out "$pki/$3.crt" \
		-extfile "$pki/$3.ext" $span >/dev/null 2>&1 || return 1
	cat "$pki/$3.crt" "$pki/$3.key" >"$dir/certs/$3.pem"
}
ca ca
ca otherca
cert ca mta-sts.elsewhere.test default
for d in good charset redirect notfound html big slow badversion maxage \
	nomx inject; do
	cert ca "mta-sts.$d.test" "mta-sts.$d.test"
done
cert ca mta-sts.expired.test mta-sts.expired.test 20200101000000Z 20200201000000Z
cert otherca mta-sts.unknownca.test mta-sts.unknownca.test
# wrongname.test has no certificate of its own: the default one's name

# ------------------------------------------------------------ the sites
# site DOMAIN BODY [FILE=VALUE...]
site() {
	s="$dir/sites/mta-sts.$1.test"
	mkdir -p "$s"
	printf '%b' "$2" >"$s/body"
	shift 2
	for kv in "$@"; do printf '%s' "${kv#*=}" >"$s/${kv%%=*}"; done
}
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
mkdir -p "$dir/sites/mta-sts.big.test"
{
	printf 'version: STSv1\nmode: none\nmax_age: 60\n'
	head -c 70000 /dev/zero | tr '\0' 'x' | fold -w 60 | sed 's/^/x-pad: /'
} >"$dir/sites/mta-sts.big.test/body"

python3 "$top_srcdir/tests/testbed/httpsd.py" $addr $hport "$dir" \
	>"$dir/httpsd.out" 2>"$dir/httpsd.log" &
hpid=$!
i=0
while ! grep -q listening "$dir/httpsd.out" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

# expect DOMAIN WANT [stsget options]: stsget's line for DOMAIN holds WANT,
# and it exits 0 for a policy, 1 for none (anything else, say valgrind's
# 99, is a failure of its own)
expect() {
	d=$1 want=$2
	shift 2
	got=$($STSGET -c "$pki/ca.pem" "$@" "$d" $addr $hport 2>&1)
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
got=$($STSGET -c "$pki/ca.pem" -t $t good.test $addr 9 2>&1)
case "$got" in
*"status=network"*"failure=sts-policy-fetch-error"*) pass "nothing listening: status=network" ;;
*) fail "nothing listening: $got" ;;
esac
# the system's CA store does not know the test CA
expect good.test "status=webpki" -c "" -t $t
finish
