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
# It builds, in DIR, a DNS tree with its own root: "." -> "TLD." -> one
# child zone per case (tests/testbed/cases.txt; TLD is $TESTBED_TLD, default
# "test"), signs every zone that is meant to be signed (ECDSAP256SHA256,
# valid from a day ago to 30 days ahead, so clock skew never matters), puts
# DS records in the parents (none for the deliberately unsigned
# delegations), and serves every zone from one NSD on ADDR@PORT. Each DANE
# host gets its own 127.0.1.x address and a real self-signed certificate
# (DIR/certs/HOST.{key,pem}); its TLSA record is the SHA2-256 of that
# certificate's SubjectPublicKeyInfo (3 1 1), except in dane-usages.TLD,
# which has a 3 0 1 record and 2 1 1 records for a CA of the bed's own.
#
# TESTBED_OWN_NS="NAME=ADDR ..." adds, for each entry, a signed zone
# NAME.TLD (one DANE MX host) delegated to its own server ns.NAME.TLD at
# ADDR, where nothing answers until a fault proxy is started there
# (FAULT_ADDR=ADDR testbed.sh fault ...): an iterating resolver then meets
# that proxy for that zone alone.
#
# The sts-*.TLD zones (and bogus-tlsa.TLD) carry MTA-STS records: an
# _mta-sts TXT record and a policy host mta-sts.ZONE at TESTBED_STS_ADDR
# (default ADDR), where tests/integration/sts.sh serves their policies.
#
# Files for the tests: DIR/root.key (the root DS, the trust anchor),
# DIR/root.hints (the root server, for recursive mode), DIR/danemap.conf
# (stub resolution to the bed), DIR/danemap-recursive.conf (recursive
# resolution from the bed's root: needs ADDR outside 127.0.0.0/8 and port
# 53, since libunbound never asks loopback), DIR/env (shell variables
# TESTBED_DIR, TESTBED_ADDR, TESTBED_PORT, TESTBED_CONF, TESTBED_ANCHOR,
# TESTBED_TLD, TESTBED_HINTS, TESTBED_RECURSIVE_CONF). Addresses outside
# 127.0.0.0/8 are for a private network namespace only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tld=${TESTBED_TLD:-test}

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

# soa: the SOA line every zone of the bed shares
soa() {
	echo "3600 IN SOA ns.$tld. hostmaster.$tld. 1 3600 600 86400 300"
}

# zone NAME: start DIR/zones/NAME.zone with SOA and NS.
zone() {
	z=$1
	printf '%s. %s\n%s. 3600 IN NS ns.%s.\n' "$z" "$(soa)" "$z" "$tld" \
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
	# mxonly ZONE: one MX host mx1.ZONE with an address, no TLSA
	mxonly() {
		next_addr
		rr "$1" "$1. 3600 IN MX 10 mx1.$1."
		rr "$1" "mx1.$1. 3600 IN A $addr_out"
	}
	# dane_mx ZONE: the same host with a usable 3 1 1 TLSA record
	dane_mx() {
		mxonly "$1"
		h=$(cert "mx1.$1")
		rr "$1" "_25._tcp.mx1.$1. 3600 IN TLSA 3 1 1 $h"
	}

	# dane-one.test: one MX host, usable 3 1 1 TLSA (also on port 587)
	zone dane-one.$tld
	dane_mx dane-one.$tld
	rr dane-one.$tld "_587._tcp.mx1.dane-one.$tld. 3600 IN TLSA 3 1 1 $h"

	# dane-two.test: two MX hosts, both with usable TLSA; one with AAAA
	zone dane-two.$tld
	rr dane-two.$tld "dane-two.$tld. 3600 IN MX 10 mx1.dane-two.$tld."
	rr dane-two.$tld "dane-two.$tld. 3600 IN MX 20 mx2.dane-two.$tld."
	for m in mx1 mx2; do
		next_addr
		rr dane-two.$tld "$m.dane-two.$tld. 3600 IN A $addr_out"
		h=$(cert $m.dane-two.$tld)
		rr dane-two.$tld "_25._tcp.$m.dane-two.$tld. 3600 IN TLSA 3 1 1 $h"
	done
	rr dane-two.$tld "mx2.dane-two.$tld. 3600 IN AAAA fd00::2"

	# mixed.test: one host with TLSA, one without
	zone mixed.$tld
	rr mixed.$tld "mixed.$tld. 3600 IN MX 10 mx1.mixed.$tld."
	rr mixed.$tld "mixed.$tld. 3600 IN MX 20 mx2.mixed.$tld."
	next_addr
	rr mixed.$tld "mx1.mixed.$tld. 3600 IN A $addr_out"
	h=$(cert mx1.mixed.$tld)
	rr mixed.$tld "_25._tcp.mx1.mixed.$tld. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr mixed.$tld "mx2.mixed.$tld. 3600 IN A $addr_out"

	# unsigned.test: delegation without DS, even with TLSA
	zone unsigned.$tld
	next_addr
	rr unsigned.$tld "unsigned.$tld. 3600 IN MX 10 mx1.unsigned.$tld."
	rr unsigned.$tld "mx1.unsigned.$tld. 3600 IN A $addr_out"
	rr unsigned.$tld "_25._tcp.mx1.unsigned.$tld. 3600 IN TLSA 3 1 1 $h"

	# insecure-hosts.test: unsigned zone holding an MX host (with TLSA)
	zone insecure-hosts.$tld
	next_addr
	rr insecure-hosts.$tld "mx.insecure-hosts.$tld. 3600 IN A $addr_out"
	rr insecure-hosts.$tld "_25._tcp.mx.insecure-hosts.$tld. 3600 IN TLSA 3 1 1 $h"
	# mx-unsigned.test: signed domain, MX host in the unsigned zone
	zone mx-unsigned.$tld
	rr mx-unsigned.$tld "mx-unsigned.$tld. 3600 IN MX 10 mx.insecure-hosts.$tld."

	# dane-hosts.test: signed zone of hosts other domains point at
	zone dane-hosts.$tld
	next_addr
	rr dane-hosts.$tld "mx1.dane-hosts.$tld. 3600 IN A $addr_out"
	h=$(cert mx1.dane-hosts.$tld)
	rr dane-hosts.$tld "_25._tcp.mx1.dane-hosts.$tld. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr dane-hosts.$tld "target.dane-hosts.$tld. 3600 IN A $addr_out"
	h=$(cert target.dane-hosts.$tld)
	rr dane-hosts.$tld "_25._tcp.target.dane-hosts.$tld. 3600 IN TLSA 3 1 1 $h"
	next_addr
	rr dane-hosts.$tld "plain.dane-hosts.$tld. 3600 IN A $addr_out"
	# unsigned-to-dane.test: unsigned domain, MX host signed with TLSA
	zone unsigned-to-dane.$tld
	rr unsigned-to-dane.$tld "unsigned-to-dane.$tld. 3600 IN MX 10 mx1.dane-hosts.$tld."

	# cname-target.test: MX host is a CNAME into dane-hosts.test, TLSA
	# only at the target
	zone cname-target.$tld
	rr cname-target.$tld "cname-target.$tld. 3600 IN MX 10 mx.cname-target.$tld."
	rr cname-target.$tld "mx.cname-target.$tld. 3600 IN CNAME target.dane-hosts.$tld."
	# cname-original.test: CNAME to a host without TLSA; TLSA only at
	# the original name (RFC 7672 §2.2.2 fallback)
	zone cname-original.$tld
	rr cname-original.$tld "cname-original.$tld. 3600 IN MX 10 mx.cname-original.$tld."
	rr cname-original.$tld "mx.cname-original.$tld. 3600 IN CNAME plain.dane-hosts.$tld."
	h=$(cert mx.cname-original.$tld)
	rr cname-original.$tld "_25._tcp.mx.cname-original.$tld. 3600 IN TLSA 3 1 1 $h"

	# bogus-mx.test and bogus-tlsa.test: edited after signing
	zone bogus-mx.$tld
	dane_mx bogus-mx.$tld
	zone bogus-tlsa.$tld
	dane_mx bogus-tlsa.$tld

	# expired.test: signatures expired yesterday
	zone expired.$tld
	next_addr
	rr expired.$tld "expired.$tld. 3600 IN MX 10 mx1.expired.$tld."
	rr expired.$tld "mx1.expired.$tld. 3600 IN A $addr_out"
	rr expired.$tld "_25._tcp.mx1.expired.$tld. 3600 IN TLSA 3 1 1 $h"

	# implicit.test: no MX, the domain's own A and TLSA
	zone implicit.$tld
	next_addr
	rr implicit.$tld "implicit.$tld. 3600 IN A $addr_out"
	h=$(cert implicit.$tld)
	rr implicit.$tld "_25._tcp.implicit.$tld. 3600 IN TLSA 3 1 1 $h"

	# nullmx.test: RFC 7505 null MX
	zone nullmx.$tld
	rr nullmx.$tld "nullmx.$tld. 3600 IN MX 0 ."

	# unusable.test: only records SMTP cannot use
	zone unusable.$tld
	next_addr
	rr unusable.$tld "unusable.$tld. 3600 IN MX 10 mx1.unusable.$tld."
	rr unusable.$tld "mx1.unusable.$tld. 3600 IN A $addr_out"
	short=$(echo "$h" | cut -c1-62)
	for t in "0 1 1 $h" "1 1 1 $h" "3 7 1 $h" "3 1 9 $h" "3 1 1 $short"; do
		rr unusable.$tld "_25._tcp.mx1.unusable.$tld. 3600 IN TLSA $t"
	done

	# noaddr-mixed.test: one MX host without any address, one DANE host
	zone noaddr-mixed.$tld
	rr noaddr-mixed.$tld "noaddr-mixed.$tld. 3600 IN MX 10 gone.noaddr-mixed.$tld."
	rr noaddr-mixed.$tld "noaddr-mixed.$tld. 3600 IN MX 20 mx1.noaddr-mixed.$tld."
	rr noaddr-mixed.$tld "gone.noaddr-mixed.$tld. 3600 IN TXT \"no address here\""
	next_addr
	rr noaddr-mixed.$tld "mx1.noaddr-mixed.$tld. 3600 IN A $addr_out"
	h=$(cert mx1.noaddr-mixed.$tld)
	rr noaddr-mixed.$tld "_25._tcp.mx1.noaddr-mixed.$tld. 3600 IN TLSA 3 1 1 $h"
	# noaddr.test: the only MX host does not exist
	zone noaddr.$tld
	rr noaddr.$tld "noaddr.$tld. 3600 IN MX 10 gone.noaddr.$tld."

	# dane-usages.test: the other usable kinds of record. mx1: 3 0 1 (the
	# digest of its whole certificate). mx2 and mx3: 2 1 1, the bed's own
	# CA (DIR/certs/dane-ca.{key,pem}), which issued mx2's certificate
	# for its name (DIR/certs/mx2.dane-usages.test.pem holds the leaf,
	# then the CA: a usage 2 chain is served whole); a test serves a
	# certificate from that CA for another name at mx3.
	zone dane-usages.$tld
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -subj "/CN=danemap test bed DANE CA" -days 3650 \
		-keyout "$dir/certs/dane-ca.key" -out "$dir/certs/dane-ca.pem" 2>/dev/null
	ta=$(openssl x509 -in "$dir/certs/dane-ca.pem" -pubkey -noout |
		openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex |
		sed 's/.*= *//')
	for m in 1 2 3; do
		next_addr
		rr dane-usages.$tld "dane-usages.$tld. 3600 IN MX ${m}0 mx$m.dane-usages.$tld."
		rr dane-usages.$tld "mx$m.dane-usages.$tld. 3600 IN A $addr_out"
	done
	cert mx1.dane-usages.$tld >/dev/null
	h=$(openssl x509 -in "$dir/certs/mx1.dane-usages.$tld.pem" -outform DER |
		openssl dgst -sha256 -hex | sed 's/.*= *//')
	rr dane-usages.$tld "_25._tcp.mx1.dane-usages.$tld. 3600 IN TLSA 3 0 1 $h"
	leaf=mx2.dane-usages.$tld
	printf 'subjectAltName = DNS:%s\n' "$leaf" >"$dir/certs/$leaf.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -subj "/CN=$leaf" -keyout "$dir/certs/$leaf.key" 2>/dev/null |
		openssl x509 -req -CA "$dir/certs/dane-ca.pem" \
			-CAkey "$dir/certs/dane-ca.key" -set_serial 2 -days 3650 \
			-extfile "$dir/certs/$leaf.ext" -out "$dir/certs/$leaf.crt" 2>/dev/null
	cat "$dir/certs/$leaf.crt" "$dir/certs/dane-ca.pem" >"$dir/certs/$leaf.pem"
	for m in mx2 mx3; do
		rr dane-usages.$tld "_25._tcp.$m.dane-usages.$tld. 3600 IN TLSA 2 1 1 $ta"
	done

	# MTA-STS (tests/integration/sts.sh serves the policies over HTTPS
	# at $sts_addr): an _mta-sts TXT record and the policy host
	sts_addr=${TESTBED_STS_ADDR:-$addr}
	sts() {
		rr "$1" "_mta-sts.$1. 3600 IN TXT \"v=STSv1; id=$2;\""
		rr "$1" "mta-sts.$1. 3600 IN A $sts_addr"
	}
	for sz in sts-enforce sts-testing sts-invalid sts-unsigned; do
		zone $sz.$tld
		mxonly $sz.$tld
		sts $sz.$tld 20261130
	done
	# sts-nohost.test: the record, but no policy host
	zone sts-nohost.$tld
	mxonly sts-nohost.$tld
	rr sts-nohost.$tld "_mta-sts.sts-nohost.$tld. 3600 IN TXT \"v=STSv1; id=1;\""
	# sts-twotxt.test: two STSv1 records: none counts (RFC 8461 §3.1)
	zone sts-twotxt.$tld
	mxonly sts-twotxt.$tld
	sts sts-twotxt.$tld 1
	rr sts-twotxt.$tld "_mta-sts.sts-twotxt.$tld. 3600 IN TXT \"v=STSv1; id=2;\""
	# sts-dane.test: DANE and MTA-STS: DANE wins
	zone sts-dane.$tld
	dane_mx sts-dane.$tld
	sts sts-dane.$tld 1
	# and a DANE TEMP stays TEMP however good its MTA-STS policy
	sts bogus-tlsa.$tld 1

	# sign the children, then test. with their DS, then the root
	signed="dane-one.$tld dane-two.$tld dane-usages.$tld mixed.$tld
		mx-unsigned.$tld
		dane-hosts.$tld cname-target.$tld cname-original.$tld
		bogus-mx.$tld bogus-tlsa.$tld implicit.$tld nullmx.$tld
		unusable.$tld noaddr-mixed.$tld noaddr.$tld
		sts-enforce.$tld sts-testing.$tld sts-invalid.$tld
		sts-nohost.$tld sts-twotxt.$tld sts-dane.$tld"
	unsigned="unsigned.$tld insecure-hosts.$tld unsigned-to-dane.$tld
		sts-unsigned.$tld"
	for z in $signed; do sign "$z"; done
	sign expired.$tld "$(date -u -d '40 days ago' +%Y%m%d%H%M%S)" \
		"$(date -u -d '1 day ago' +%Y%m%d%H%M%S)"
	for z in $unsigned; do cp "$dir/zones/$z.zone" "$dir/zones/$z.signed"; done

	# break the two bogus zones: data changed after signing
	sed -i 's/^\(bogus-mx\.'"$tld"'\.[[:space:]].*MX[[:space:]]*10[[:space:]]*\)mx1/\1mx9/' \
		"$dir/zones/bogus-mx.$tld.signed"
	sed -i -E 's/^(_25\._tcp\.mx1\.bogus-tlsa\.'"$tld"'\.[[:space:]].*TLSA[[:space:]]+3 1 1 )[0-9A-Fa-f]{64}/\1'"$(printf '%064d' 0)"'/' \
		"$dir/zones/bogus-tlsa.$tld.signed"
	grep -q 'mx9' "$dir/zones/bogus-mx.$tld.signed" || die "could not break bogus-mx.$tld"
	grep -q "$(printf '%064d' 0)" "$dir/zones/bogus-tlsa.$tld.signed" ||
		die "could not break bogus-tlsa.$tld"

	# zones served by a server of their own (TESTBED_OWN_NS): signed,
	# delegated to ns.ZONE at that address, so a resolver that iterates
	# (recursive mode) asks that server, and a fault proxy there can
	# fail one zone alone. NSD serves them too, for stub mode.
	own= own_ns=
	for spec in ${TESTBED_OWN_NS:-}; do
		oz=${spec%%=*}.$tld oaddr=${spec#*=}
		zone "$oz"
		next_addr
		rr "$oz" "$oz. 3600 IN MX 10 mx1.$oz."
		rr "$oz" "mx1.$oz. 3600 IN A $addr_out"
		h=$(cert "mx1.$oz")
		rr "$oz" "_25._tcp.mx1.$oz. 3600 IN TLSA 3 1 1 $h"
		sed -i "s/ NS ns\.$tld\./ NS ns.$oz./" "$dir/zones/$oz.zone"
		rr "$oz" "ns.$oz. 3600 IN A $oaddr"
		sign "$oz"
		own="$own $oz"
		own_ns="$own_ns $oz=$oaddr"
	done

	printf '%s. %s\n%s. 3600 IN NS ns.%s.\nns.%s. 3600 IN A %s\n' \
		"$tld" "$(soa)" "$tld" "$tld" "$tld" "$addr" >"$dir/zones/$tld.zone"
	for z in $signed expired.$tld $unsigned; do
		rr "$tld" "$z. 3600 IN NS ns.$tld."
	done
	for spec in $own_ns; do
		oz=${spec%%=*} # not z: zone() and rr() set that
		rr "$tld" "$oz. 3600 IN NS ns.$oz."
		rr "$tld" "ns.$oz. 3600 IN A ${spec#*=}"
	done
	for z in $signed expired.$tld $own; do cat "$dir/zones/$z.ds" >>"$dir/zones/$tld.zone"; done
	sign "$tld"

	printf '. %s\n. 3600 IN NS ns.%s.\n%s. 3600 IN NS ns.%s.\nns.%s. 3600 IN A %s\n' \
		"$(soa)" "$tld" "$tld" "$tld" "$tld" "$addr" >"$dir/zones/root.zone"
	cat "$dir/zones/$tld.ds" >>"$dir/zones/root.zone"
	sign root
	cp "$dir/zones/root.ds" "$dir/root.key"
	# root hints for recursive mode: the root's server, as named.root has it
	printf '. 3600000 IN NS ns.%s.\nns.%s. 3600000 IN A %s\n' \
		"$tld" "$tld" "$addr" >"$dir/root.hints"
	# NSD does not serve the own-server zones: it would answer for them
	# itself instead of referring an iterating resolver to their server
	echo "$signed expired.$tld $unsigned" >"$dir/zones/list"
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
	name: "$tld"
	zonefile: "$tld.signed"
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
TESTBED_TLD='$tld'
TESTBED_HINTS='$dir/root.hints'
TESTBED_RECURSIVE_CONF='$dir/danemap-recursive.conf'
EOF
	# recursive mode (libunbound inside getdns) iterating from the bed's
	# root; libunbound never asks 127.0.0.0/8, so this needs ADDR outside
	# it (inside a private network namespace) and port 53
	sed -e 's/^resolution = .*/resolution = recursive/' \
		-e "s|^upstream = .*|root_hints = $dir/root.hints|" \
		-e 's/^# written by .*/# written by testbed.sh: recursive resolution from the root of the bed/' \
		"$dir/danemap.conf" >"$dir/danemap-recursive.conf"
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
	python3 "$here/faultdns.py" --listen "${FAULT_ADDR:-$TESTBED_ADDR}:$fport" \
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
	addr=$TESTBED_ADDR port=$TESTBED_PORT tld=$TESTBED_TLD
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
