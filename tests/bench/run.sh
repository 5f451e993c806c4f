#!/bin/sh
# run.sh: danemap's benchmarks; prints numbers, judges nothing.
# `make bench` runs it (after building); by hand:
#   top_builddir=build tests/bench/run.sh [throughput] [load] [memory] [swap] [cost] [cold]
#
# Inside a private network namespace, against the signed test bed:
#  throughput  smload (C, epoll, Postfix's one-request-then-wait pattern)
#              against smfixed (a server that answers a fixed reply: the
#              machine's protocol round-trip limit) and against danemapd
#              answering cached keys, same client, same run; 1, 8, 64 and
#              512 connections, unix socket and loopback TCP; danemapd's
#              throughput as a ratio of smfixed's. Then the same for
#              cached MTA-STS answers (rows unix/sts, inet/sts: policies
#              from a cache file cdbbuild -s wrote; smfixed answers a
#              reply as long).
#  load        1,000 connections, 1,000,000 requests over cached keys and
#              20,000 keys that start uncached (live lookups); every reply
#              checked; the daemon's RSS after warm-up and at the end.
#  memory      a 1,000,000-record cache file built with cdbbuild (timed),
#              then 100,000 live lookups; the daemon's peak RSS.
#  swap        the longest gap between answers for one client asking in a
#              tight loop while two new 1,000,000-record cache files are
#              taken into use (one found by the daemon's stat, one after
#              SIGHUP); the goal is 10 ms.
#  cost        instructions per cached answer, from callgrind (two runs
#              of different length, the difference per answer): the
#              number to compare across changes on a noisy machine; for
#              DANE answers and for MTA-STS ones.
#  cold        cold validation: 10,000 distinct domains, each its own zone
#              (coldzones.sh: 60% DANE, 20% mixed, 20% insecure) in a
#              second bed, TLD dnstest, at 10.53.0.1 port 53 inside the
#              namespace; validated from nothing by `danemap warm` (a fresh
#              process, empty cache) in stub mode (to the bed's NSD) and in
#              recursive mode (libunbound inside getdns, iterating from the
#              bed's root hints), and by a validating unbound on loopback,
#              empty cache, iterating from the same NSD, asked danemap's
#              queries by dnscold; all at the same concurrency; domains/s
#              of each, the ratios to unbound, how many queries NSD
#              answered for each, and CPU time a domain (the fairer
#              measure on a busy machine). Without a private namespace the
#              second bed is on a loopback port and only stub mode is
#              measured (iterating resolvers follow delegations to port 53,
#              and libunbound never asks 127.0.0.0/8).
# The daemon runs with the default configuration but for its listeners,
# limits and timeouts: log_level too is the default (info: a line per live
# lookup; cached answers are counted in a statistics line, not logged one
# by one), unless BENCH_LOG_LEVEL names another.
# BENCH_REQUESTS (default 200000) sets the requests per throughput run,
# BENCH_TRANSPORT (tcp, the default, or udp) how the daemon's live lookups
# reach the test bed;
# BENCH_COLD_DOMAINS (default 10000) and BENCH_COLD_CONCURRENCY (default
# 32, danemap's warm_concurrency default) and BENCH_COLD_TRANSPORT (tcp,
# the default, or udp: stub mode's transport; recursive mode and unbound
# iterate over udp) the cold part.
. "$(dirname "$0")/../integration/common.sh"

BENCH="$top_builddir/tests/bench"
requests=${BENCH_REQUESTS:-200000}
parts=${*:-throughput load memory swap cost cold}
ulimit -n 8192 2>/dev/null || true

fpid=
upid=
cdir=
cleanup_more() {
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	[ -n "$upid" ] && kill "$upid" 2>/dev/null
	[ -n "$cdir" ] && "$TESTBED" stop "$cdir" >/dev/null 2>&1
}
testbed_up bench >/dev/null
sock="$dir/danemapd.sock"
iport=10026
{
	grep -v '^log_level\|^query_timeout\|^lookup_deadline' "$TESTBED_CONF"
	[ -n "${BENCH_LOG_LEVEL:-}" ] && echo "log_level = $BENCH_LOG_LEVEL"
	echo "listen = unix:$sock"
	echo "listen = inet:127.0.0.1:$iport"
	echo "max_connections = 2000"
	echo "query_timeout = 3000"
	echo "lookup_deadline = 10000"
	echo "transport = ${BENCH_TRANSPORT:-tcp}"
} >"$dir/bench.conf"

# rss PID: resident set now, split into the daemon's own memory (anon) and
# mapped file pages (the cache file, shared with the page cache)
rss() {
	awk '/^VmRSS|^RssAnon|^RssFile/ { v[$1] = $2 }
		END { printf "%d kB (anon %d kB, file %d kB)", v["VmRSS:"],
			v["RssAnon:"], v["RssFile:"] }' "/proc/$1/status"
}
hwm() { awk '/^VmHWM/ { printf "%d kB", $2 }' "/proc/$1/status"; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# own_netns: inside the private network namespace netns.sh made (only lo
# in it), the one place the bench may use an address outside 127.0.0.0/8
own_netns() {
	[ "${DANEMAP_NETNS:-0}" = 1 ] &&
		[ "$(ip -o link show | awk -F': ' '$2 != "lo"' | wc -l)" -eq 0 ]
}

echo "danemap benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
if [ -n "${BENCH_LOG_LEVEL:-}" ]; then
	echo "log_level $BENCH_LOG_LEVEL (BENCH_LOG_LEVEL)"
else
	echo "log_level info, the default: a line per live lookup, cached answers counted once a minute"
fi

keys="dane-one.test=OK dane-only|dane-two.test=OK dane-only|mixed.test=OK dane|unsigned.test=NOTFOUND |nullmx.test=NOTFOUND |implicit.test=OK dane-only|unusable.test=OK dane|nx.test=NOTFOUND "

# fixed_up TARGET [REPLY] / fixed_down: the fixed-reply server, started and
# stopped
fixed_up() {
	"$BENCH/smfixed" "$@" &
	fpid=$!
	sleep 0.3
}
fixed_down() {
	kill "$fpid"
	wait "$fpid" 2>/dev/null
	fpid=
}

# smload_keys ARGS...: smload with the cached keys above
smload_keys() {
	IFS='|'
	# shellcheck disable=SC2086
	set -- "$@" $keys
	unset IFS
	"$BENCH/smload" "$@"
}
# smload_sts ARGS...: smload with the MTA-STS keys cdbbuild -s listed
smload_sts() {
	"$BENCH/smload" -f "$dir/sts.keys" "$@"
}

# throughput_rows LOAD LABEL [REPLY]: the table's rows for unix and TCP,
# 1 to 512 connections: the LOAD function against smfixed (answering
# REPLY) and against danemapd, same client, same run
throughput_rows() {
	load=$1 label=$2
	shift 2
	for via in unix inet; do
		if [ $via = unix ]; then
			ft="unix:$dir/fixed.sock" dt="unix:$sock"
		else
			ft="inet:127.0.0.1:$((iport + 1))" dt="inet:127.0.0.1:$iport"
		fi
		fixed_up "$ft" "$@"
		for c in 1 8 64 512; do
			f=$($load -c $c -n "$requests" "$ft" 2>&1)
			d=$($load -c $c -n "$requests" "$dt" 2>&1)
			fr=$(field "$f" rps) dr=$(field "$d" rps)
			printf '%-8s %6s %10s %10s %6s %9s %9s %9s\n' "$via$label" $c \
				"$fr" "$dr" \
				"$(echo "$dr $fr" | awk '{ printf "%.2f", $1 / $2 }')" \
				"$(field "$d" p50)" "$(field "$d" p99)" "$(field "$d" max)"
			[ "$(field "$d" wrong)" = 0 ] && [ "$(field "$d" errors)" = 0 ] ||
				echo "  danemapd: $d"
		done
		fixed_down
	done
}

# cost_per_answer [-s]: instructions per cached answer under callgrind:
# 5,000 and 25,000 answers from memory (keys first read from a cache
# file cdbbuild [-s] wrote), one connection; the difference over 20,000
# is one answer's cost without the daemon's start and stop
cost_per_answer() {
	"$BENCH/cdbbuild" "$@" "$dir/state/cache.cdb" 1000 "$dir/cost.keys" >/dev/null
	for n in 5000 25000; do
		rm -f "$sock"
		valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$n" \
			"$top_builddir/daemon/danemapd" -f -c "$dir/bench.conf" \
			2>"$dir/cg.$n.log" &
		vpid=$!
		i=0
		while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		"$BENCH/smload" -c 1 -n $n -f "$dir/cost.keys" "unix:$sock" >/dev/null
		kill -TERM $vpid
		wait $vpid
	done
	a=$(sed -n 's/^summary: //p' "$dir/cg.5000")
	b=$(sed -n 's/^summary: //p' "$dir/cg.25000")
	echo $(( (b - a) / 20000 ))
}

case " $parts " in *" throughput "*)
	echo
	echo "== throughput: cached answers vs the protocol limit ($requests requests a run)"
	# MTA-STS answers come from a warmed cache file (policies in it)
	"$BENCH/cdbbuild" -s "$dir/state/cache.cdb" 1000 "$dir/sts.keys" >/dev/null
	daemon_start "$dir/bench.conf" "$sock" "$dir/d.log" || { cat "$dir/d.log"; exit 1; }
	smload_keys -c 1 -n 8 "unix:$sock" >/dev/null # fill the cache
	printf '%-8s %6s %10s %10s %6s %9s %9s %9s\n' via conns "fixed r/s" \
		"danemapd" ratio "p50 us" "p99 us" "max us"
	throughput_rows smload_keys ""
	# cached MTA-STS answers ("OK secure match=... servername=hostname"),
	# against smfixed answering a reply as long
	smload_sts -c 1 -n 200 "unix:$sock" >/dev/null # into memory
	throughput_rows smload_sts /sts "$(head -n 1 "$dir/sts.keys" | sed 's/^[^=]*=//')"
	echo "danemapd RSS after: $(rss "$dpid"), peak $(hwm "$dpid")"
	# Closed-loop latency at 512 connections is queueing (512 / r/s for
	# any server). Latency under a given offered load is what an MTA
	# fleet sees: smload -r, counted from when each request was due.
	echo "latency at 512 unix connections under offered load (smload -r), $requests requests each:"
	printf '%-9s %10s %10s %9s %9s %9s %9s\n' server "offered/s" "done r/s" \
		"p50 us" "p90 us" "p99 us" "max us"
	fixed_up "unix:$dir/fixed.sock"
	for rate in 10000 25000 50000; do
		for t in fixed danemapd; do
			if [ $t = fixed ]; then tt="unix:$dir/fixed.sock"; else tt="unix:$sock"; fi
			o=$(smload_keys -c 512 -r $rate -n "$requests" "$tt" 2>&1)
			printf '%-9s %10s %10s %9s %9s %9s %9s\n' $t $rate "$(field "$o" rps)" \
				"$(field "$o" p50)" "$(field "$o" p90)" "$(field "$o" p99)" "$(field "$o" max)"
		done
	done
	fixed_down
	daemon_stop
	;;
esac

case " $parts " in *" load "*)
	echo
	echo "== load: 1000 connections, 1,000,000 requests, 20,000 keys uncached at first"
	daemon_start "$dir/bench.conf" "$sock" "$dir/d.log" || exit 1
	{
		echo "$keys" | tr '|' '\n'
		for i in $(seq 1 20000); do echo "nx$i.test=NOTFOUND "; done
	} >"$dir/load.keys"
	start_rss=$(rss "$dpid")
	out=$("$BENCH/smload" -c 1000 -n 200000 -f "$dir/load.keys" "unix:$sock" 2>&1)
	echo "first 200,000 (warm-up, live lookups): $out"
	warm_rss=$(rss "$dpid")
	out=$("$BENCH/smload" -c 1000 -n 800000 -f "$dir/load.keys" "unix:$sock" 2>&1)
	echo "next 800,000 (cached):                  $out"
	echo "danemapd RSS: start $start_rss, after warm-up $warm_rss, end $(rss "$dpid"), peak $(hwm "$dpid")"
	daemon_stop
	;;
esac

case " $parts " in *" memory "*)
	echo
	echo "== memory: 1,000,000-record cache file, then 100,000 live entries"
	"$BENCH/cdbbuild" "$dir/state/cache.cdb" 1000000 "$dir/cdb.keys" | sed 's/^/cdbbuild: /'
	daemon_start "$dir/bench.conf" "$sock" "$dir/d.log" || exit 1
	sleep 1
	echo "danemapd with the file open: RSS $(rss "$dpid"), peak $(hwm "$dpid")"
	grep 'records (checked' "$dir/d.log" | sed 's/^/  /' 
	out=$("$BENCH/smload" -c 64 -n 100000 -f "$dir/cdb.keys" "unix:$sock" 2>&1)
	echo "100,000 answers from the file: $out"
	for i in $(seq 1 100000); do echo "nx$i.test=NOTFOUND "; done >"$dir/live.keys"
	out=$("$BENCH/smload" -c 256 -n 100000 -f "$dir/live.keys" "unix:$sock" 2>&1)
	echo "100,000 live lookups:          $out"
	echo "danemapd RSS $(rss "$dpid"), peak $(hwm "$dpid") (memory cache: 100,000 keys)"
	daemon_stop
	;;
esac

case " $parts " in *" swap "*)
	echo
	echo "== swap: a new 1,000,000-record cache file while a client asks in a tight loop"
	# Two replacements, one noticed by the once-a-second stat and one by
	# SIGHUP; each new file is checked from end to end before use. The
	# client (one connection, Postfix's ask-and-wait) measures every
	# answer's wait: its max is the longest gap between answers.
	"$BENCH/cdbbuild" "$dir/state/cache.cdb" 1000000 "$dir/cdb.keys" | sed 's/^/cdbbuild: /'
	"$BENCH/cdbbuild" "$dir/swap1.cdb" 1000000 | sed 's/^/cdbbuild: /'
	"$BENCH/cdbbuild" "$dir/swap2.cdb" 1000000 | sed 's/^/cdbbuild: /'
	daemon_start "$dir/bench.conf" "$sock" "$dir/swap.log" || exit 1
	# the first file is checked before the first answer: wait for it
	while ! grep -q 'ready:' "$dir/swap.log"; do sleep 0.1; done
	out=$("$BENCH/smload" -c 1 -n 20000 -f "$dir/cdb.keys" "unix:$sock" 2>&1)
	echo "before:          $out"
	"$BENCH/smload" -c 1 -n "${BENCH_SWAP_REQUESTS:-300000}" -f "$dir/cdb.keys" \
		"unix:$sock" >"$dir/swap.out" 2>&1 &
	lpid=$!
	sleep 1
	mv "$dir/swap1.cdb" "$dir/state/cache.cdb"
	sleep 1.5
	mv "$dir/swap2.cdb" "$dir/state/cache.cdb"
	kill -HUP "$dpid"
	wait "$lpid"
	out=$(cat "$dir/swap.out")
	swaps=$(grep -c 'records (checked' "$dir/swap.log")
	echo "during 2 swaps:  $out"
	echo "longest gap between answers: $(field "$out" max) us (goal <= 10000 us); files taken: $((swaps - 1)) of 2"
	grep 'records (checked' "$dir/swap.log" | sed 's/^/  /'
	[ "$((swaps - 1))" = 2 ] || echo "  (a swap was not over before the client stopped: raise BENCH_SWAP_REQUESTS)"
	daemon_stop
	;;
esac

case " $parts " in *" cost "*)
	echo
	echo "== cost: instructions per cached answer (callgrind; deterministic, unlike r/s)"
	if command -v valgrind >/dev/null 2>&1; then
		echo "$(cost_per_answer) instructions per cached answer (log_level ${BENCH_LOG_LEVEL:-info})"
		echo "$(cost_per_answer -s) instructions per cached MTA-STS answer (policies from the cache file)"
	else
		echo "no valgrind: not measured"
	fi
	;;
esac

case " $parts " in *" cold "*)
	echo
	cold_n=${BENCH_COLD_DOMAINS:-10000}
	cold_c=${BENCH_COLD_CONCURRENCY:-32}
	echo "== cold validation: $cold_n distinct signed domains, nothing cached"
	uport=$((TESTBED_PORT + 1))
	# A bed of its own, TLD dnstest (libunbound answers test. itself),
	# at 10.53.0.1 port 53 inside our own namespace (libunbound never
	# asks 127.0.0.0/8); elsewhere on a loopback port, where only stub
	# mode can be measured (iterating resolvers follow delegations to
	# port 53). Its env replaces the main bed's: this part runs last.
	if own_netns; then
		ip addr add 10.53.0.1/32 dev lo 2>/dev/null ||
			ip -o addr show dev lo | grep -q ' 10\.53\.0\.1/' || exit 1
		caddr=10.53.0.1 cport=53 iterate=yes
	else
		caddr=127.0.0.1 cport=$((TESTBED_PORT + 2)) iterate=no
	fi
	cdir="$dir/cold"
	TESTBED_TLD=dnstest "$TESTBED" start "$cdir" "$caddr" "$cport" ||
		{ echo "the cold test bed did not start"; exit 1; }
	. "$cdir/env"
	"$top_srcdir/tests/bench/coldzones.sh" "$cdir" "$cold_n" || exit 1
	cut -d' ' -f1 "$cdir/cold.domains" >"$cdir/cold.keys"
	want=$(awk '{ k[$2]++ } END { printf "dane-only %d, dane %d, notfound %d, temp 0",
		k["dane"], k["mixed"], k["insecure"] }' "$cdir/cold.domains")
	# nsdq: queries NSD answered since the last call (the counters reset)
	nsdq() {
		nsd-control -c "$cdir/nsd.conf" stats 2>/dev/null |
			sed -n 's/^num\.queries=//p'
	}
	per() {
		if [ -n "$1" ]; then
			echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'
		else
			printf '?'
		fi
	}
	secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
	# cpu_children: user + system seconds of this shell's waited-for
	# children so far, in cpu_now (`times` must run in this shell: a
	# subshell's counts start from zero)
	cpu_children() {
		times >"$cdir/times"
		cpu_now=$(sed -n 2p "$cdir/times" | awk '{ for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
			printf "%.2f", t }')
	}
	# cpu_pid PID: user + system seconds of a running process
	cpu_pid() {
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
			"/proc/$1/stat"
	}
	# ms_per SECONDS: CPU milliseconds a domain
	ms_per() {
		if [ -n "$1" ]; then
			echo "$1 $cold_n" | awk '{ printf "%.2f", $1 * 1000 / $2 }'
		else
			printf '?'
		fi
	}

	# cold_conf SRC NAME: SRC with the bench's timeouts and concurrency
	# and a fresh state directory, as DIR/NAME.conf
	cold_conf() {
		mkdir -p "$cdir/$2-state"
		{
			grep -v '^log_level\|^query_timeout\|^lookup_deadline\|^state_dir\|^cache_file\|^warm_concurrency' \
				"$1"
			echo "log_level = notice"
			echo "query_timeout = 3000"
			echo "lookup_deadline = 10000"
			echo "state_dir = $cdir/$2-state"
			echo "cache_file = $cdir/$2-state/cache.cdb"
			echo "warm_concurrency = $cold_c"
		} >"$cdir/$2.conf"
	}
	# cold_warm CONF: `danemap warm` over the list, its output, CPU time
	# and NSD's count; sets wsum (the replies), wdps (domains/s), wcpu
	# (CPU seconds) and wq (queries)
	cold_warm() {
		nsdq >/dev/null
		cpu_children
		c0=$cpu_now
		t0=$(date +%s.%N)
		wout=$($DANEMAP -c "$1" warm -f "$cdir/cold.keys" 2>&1)
		t1=$(date +%s.%N)
		cpu_children
		wcpu=$(echo "$c0 $cpu_now" | awk '{ printf "%.2f", $2 - $1 }')
		wq=$(nsdq)
		echo "$wout" | sed 's/^/  /'
		wsum=$(echo "$wout" | sed -n 's/^warm: \(dane-only [0-9]*, dane [0-9]*, notfound [0-9]*, temp [0-9]*\).*/\1/p')
		wdps=$(echo "$wout" | sed -n 's/.*resolved in [0-9.]* s, \([0-9.]*\) keys\/s.*/\1/p')
		echo "  replies: $wsum (expected $want)"
		echo "  the whole process $(secs "$t0" "$t1") s, CPU $wcpu s ($(ms_per "$wcpu") ms a domain); NSD answered ${wq:-?} queries ($(per "$wq" "$cold_n") a domain)"
	}

	# danemap, stub mode: getdns validates every answer itself
	cold_conf "$TESTBED_CONF" cold-stub
	echo "transport = ${BENCH_COLD_TRANSPORT:-tcp}" >>"$cdir/cold-stub.conf"
	echo "danemap stub: \`danemap warm -f LIST\`, a fresh process, empty cache; getdns stub mode to NSD $TESTBED_ADDR@$TESTBED_PORT over ${BENCH_COLD_TRANSPORT:-tcp}, validating every answer itself; $cold_c lookups at once"
	cold_warm "$cdir/cold-stub.conf"
	sdps=$wdps scpu=$wcpu sq=$wq

	# danemap, recursive mode: libunbound inside getdns iterates from the
	# bed's root and validates, keeping what it validated
	rdps="" rcpu="" rq=""
	if [ $iterate = yes ]; then
		cold_conf "$TESTBED_RECURSIVE_CONF" cold-recursive
		echo "danemap recursive: \`danemap warm -f LIST\`, a fresh process, empty cache; getdns recursive mode (libunbound inside getdns) iterating from the root at $TESTBED_ADDR@$TESTBED_PORT over udp, validating with its key cache; $cold_c lookups at once"
		cold_warm "$cdir/cold-recursive.conf"
		rdps=$wdps rcpu=$wcpu rq=$wq
	else
		echo "danemap recursive: skipped: libunbound never asks 127.0.0.0/8, and outside a private network namespace of our own (DANEMAP_NETNS=1, only lo) the bench uses no other address"
	fi

	# unbound: validating, one thread, the root served by the same NSD;
	# it iterates, so it too needs the bed on port 53 (the delegations
	# name ns.TLD, the bed's address, and no port)
	udps="" ucpu="" uq=""
	if [ $iterate = yes ]; then
		cat >"$cdir/unbound.conf" <<EOF
server:
	interface: 127.0.0.1@$uport
	port: $uport
	do-ip6: no
	outgoing-interface: $TESTBED_ADDR
	chroot: ""
	username: ""
	directory: "$cdir"
	pidfile: "$cdir/unbound.pid"
	use-syslog: no
	logfile: "$cdir/unbound.log"
	verbosity: 1
	log-servfail: yes
	num-threads: 1
	module-config: "validator iterator"
	trust-anchor-file: "$TESTBED_ANCHOR"
	outgoing-range: 4096
	num-queries-per-thread: 4096
	# room for every answer: nothing is evicted during the run
	msg-cache-size: 64m
	rrset-cache-size: 128m
	key-cache-size: 64m
	neg-cache-size: 16m
remote-control:
	control-enable: no
stub-zone:
	name: "."
	stub-addr: $TESTBED_ADDR@$TESTBED_PORT
EOF
		unbound-checkconf "$cdir/unbound.conf" >/dev/null || exit 1
		unbound -d -c "$cdir/unbound.conf" &
		upid=$!
		# localhost is answered by unbound itself: its cache stays empty
		i=0
		until dig +short +time=1 +tries=1 -p "$uport" @127.0.0.1 A localhost 2>/dev/null |
			grep -q '^127\.0\.0\.1$'; do
			if [ $i -ge 100 ] || ! kill -0 "$upid" 2>/dev/null; then
				echo "unbound did not start:"
				cat "$cdir/unbound.log"
				exit 1
			fi
			sleep 0.1
			i=$((i + 1))
		done
		echo "unbound: $(unbound -V | sed -n 's/^Version //p'), 1 thread, \"validator iterator\", empty cache, stub-zone . at the same NSD; dnscold asks it danemap's queries (MX; A and AAAA per host; TLSA when both are secure) in getdns stub mode without validation of its own, reading AD; $cold_c domains at once"
		nsdq >/dev/null
		cpu_children
		c0=$cpu_now
		u0=$(cpu_pid "$upid")
		uout=$("$BENCH/dnscold" -c "$cold_c" "127.0.0.1@$uport" "$cdir/cold.keys" 2>&1)
		ucpu=$(echo "$u0 $(cpu_pid "$upid")" | awk '{ printf "%.2f", $2 - $1 }')
		cpu_children
		ccpu=$(echo "$c0 $cpu_now" | awk '{ printf "%.2f", $2 - $1 }')
		uq=$(nsdq)
		echo "  $uout"
		usum="dane-only $(field "$uout" dane-only), dane $(field "$uout" dane), notfound $(field "$uout" notfound), temp $(field "$uout" temp)"
		udps=$(field "$uout" dps)
		echo "  replies: $usum (expected $want)"
		echo "  unbound's CPU $ucpu s ($(ms_per "$ucpu") ms a domain), dnscold's $ccpu s; NSD answered ${uq:-?} queries ($(per "$uq" "$cold_n") a domain)"
		again=$("$BENCH/dnscold" -c "$cold_c" "127.0.0.1@$uport" "$cdir/cold.keys" 2>&1)
		echo "  again, every answer from unbound's cache (the client's limit): $(field "$again" dps) domains/s"
		kill "$upid"
		wait "$upid" 2>/dev/null
		upid=
		grep -i 'error\|fail' "$cdir/unbound.log" | head -n 5 | sed 's/^/  unbound.log: /'
	else
		echo "unbound: skipped: an iterating resolver follows the bed's delegations to port 53, which only a private network namespace of our own gives the bench"
	fi

	# CPU a domain: the resolver's own (danemap's includes its client
	# side; unbound's leaves out dnscold's): a fairer comparison than
	# domains/s when the machine has other work
	echo "cold validation, $cold_n domains, $cold_c at once:"
	printf '  %-18s %10s %17s %16s %21s\n' resolver domains/s "ratio to unbound" \
		"CPU ms a domain" "NSD queries a domain"
	for r in "danemap stub:$sdps:$scpu:$sq" "danemap recursive:$rdps:$rcpu:$rq" \
		"unbound:$udps:$ucpu:$uq"; do
		IFS=: read -r name rate cpu q <<EOF
$r
EOF
		printf '  %-18s %10s %17s %16s %21s\n' "$name" "${rate:-?}" \
			"$(echo "$rate $udps" | awk '{ if ($1 != "" && $2 > 0) printf "%.2f", $1 / $2; else printf "?" }')" \
			"$(ms_per "$cpu")" "$(per "$q" "$cold_n")"
	done
	;;
esac
