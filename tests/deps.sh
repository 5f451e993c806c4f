#!/bin/sh
# Install what danemap needs to build and test on Debian 12, as root.
# Idempotent and quick when everything is already there. Services that the
# packages ship (nsd, unbound, postfix) are never started: a policy-rc.d
# refuses it for the duration of the install, and Postfix is preseeded to
# "No configuration" (nothing listens on port 25).
set -eu

PACKAGES="build-essential autoconf automake pkg-config
libgetdns-dev libevent-dev libcdb-dev tinycdb libssl-dev libcurl4-openssl-dev
check libsubunit-dev
nsd unbound ldnsutils bind9-dnsutils getdns-utils dns-root-data postfix
mandoc valgrind python3 iproute2 util-linux openssl curl clang libclang-rt-14-dev"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	guard=1
fi
trap '[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
