#!/bin/sh
# coldzones.sh DIR [COUNT]: add COUNT (default 10000) distinct mail domains,
# each its own zone, to the running test bed in DIR, for the cold
# validation benchmark (run.sh cold). Prints how long it took.
#
# The sub-tree: TLD. -> cold.TLD. (signed, DS in TLD.) -> one child zone
# per domain, dNNNNN.cold.TLD, chosen by NNNNN mod 10 (TLD is the bed's,
# TESTBED_TLD in DIR/env, default test):
#   0-5  dane      one MX host with a 3 1 1 TLSA record; signed, DS in
#                  cold.TLD                             -> OK dane-only
#   6-7  mixed     two MX hosts, only the first with TLSA; signed, DS
#                                                       -> OK dane
#   8-9  insecure  one MX host; unsigned, delegated without DS
#                                                       -> NOTFOUND
# so a validator has to fetch and check a DS and a DNSKEY (or the signed
# denial of a DS) for every domain. The child zones are signed by
# coldsign (tests/bench/coldsign.c, all of them in one process) with one
# shared key: the DNSKEY and DS records still differ per zone (the DS
# digest covers the owner name) and validation costs the same; only key
# generation, which is not what is measured, is saved. cold.TLD itself
# is signed by ldns-signzone with a key of its own. Every zone is served
# by the bed's one NSD (NS ns.TLD).
#
# Hosts get 127.2.x.y (first MX) and 127.3.x.y (second MX) addresses;
# COUNT is at most 65536. The TLSA records hold the SHA2-256 digest of one
# real certificate's key (DIR/certs/mx.cold.TLD.pem).
#
# Then TLD. is re-signed with the cold.TLD delegation (testbed.sh
# resign) and NSD is restarted with every new zone (a reload does not
# pick up new zones); the restarted NSD keeps the bed's pid file, so
# `testbed.sh stop DIR` still stops it, and has remote control on a unix
# socket (DIR/nsd.ctl) so that `nsd-control -c DIR/nsd.conf` can read its
# counters.
#
# Files: DIR/cold.domains ("NAME KIND" per line, KIND dane, mixed or
# insecure), DIR/zones/cold/ (zone files), DIR/keys/cold/ (cold.TLD's
# key). Needs coldsign built ($top_builddir/tests/bench/coldsign).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
TESTBED="$here/../testbed/testbed.sh"
coldsign="${top_builddir:-$here/../../build}/tests/bench/coldsign"

die() {
	echo "coldzones.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: coldzones.sh DIR [COUNT]"
dir=$1
count=${2:-10000}
if [ "$count" -lt 1 ] || [ "$count" -gt 65536 ]; then
	die "COUNT must be 1..65536"
fi
[ -f "$dir/env" ] || die "$dir: no running test bed (no env file)"
. "$dir/env"
tld=${TESTBED_TLD:-test}
cold=cold.$tld
grep -q "^cold\.$tld\." "$dir/zones/$tld.zone" &&
	die "$dir: $cold is already in the bed"

now() { date +%s.%N; }
since() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }

t0=$(now)
zdir="$dir/zones/cold"
kdir="$dir/keys/cold"
mkdir -p "$zdir" "$kdir" "$dir/certs"
[ -x "$coldsign" ] || die "$coldsign: not built (make check or make bench builds it)"
inception=$(date -u -d '1 day ago' +%Y%m%d%H%M%S)
expiration=$(date -u -d '30 days' +%Y%m%d%H%M%S)

# the certificate behind every TLSA record
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=mx.$cold" -days 3650 -keyout "$dir/certs/mx.$cold.key" \
	-out "$dir/certs/mx.$cold.pem" 2>/dev/null
digest=$(openssl x509 -in "$dir/certs/mx.$cold.pem" -pubkey -noout |
	openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex |
	sed 's/.*= *//')

# cold.TLD's key; the children's shared key is made by coldsign
parent_key=$(cd "$kdir" && ldns-keygen -a ECDSAP256SHA256 -k "$cold")

# Every zone file, the list of zones to sign and DIR/cold.domains, in one
# awk run (a process per zone would take longer than the signing).
awk -v n="$count" -v zdir="$zdir" -v cdir="$dir" -v digest="$digest" \
	-v tld="$tld" 'BEGIN {
	soa = "3600 IN SOA ns." tld ". hostmaster." tld ". 1 3600 600 86400 300"
	for (i = 0; i < n; i++) {
		d = sprintf("d%05d.cold.%s", i, tld)
		f = zdir "/" d ".zone"
		k = i % 10 < 6 ? "dane" : i % 10 < 8 ? "mixed" : "insecure"
		a1 = sprintf("127.2.%d.%d", int(i / 256), i % 256)
		a2 = sprintf("127.3.%d.%d", int(i / 256), i % 256)
		print d ". " soa > f
		print d ". 3600 IN NS ns." tld "." > f
		print d ". 3600 IN MX 10 mx1." d "." > f
		print "mx1." d ". 3600 IN A " a1 > f
		if (k == "mixed") {
			print d ". 3600 IN MX 20 mx2." d "." > f
			print "mx2." d ". 3600 IN A " a2 > f
		}
		if (k != "insecure") {
			print "_25._tcp.mx1." d ". 3600 IN TLSA 3 1 1 " digest > f
			print d > (cdir "/cold.sign")
		}
		close(f)
		print d, k > (cdir "/cold.domains")
	}
}'

# sign every child zone in one process (coldsign.c: ldns-signzone, a
# process per zone, takes minutes on a small machine); DS records out
t1=$(now)
"$coldsign" "$zdir" "$(date -u -d '1 day ago' +%s)" "$(date -u -d '30 days' +%s)" \
	<"$dir/cold.sign" >"$dir/cold.ds" || die "coldsign failed"
signed=$(wc -l <"$dir/cold.sign")
tsign=$(since "$t1")

# cold.TLD: a delegation per child, DS for the signed ones
{
	echo "$cold. 3600 IN SOA ns.$tld. hostmaster.$tld. 1 3600 600 86400 300"
	echo "$cold. 3600 IN NS ns.$tld."
	awk -v ns="ns.$tld." '{ print $1 ". 3600 IN NS " ns }' "$dir/cold.domains"
	cat "$dir/cold.ds"
} >"$zdir/$cold.zone"
ldns-signzone -i "$inception" -e "$expiration" -o "$cold" \
	-f "$zdir/$cold.signed" "$zdir/$cold.zone" "$kdir/$parent_key"

# TLD.: the delegation to cold.TLD and its DS, re-signed by the bed
{
	echo "$cold. 3600 IN NS ns.$tld."
	cat "$kdir/$parent_key.ds"
} >>"$dir/zones/$tld.zone"
"$TESTBED" resign "$dir" "$tld"
tgen=$(since "$t0")

# NSD: every new zone, remote control on a unix socket, then a restart
t2=$(now)
sed -i "s|^\tcontrol-enable: no|\tcontrol-enable: yes\n\tcontrol-interface: $dir/nsd.ctl|" \
	"$dir/nsd.conf"
{
	printf 'zone:\n\tname: "%s"\n\tzonefile: "cold/%s.signed"\n' "$cold" "$cold"
	awk '{ printf "zone:\n\tname: \"%s\"\n\tzonefile: \"cold/%s.%s\"\n",
		$1, $1, $2 == "insecure" ? "zone" : "signed" }' "$dir/cold.domains"
} >>"$dir/nsd.conf"
pid=$(cat "$dir/nsd.pid")
kill "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
	[ $i -lt 100 ] || die "NSD (pid $pid) does not stop"
	sleep 0.1
	i=$((i + 1))
done
nsd -c "$dir/nsd.conf" || die "nsd did not restart (see $dir/nsd.log)"
last=$(tail -n 1 "$dir/cold.domains" | cut -d' ' -f1)
i=0
until dig +short +time=1 +tries=1 -p "$TESTBED_PORT" @"$TESTBED_ADDR" SOA "$last" |
	grep -q hostmaster; do
	[ $i -lt 600 ] || die "NSD does not serve $last (see $dir/nsd.log)"
	sleep 0.1
	i=$((i + 1))
done
rm -f "$dir/cold.sign" "$dir/cold.ds"

awk '{ k[$2]++ } END { printf "cold zones: %d domains (%d dane, %d mixed, %d insecure)",
	NR, k["dane"], k["mixed"], k["insecure"] }' "$dir/cold.domains"
echo ", generated and signed in $tgen s ($signed child zones signed in $tsign s); NSD restarted with them in $(since "$t2") s"
