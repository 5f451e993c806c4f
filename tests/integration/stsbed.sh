# stsbed.sh: sourced by the MTA-STS integration tests after common.sh:
# a test PKI (CAs of their own, made by openssl in $dir/pki) and the HTTPS
# policy server tests/testbed/httpsd.py serving $web on $addr:$hport,
# stopped at exit (cleanup_more). Sourced after testbed_up, addr set.

hport=8443
hpid=
cleanup_more() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null
}

pki="$dir/pki"
web="$dir/https" # httpsd.py's directory
mkdir -p "$pki/newcerts" "$web/certs"
# ca NAME: a CA of its own in $pki/NAME.{key,pem}, with its database
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1.key" -out "$pki/$1.pem" -days 30 \
		-subj "/CN=danemap test $1" 2>/dev/null || return 1
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
# by CA, certificate and key in $web/certs/FILE.pem
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$3.key" -out "$pki/$3.csr" -subj "/CN=$2" 2>/dev/null ||
		return 1
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
	cat "$pki/$3.crt" "$pki/$3.key" >"$web/certs/$3.pem"
}
pki_failed() {
	fail "the test PKI could not be made ($1)"
	finish
	exit 1
}
# site DOMAIN BODY [FILE=VALUE...]
site() {
	s="$web/sites/mta-sts.$1.test"
	mkdir -p "$s"
	printf '%b' "$2" >"$s/body"
	shift 2
	for kv in "$@"; do printf '%s' "${kv#*=}" >"$s/${kv%%=*}"; done
}
# httpsd_start: the policy server on $addr:$hport; the test ends if it
# does not come up
httpsd_start() {
	python3 "$top_srcdir/tests/testbed/httpsd.py" "$addr" $hport "$web" \
		>"$dir/httpsd.out" 2>"$dir/httpsd.log" &
	hpid=$!
	i=0
	while ! grep -q listening "$dir/httpsd.out" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! grep -q listening "$dir/httpsd.out"; then
		fail "httpsd.py did not start: $(cat "$dir/httpsd.log")"
		finish
		exit 1
	fi
}
