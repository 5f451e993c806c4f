# postfixbed.sh: sourced by integration tests after common.sh: a real
# Postfix instance in $dir, run by its own master inside the private
# network namespace (it binds port 25 of that namespace's addresses, never
# the host's). pf_prepare writes the queue, a main.cf and the internal
# services of master.cf; the test appends its own main.cf lines and
# listeners; pf_start runs master, pf_stop ends it.
#  - smtpd does no reverse lookups (the host's resolver is out of reach);
#  - smtp runs chrooted in the queue directory, whose etc/resolv.conf
#    names the test bed's NSD, so MX lookups stay in the bed;
#  - the mail log is $dir/maillog (postlogd).

MASTER=${POSTFIX_MASTER:-/usr/lib/postfix/sbin/master}

# pf_available: true if a Postfix instance can run here (else the test
# skips, saying why)
pf_available() {
	if [ "${DANEMAP_NETNS:-0}" != 1 ] || [ "$(id -u)" != 0 ] ||
		[ ! -x "$MASTER" ] || ! id postfix >/dev/null 2>&1; then
		echo "SKIP: needs a private network namespace, root and Postfix"
		return 1
	fi
}

pf_prepare() {
	chmod 755 "$dir" # Postfix's unprivileged daemons read below it
	# (not $dir/pf: postmap_setup writes its own main.cf there)
	pf="$dir/postfix" q="$dir/pfq"
	mkdir -p "$pf" "$q/etc" "$q/pid" "$dir/pfdata"
	for d in active bounce corrupt defer deferred flush hold incoming \
		private saved trace; do
		mkdir -p "$q/$d"
		chown postfix "$q/$d"
		chmod 700 "$q/$d"
	done
	mkdir -p "$q/maildrop" "$q/public"
	chown postfix:postdrop "$q/maildrop" "$q/public"
	chmod 730 "$q/maildrop"
	chmod 710 "$q/public"
	chown postfix "$dir/pfdata"
	# postlogd writes the mail log as the postfix user
	: >"$dir/maillog"
	chown postfix "$dir/maillog"
	# the chrooted smtp client's resolver: the test bed's NSD
	echo "nameserver $TESTBED_ADDR" >"$q/etc/resolv.conf"
	cat >"$pf/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $q
	data_directory = $dir/pfdata
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = sender.danemap.invalid
	mydomain = danemap.invalid
	mydestination =
	relay_domains =
	local_recipient_maps =
	alias_maps =
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks, reject
	smtpd_peername_lookup = no
	smtpd_tls_loglevel = 1
	maillog_file_prefixes = $dir
	maillog_file = $dir/maillog
	EOF
	cat >"$pf/master.cf" <<-EOF
	pickup unix n - n 60 1 pickup
	cleanup unix n - n - 0 cleanup
	qmgr unix n - n 300 1 qmgr
	tlsmgr unix - - n 1000? 1 tlsmgr
	rewrite unix - - n - - trivial-rewrite
	bounce unix - - n - 0 bounce
	defer unix - - n - 0 bounce
	trace unix - - n - 0 bounce
	verify unix - - n - 1 verify
	flush unix n - n 1000? 0 flush
	proxymap unix - - n - - proxymap
	smtp unix - - y - - smtp
	relay unix - - y - - smtp
	showq unix n - n - - showq
	error unix - - n - - error
	retry unix - - n - - error
	discard unix - - n - - discard
	anvil unix - - n - 1 anvil
	scache unix - - n - 1 scache
	postlog unix-dgram n - n - 1 postlogd
	EOF
}

# pf_start: master in the foreground (-d), by pid in mpid; true once it
# has bound its ports (the test ends if it does not come up)
mpid=
pf_start() {
	"$MASTER" -c "$pf" -d >"$dir/master.out" 2>&1 &
	mpid=$!
	i=0
	while ! grep -q "daemon started" "$dir/maillog" && [ $i -lt 100 ] &&
		kill -0 "$mpid" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! grep -q "daemon started" "$dir/maillog"; then
		fail "Postfix master did not start: $(cat "$dir/master.out" "$dir/maillog" 2>&1)"
		finish
		exit 1
	fi
}

pf_stop() {
	[ -n "$mpid" ] || return 0
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	mpid=
}
