#!/bin/sh
# demo.sh: the README's first command. Installs what danemap needs, builds
# it, starts the embedded signed test zones (a DNS tree with its own root,
# served by NSD on loopback inside a private network namespace) and shows
# what danemap answers for each test case, with the evidence for one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${DANEMAP_NETNS:-}" ]; then
	"$top/tests/deps.sh"
	echo "building in $top/build ..."
	"$top/tests/build.sh" "$top/build"
	exec "$top/tests/testbed/netns.sh" "$0" "$@"
fi

dir=$(mktemp -d /tmp/danemap-demo.XXXXXX)
trap '"$top/tests/testbed/testbed.sh" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT INT TERM
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
