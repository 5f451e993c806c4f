#!/bin/sh
# demo.sh: the README's first command. Installs what danemap needs, builds
# it, starts the embedded signed test zones (a DNS tree with its own root,
# served by NSD on loopback inside a private network namespace) and shows
# what danemap answers for each test case, with the evidence for one; then
# starts danemapd on a unix socket and asks it through Postfix's own
# `postmap -q ... socketmap:unix:...:tlspolicy`, as smtp(8) would, and
# shows its counters (`danemap stats`, and /metrics with curl).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${DANEMAP_NETNS:-}" ]; then
	"$top/tests/deps.sh"
	echo "building in $top/build ..."
	"$top/tests/build.sh" "$top/build"
	exec "$top/tests/testbed/netns.sh" "$0" "$@"
fi

dir=$(mktemp -d /tmp/danemap-demo.XXXXXX)
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	"$top/tests/testbed/testbed.sh" stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
port=53
[ "${DANEMAP_NETNS:-0}" = 1 ] || port=$((20000 + $$ % 20000))
"$top/tests/testbed/testbed.sh" start "$dir" 127.0.0.1 "$port"
. "$dir/env"
danemap="$top/build/daemon/danemap -c $TESTBED_CONF"

echo
echo "signed test zones on 127.0.0.1 port $port; trust anchor $TESTBED_ANCHOR"
echo
printf '%-36s %-40s %s\n' "KEY" "danemap query" "expected"
tab=$(printf '\t')
while IFS="$tab" read -r key expected status desc; do
	case "$key" in '' | '#'*) continue ;; esac
	got=$($danemap query "$key" 2>/dev/null | head -n 1) || true
	printf '%-36s %-40s %s\n' "$key" "'$got'" "$expected  ($desc)"
done <"$top/tests/testbed/cases.txt"

first=$(awk -F'\t' '!/^#/ && NF >= 3 { print $1; exit }' "$top/tests/testbed/cases.txt")
echo
echo "\$ danemap query -v $first"
$danemap query -v "$first" || true

# ---- the daemon, asked by Postfix's postmap(1) as smtp(8) would ask it
sock="$dir/danemapd.sock"
{
	grep -v '^log_level' "$TESTBED_CONF"
	echo "log_level = info"
	echo "listen = unix:$sock"
	echo "control_socket = unix:$dir/control.sock"
	echo "metrics_listen = inet:9464"
} >"$dir/danemapd.conf"
"$top/build/daemon/danemapd" -f -c "$dir/danemapd.conf" 2>"$dir/danemapd.log" &
dpid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -S "$sock" ]; then
	echo "danemapd did not start:" >&2
	cat "$dir/danemapd.log" >&2
	exit 1
fi
mkdir -p "$dir/pf"
echo "compatibility_level = 3.7" >"$dir/pf/main.cf"
echo
echo "danemapd on $sock; asking it with Postfix's postmap -q:"
for key in dane-one.test dane-two.test mixed.test unsigned.test nx.test bogus-mx.test; do
	echo "\$ postmap -q $key socketmap:unix:$sock:tlspolicy"
	/usr/sbin/postmap -c "$dir/pf" -q "$key" "socketmap:unix:$sock:tlspolicy" 2>&1 ||
		echo "(postmap exit $?: silent = NOTFOUND, Postfix applies its default; an error = TEMP, Postfix defers)"
done
echo
echo "\$ danemap stats    # the daemon's counters, over its control socket (some of them)"
"$top/build/daemon/danemap" -c "$dir/danemapd.conf" stats |
	grep -E '^danemap_(answers_total|answers_by_source_total\{source="(live|memory)"|dns_failures_total\{kind="bogus"|lookup_duration_seconds_count)' || true
echo "\$ curl -s http://127.0.0.1:9464/metrics   # the same for Prometheus: $(curl -s http://127.0.0.1:9464/metrics | grep -c "^danemap_") samples"
echo
echo "danemapd's log:"
sed 's/^/  /' "$dir/danemapd.log"
