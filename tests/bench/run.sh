#!/bin/sh
# run.sh: danemap's benchmarks; prints numbers, judges nothing.
# `make bench` runs it (after building); by hand:
#   top_builddir=build tests/bench/run.sh [throughput] [load] [memory]
#
# Inside a private network namespace, against the signed test bed:
#  throughput  smload (C, epoll, Postfix's one-request-then-wait pattern)
#              against smfixed (a server that answers a fixed reply: the
#              machine's protocol round-trip limit) and against danemapd
#              answering cached keys, same client, same run; 1, 8, 64 and
#              512 connections, unix socket and loopback TCP; danemapd's
#              throughput as a ratio of smfixed's.
#  load        1,000 connections, 1,000,000 requests over cached keys and
#              20,000 keys that start uncached (live lookups); every reply
#              checked; the daemon's RSS after warm-up and at the end.
#  memory      a 1,000,000-record cache file built with cdbbuild (timed),
#              then 100,000 live lookups; the daemon's peak RSS.
# BENCH_REQUESTS (default 200000) sets the requests per throughput run.
. "$(dirname "$0")/../integration/common.sh"

BENCH="$top_builddir/tests/bench"
requests=${BENCH_REQUESTS:-200000}
parts=${*:-throughput load memory}
ulimit -n 8192 2>/dev/null || true

fpid=
cleanup_more() { [ -n "$fpid" ] && kill "$fpid" 2>/dev/null; }
testbed_up bench >/dev/null
sock="$dir/danemapd.sock"
iport=10026
{
	grep -v '^log_level\|^query_timeout\|^lookup_deadline' "$TESTBED_CONF"
	echo "log_level = ${BENCH_LOG_LEVEL:-notice}"
	echo "listen = unix:$sock"
	echo "listen = inet:127.0.0.1:$iport"
	echo "max_connections = 2000"
	echo "query_timeout = 3000"
	echo "lookup_deadline = 10000"
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

echo "danemap benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
echo "log_level ${BENCH_LOG_LEVEL:-notice} (info logs a line per answer)"

keys="dane-one.test=OK dane-only|dane-two.test=OK dane-only|mixed.test=OK dane|unsigned.test=NOTFOUND |nullmx.test=NOTFOUND |implicit.test=OK dane-only|unusable.test=OK dane|nx.test=NOTFOUND "

# smload_keys ARGS...: smload with the cached keys above
smload_keys() {
	IFS='|'
	# shellcheck disable=SC2086
	set -- "$@" $keys
	unset IFS
	"$BENCH/smload" "$@"
}

case " $parts " in *" throughput "*)
	echo
	echo "== throughput: cached answers vs the protocol limit ($requests requests a run)"
	daemon_start "$dir/bench.conf" "$sock" "$dir/d.log" || { cat "$dir/d.log"; exit 1; }
	smload_keys -c 1 -n 8 "unix:$sock" >/dev/null # fill the cache
	printf '%-5s %6s %10s %10s %6s %9s %9s %9s\n' via conns "fixed r/s" \
		"danemapd" ratio "p50 us" "p99 us" "max us"
	for via in unix inet; do
		if [ $via = unix ]; then
			ft="unix:$dir/fixed.sock" dt="unix:$sock"
		else
			ft="inet:127.0.0.1:$((iport + 1))" dt="inet:127.0.0.1:$iport"
		fi
		"$BENCH/smfixed" "$ft" &
		fpid=$!
		sleep 0.3
		for c in 1 8 64 512; do
			f=$(smload_keys -c $c -n "$requests" "$ft" 2>&1)
			d=$(smload_keys -c $c -n "$requests" "$dt" 2>&1)
			fr=$(field "$f" rps) dr=$(field "$d" rps)
			printf '%-5s %6s %10s %10s %6s %9s %9s %9s\n' $via $c "$fr" "$dr" \
				"$(echo "$dr $fr" | awk '{ printf "%.2f", $1 / $2 }')" \
				"$(field "$d" p50)" "$(field "$d" p99)" "$(field "$d" max)"
			[ "$(field "$d" wrong)" = 0 ] && [ "$(field "$d" errors)" = 0 ] ||
				echo "  danemapd: $d"
		done
		kill "$fpid"
		wait "$fpid" 2>/dev/null
		fpid=
	done
	echo "danemapd RSS after: $(rss "$dpid"), peak $(hwm "$dpid")"
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
	echo "danemapd with the file mapped: RSS $(rss "$dpid"), peak $(hwm "$dpid")"
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
