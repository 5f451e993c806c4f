#!/bin/sh
# Build danemap out of tree in DIR (default ./build), passing extra
# arguments to configure. Re-runs configure only when needed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$top/build"}
[ $# -gt 0 ] && shift
[ -x "$top/configure" ] || "$top/autogen.sh" >/dev/null
mkdir -p "$dir"
cd "$dir"
args="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$args" ]; then
	# shellcheck disable=SC2086
	"$top/configure" $args >configure.out || { cat configure.out; exit 1; }
	echo "$args" > .configure-args
fi
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
