#!/bin/sh
# testbed.sh: the hermetic signed DNS test bed.
#
#   testbed.sh start DIR [ADDR [PORT]]   build and serve the tree (default
#                                        127.0.0.1, port 5353)
#   testbed.sh stop DIR                  stop what start/fault started
#   testbed.sh fault DIR NAME PORT ARGS  start faultdns.py on ADDR:PORT in
#                                        front of NSD (ARGS: --default
#                                        ACTION, --rule SUFFIX=ACTION ...)
#                                        and write DIR/danemap-NAME.conf
#   testbed.sh resign DIR ZONE           re-sign ZONE after editing
#                                        DIR/zones/ZONE.zone, reload NSD
#
# It builds, in DIR, a DNS tree with its own root: "." -> "test." -> one
# child zone per case (tests/testbed/cases.txt), signs every zone that is
# meant to be signed (ECDSAP256SHA256, valid from a day ago to 30 days
# ahead, so clock skew never matters), puts DS records in the parents
# (none for the deliberately unsigned delegations), and serves every zone
# from one NSD on ADDR@PORT. Each DANE host gets its own 127.0.1.x address
# and a real self-signed certificate (DIR/certs/HOST.{key,pem}); its TLSA
# record is the SHA2-256 of that certificate's SubjectPublicKeyInfo.
#
# Files for the tests: DIR/root.key (the root DS, the trust anchor),
# DIR/danemap.conf (stub resolution to the bed), DIR/env (shell variables
# TESTBED_DIR, TESTBED_ADDR, TESTBED_PORT, TESTBED_CONF, TESTBED_ANCHOR).
# Only names under test. and addresses in 127.0.0.0/8 are used.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "testbed.sh: $*" >&2
	exit 1
}

# ------------------------------------------------------------ certificates

# cert HOST: make DIR/certs/HOST.{key,pem}; print the 3 1 1 digest.
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -subj "/CN=$1" -days 3650 \
		-keyout "$dir/certs/$1.key" -out "$dir/certs/$1.pem" 2>/dev/null
	openssl x509 -in "$dir/certs/$1.pem" -pubkey -noout |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -hex | sed 's/.*= *//'
}

# ------------------------------------------------------------ zones

SOA="3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300"

# zone NAME: start DIR/zones/NAME.zone with SOA and NS.
zone() {
	z=$1
	printf '%s. %s\n%s. 3600 IN NS ns.test.\n' "$z" "$SOA" "$z" \
		>"$dir/zones/$z.zone"
}

# rr ZONE RECORD...: append a record line to ZONE's file.
rr() {
	z=$1
	shift
	echo "$*" >>"$dir/zones/$z.zone"
}

# sign ZONE [INCEPTION EXPIRATION]: key, sign; DS into DIR/zones/ZONE.ds
sign() {
	z=$1
	inception=${2:-$(date -u -d '1 day ago' +%Y%m%d%H%M%S)}
	expiration=${3:-$(date -u -d '30 days' +%Y%m%d%H%M%S)}
	origin=$z
	[ "$z" = root ] && origin=.
	(
		cd "$dir/keys"
		if [ ! -f "$z.keyname" ]; then
			ldns-keygen -a ECDSAP256SHA256 -k "$origin" >"$z.keyname"
		fi
		k=$(cat "$z.keyname")
		ldns-signzone -i "$inception" -e "$expiration" -o "$origin" \
			-f "$dir/zones/$z.signed" "$dir/zones/$z.zone" "$k"
		cp "$k.ds" "$dir/zones/$z.ds"
	)
}

build_zones() {
	mkdir -p "$dir/zones" "$dir/keys" "$dir/certs" "$dir/state"
	n=0
	# next_addr: a fresh 127.0.1.x for each host
	next_addr() {
		n=$((n + 1))
		addr_out="127.0.1.$n"
	}

	# dane-one.test: one MX host, usable 3 1 1 TLSA (also on port 587)
	zone dane-one.test
	next_addr
	rr dane-one.test "dane-one.test. 3600 IN MX 10 mx1.dane-one.test."
	rr dane-one.test "mx1.dane-one.test. 3600 IN A $addr_out"
	h=$(cert mx1.dane-one.test)
	rr dane-one.test "_25._tcp.mx1.dane-one.test. 3600 IN TLSA 3 1 1 $h"
	rr dane-one.test "_587._tcp.mx1.dane-one.test. 3600 IN TLSA 3 1 1 $h"

	# dane-two.test: two MX hosts, both with usable TLSA; one with AAAA
	zone dane-two.test
	rr dane-two.test "dane-two.test. 3600 IN MX 10 mx1.dane-two.test."
	rr dane-two.test "dane-two.test. 3600 IN MX 20 mx2.dane-two.test."
	for m in mx1 mx2; do
		next_addr
		rr dane-two.test "$m.dane-two.test. 3600 IN A $addr_out"
		h=$(cert $m.dane-two.test)
		rr dane-two.test "_25._tcp.$m.dane-two.test. 3600 IN TLSA 3 1 1 $h"
	done
	rr dane-two.test "mx2.dane-two.test. 3600 IN AAAA fd00::2"

	# mixed.test: one host with TLSA, one without
	zone mixed.test
	rr mixed.test "mixed.test. 3600 IN MX 10 mx1.mixed.test."
	rr mixed.test "mixed.test. 3600 IN MX 20 mx2.mixed.test."
	next_addr
	rr mixed.test "mx1.mixed.test. 3600 IN A $addr_out"
	h=$(cert mx1.mixed.test)
	rr mixed.test "_25._tcp.mx1.mixed.test. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr mixed.test "mx2.mixed.test. 3600 IN A $addr_out"

	# unsigned.test: delegation without DS, even with TLSA
	zone unsigned.test
	next_addr
	rr unsigned.test "unsigned.test. 3600 IN MX 10 mx1.unsigned.test."
	rr unsigned.test "mx1.unsigned.test. 3600 IN A $addr_out"
	rr unsigned.test "_25._tcp.mx1.unsigned.test. 3600 IN TLSA 3 1 1 $h"

	# insecure-hosts.test: unsigned zone holding an MX host (with TLSA)
	zone insecure-hosts.test
	next_addr
	rr insecure-hosts.test "mx.insecure-hosts.test. 3600 IN A $addr_out"
	rr insecure-hosts.test "_25._tcp.mx.insecure-hosts.test. 3600 IN TLSA 3 1 1 $h"
	# mx-unsigned.test: signed domain, MX host in the unsigned zone
	zone mx-unsigned.test
	rr mx-unsigned.test "mx-unsigned.test. 3600 IN MX 10 mx.insecure-hosts.test."

	# dane-hosts.test: signed zone of hosts other domains point at
	zone dane-hosts.test
	next_addr
	rr dane-hosts.test "mx1.dane-hosts.test. 3600 IN A $addr_out"
	h=$(cert mx1.dane-hosts.test)
	rr dane-hosts.test "_25._tcp.mx1.dane-hosts.test. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr dane-hosts.test "target.dane-hosts.test. 3600 IN A $addr_out"
	h=$(cert target.dane-hosts.test)
	rr dane-hosts.test "_25._tcp.target.dane-hosts.test. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr dane-hosts.test "plain.dane-hosts.test. 3600 IN A $addr_out"
	# unsigned-to-dane.test: unsigned domain, MX host signed with TLSA
	zone unsigned-to-dane.test
	rr unsigned-to-dane.test "unsigned-to-dane.test. 3600 IN MX 10 mx1.dane-hosts.test."

	# cname-target.test: MX host is a CNAME into dane-hosts.test, TLSA
	# only at the target
	zone cname-target.test
	rr cname-target.test "cname-target.test. 3600 IN MX 10 mx.cname-target.test."
	rr cname-target.test "mx.cname-target.test. 3600 IN CNAME target.dane-hosts.test."
	# cname-original.test: CNAME to a host without TLSA; TLSA only at
	# the original name (RFC 7672 §2.2.2 fallback)
	zone cname-original.test
	rr cname-original.test "cname-original.test. 3600 IN MX 10 mx.cname-original.test."
	rr cname-original.test "mx.cname-original.test. 3600 IN CNAME plain.dane-hosts.test."
	h=$(cert mx.cname-original.test)
	rr cname-original.test "_25._tcp.mx.cname-original.test. 3600 IN TLSA 3 1 1 $h"

	# bogus-mx.test and bogus-tlsa.test: edited after signing
	zone bogus-mx.test
	next_addr
	rr bogus-mx.test "bogus-mx.test. 3600 IN MX 10 mx1.bogus-mx.test."
	rr bogus-mx.test "mx1.bogus-mx.test. 3600 IN A $addr_out"
	h=$(cert mx1.bogus-mx.test)
	rr bogus-mx.test "_25._tcp.mx1.bogus-mx.test. 3600 IN TLSA 3 1 1 $h"
	zone bogus-tlsa.test
	next_addr
	rr bogus-tlsa.test "bogus-tlsa.test. 3600 IN MX 10 mx1.bogus-tlsa.test."
	rr bogus-tlsa.test "mx1.bogus-tlsa.test. 3600 IN A $addr_out"
	h=$(cert mx1.bogus-tlsa.test)
	rr bogus-tlsa.test "_25._tcp.mx1.bogus-tlsa.test. 3600 IN TLSA 3 1 1 $h"

	# expired.test: signatures expired yesterday
	zone expired.test
	next_addr
	rr expired.test "expired.test. 3600 IN MX 10 mx1.expired.test."
	rr expired.test "mx1.expired.test. 3600 IN A $addr_out"
	rr expired.test "_25._tcp.mx1.expired.test. 3600 IN TLSA 3 1 1 $h"

	# implicit.test: no MX, the domain's own A and TLSA
	zone implicit.test
	next_addr
	rr implicit.test "implicit.test. 3600 IN A $addr_out"
	h=$(cert implicit.test)
	rr implicit.test "_25._tcp.implicit.test. 3600 IN TLSA 3 1 1 $h"

	# nullmx.test: RFC 7505 null MX
	zone nullmx.test
	rr nullmx.test "nullmx.test. 3600 IN MX 0 ."

	# unusable.test: only records SMTP cannot use
	zone unusable.test
	next_addr
	rr unusable.test "unusable.test. 3600 IN MX 10 mx1.unusable.test."
	rr unusable.test "mx1.unusable.test. 3600 IN A $addr_out"
	short=$(echo "$h" | cut -c1-62)
	for t in "0 1 1 $h" "1 1 1 $h" "3 7 1 $h" "3 1 9 $h" "3 1 1 $short"; do
		rr unusable.test "_25._tcp.mx1.unusable.test. 3600 IN TLSA $t"
	done

	# noaddr-mixed.test: one MX host without any address, one DANE host
	zone noaddr-mixed.test
	rr noaddr-mixed.test "noaddr-mixed.test. 3600 IN MX 10 gone.noaddr-mixed.test."
	rr noaddr-mixed.test "noaddr-mixed.test. 3600 IN MX 20 mx1.noaddr-mixed.test."
	rr noaddr-mixed.test "gone.noaddr-mixed.test. 3600 IN TXT \"no address here\""
	next_addr
	rr noaddr-mixed.test "mx1.noaddr-mixed.test. 3600 IN A $addr_out"
	h=$(cert mx1.noaddr-mixed.test)
	rr noaddr-mixed.test "_25._tcp.mx1.noaddr-mixed.test. 3600 IN TLSA 3 1 1 $h"
	# noaddr.test: the only MX host does not exist
	zone noaddr.test
	rr noaddr.test "noaddr.test. 3600 IN MX 10 gone.noaddr.test."

	# sign the children, then test. with their DS, then the root
	signed="dane-one.test dane-two.test mixed.test mx-unsigned.test
		dane-hosts.test cname-target.test cname-original.test
		bogus-mx.test bogus-tlsa.test implicit.test nullmx.test
		unusable.test noaddr-mixed.test noaddr.test"
	unsigned="unsigned.test insecure-hosts.test unsigned-to-dane.test"
	for z in $signed; do sign "$z"; done
	sign expired.test "$(date -u -d '40 days ago' +%Y%m%d%H%M%S)" \
		"$(date -u -d '1 day ago' +%Y%m%d%H%M%S)"
	for z in $unsigned; do cp "$dir/zones/$z.zone" "$dir/zones/$z.signed"; done

	# break the two bogus zones: data changed after signing
	sed -i 's/^\(bogus-mx\.test\.[[:space:]].*MX[[:space:]]*10[[:space:]]*\)mx1/\1mx9/' \
		"$dir/zones/bogus-mx.test.signed"
	sed -i -E 's/^(_25\._tcp\.mx1\.bogus-tlsa\.test\.[[:space:]].*TLSA[[:space:]]+3 1 1 )[0-9A-Fa-f]{64}/\1'"$(printf '%064d' 0)"'/' \
		"$dir/zones/bogus-tlsa.test.signed"
	grep -q 'mx9' "$dir/zones/bogus-mx.test.signed" || die "could not break bogus-mx.test"
	grep -q "$(printf '%064d' 0)" "$dir/zones/bogus-tlsa.test.signed" ||
		die "could not break bogus-tlsa.test"

	printf 'test. %s\ntest. 3600 IN NS ns.test.\nns.test. 3600 IN A %s\n' \
		"$SOA" "$addr" >"$dir/zones/test.zone"
	for z in $signed expired.test $unsigned; do
		rr test "$z. 3600 IN NS ns.test."
	done
	for z in $signed expired.test; do cat "$dir/zones/$z.ds" >>"$dir/zones/test.zone"; done
	sign test

	printf '. %s\n. 3600 IN NS ns.test.\ntest. 3600 IN NS ns.test.\nns.test. 3600 IN A %s\n' \
		"$SOA" "$addr" >"$dir/zones/root.zone"
	cat "$dir/zones/test.ds" >>"$dir/zones/root.zone"
	sign root
	cp "$dir/zones/root.ds" "$dir/root.key"
	echo "$signed expired.test $unsigned" >"$dir/zones/list"
}

write_nsd_conf() {
	cat >"$dir/nsd.conf" <<EOF
server:
	ip-address: $addr@$port
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$dir/zones"
	pidfile: "$dir/nsd.pid"
	database: ""
	xfrdfile: "$dir/nsd.xfrd"
	zonelistfile: "$dir/nsd.zonelist"
	logfile: "$dir/nsd.log"
	verbosity: 1
	server-count: 1
	hide-version: yes
	refuse-any: yes
	# a test bed gets bursts of identical queries from one address:
	# response rate limiting would drop or truncate them
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "."
	zonefile: "root.signed"
zone:
	name: "test"
	zonefile: "test.signed"
EOF
	for z in $(cat "$dir/zones/list"); do
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.signed"\n' "$z" "$z" \
			>>"$dir/nsd.conf"
	done
}

wait_for_nsd() {
	i=0
	while [ $i -lt 50 ]; do
		if dig +short +time=1 +tries=1 -p "$port" @"$addr" SOA . 2>/dev/null |
			grep -q hostmaster; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

start() {
	[ -d "$dir" ] || mkdir -p "$dir"
	build_zones
	write_nsd_conf
	nsd -c "$dir/nsd.conf" || die "nsd did not start (see $dir/nsd.log)"
	wait_for_nsd || die "nsd does not answer on $addr@$port (see $dir/nsd.log)"
	cat >"$dir/danemap.conf" <<EOF
# written by testbed.sh: stub resolution to the signed test bed
resolution = stub
upstream = $addr@$port
trust_anchor_file = $dir/root.key
query_timeout = 1000
lookup_deadline = 3000
state_dir = $dir/state
cache_file = $dir/state/cache.cdb
log_level = debug
EOF
	cat >"$dir/env" <<EOF
TESTBED_DIR='$dir'
TESTBED_ADDR='$addr'
TESTBED_PORT='$port'
TESTBED_CONF='$dir/danemap.conf'
TESTBED_ANCHOR='$dir/root.key'
EOF
}

stop() {
	for pidfile in "$dir"/nsd.pid "$dir"/fault-*.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
}

fault() {
	name=$1 fport=$2
	shift 2
	. "$dir/env"
	python3 "$here/faultdns.py" --listen "$TESTBED_ADDR:$fport" \
		--upstream "$TESTBED_ADDR:$TESTBED_PORT" \
		--pidfile "$dir/fault-$name.pid" "$@" \
		>"$dir/fault-$name.log" 2>&1 &
	i=0
	while [ ! -s "$dir/fault-$name.pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$dir/fault-$name.pid" ] || die "faultdns $name did not start"
	sed "s/^upstream = .*/upstream = $TESTBED_ADDR@$fport/" "$TESTBED_CONF" \
		>"$dir/danemap-$name.conf"
}

resign() {
	z=$1
	. "$dir/env"
	addr=$TESTBED_ADDR port=$TESTBED_PORT
	sign "$z"
	pid=$(cat "$dir/nsd.pid")
	kill -HUP "$pid" # NSD re-reads its zone files
	sleep 0.5
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: testbed.sh start|stop|fault|resign DIR ..."
case "$dir" in /*) ;; *) dir=$(pwd)/$dir ;; esac
case "$cmd" in
start)
	addr=${3:-127.0.0.1}
	port=${4:-5353}
	start
	;;
stop) stop ;;
fault)
	[ $# -ge 4 ] || die "usage: testbed.sh fault DIR NAME PORT ARGS..."
	shift 2
	fault "$@"
	;;
resign)
	[ $# -eq 3 ] || die "usage: testbed.sh resign DIR ZONE"
	resign "$3"
	;;
*) die "unknown command $cmd" ;;
esac
