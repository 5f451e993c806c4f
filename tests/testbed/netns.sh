#!/bin/sh
# netns.sh CMD ARGS...: run CMD inside a private network namespace with
# only loopback up (DANEMAP_NETNS=1), so a test cannot send a packet off
# the machine and may use port 53. Where namespaces are not allowed, run
# CMD as it is (DANEMAP_NETNS=0) and say so once on stderr.
if [ $# -eq 0 ]; then
	echo "usage: netns.sh CMD [ARGS...]" >&2
	exit 64
fi
if unshare -n true 2>/dev/null; then
	DANEMAP_NETNS=1 exec unshare -n sh -c 'ip link set lo up && exec "$@"' netns.sh "$@"
fi
echo "netns.sh: no private network namespace here: running on loopback in the host namespace" >&2
DANEMAP_NETNS=0 exec "$@"
