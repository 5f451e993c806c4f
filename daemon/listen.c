/*
 * listen.c: where requests arrive and as whom danemapd runs (see
 * server.h): the unix and TCP listeners (or sockets from systemd), the
 * privilege drop after binding, and a state_dir the daemon's user can
 * write its journal in.
 */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "server.h"

/* systemd socket activation: LISTEN_PID is us, LISTEN_FDS sockets from 3. */
static int
activated_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 0;
	n = atol(fds);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n > 0 && n <= CONFIG_MAX_LISTEN ? (int)n : 0;
}

int
listen_unix_fd(const struct config *cfg, const char *path, unsigned mode,
    const char *group, bool owned, char *err, size_t err_size)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, err_size, "%s exists and is not a socket",
			    path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, mode) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			snprintf(err, err_size,
			    "%s: cannot give it to group %s", path, group);
			close(fd);
			return -1;
		}
	}
	if (owned && cfg->user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(cfg->user);

		if (pw == NULL || chown(path, pw->pw_uid, pw->pw_gid) != 0) {
			snprintf(err, err_size, "%s: cannot give it to user %s",
			    path, cfg->user);
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
listen_inet_fd(const struct config_listen *l, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(l->address, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->address, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->address, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, err_size, "inet:%s:%u: %s", l->address, l->port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
add_listener(struct server *srv, int fd, const char *unix_path, char *err,
    size_t err_size)
{
	struct listener *l = &srv->listeners[srv->listener_count];

	evutil_make_socket_nonblocking(fd);
	l->ev = evconnlistener_new(srv->base, accept_conn, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd);
	if (l->ev == NULL) {
		snprintf(err, err_size, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(l->unix_path, sizeof(l->unix_path), "%s",
	    unix_path != NULL ? unix_path : "");
	srv->listener_count++;
	return 0;
}

int
open_listeners(struct server *srv, char *err, size_t err_size)
{
	int n = activated_fds();

	if (n > 0) {
		for (int i = 0; i < n; i++)
			if (add_listener(srv, 3 + i, NULL, err, err_size) != 0)
				return -1;
		log_msg(LOG_LEVEL_INFO, "using %d socket(s) from systemd", n);
		return 0;
	}
	for (size_t i = 0; i < srv->cfg.listen_count; i++) {
		const struct config_listen *l = &srv->cfg.listen[i];
		int fd = l->kind == CONFIG_LISTEN_UNIX
		    ? listen_unix_fd(&srv->cfg, l->path, srv->cfg.socket_mode,
		          srv->cfg.socket_group, false, err, err_size)
		    : listen_inet_fd(l, err, err_size);

		if (fd < 0 ||
		    add_listener(srv, fd,
		        l->kind == CONFIG_LISTEN_UNIX ? l->path : NULL, err,
		        err_size) != 0)
			return -1;
	}
	return 0;
}

void
close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->listener_count; i++) {
		evconnlistener_free(srv->listeners[i].ev);
		if (srv->listeners[i].unix_path[0] != '\0')
			(void)unlink(srv->listeners[i].unix_path);
	}
	srv->listener_count = 0;
}

int
drop_privileges(const struct config *cfg, char *err, size_t err_size)
{
	struct passwd *pw;

	if (cfg->user[0] == '\0') {
		if (geteuid() == 0)
			log_msg(LOG_LEVEL_WARNING,
			    "running as root: set user = NAME in the "
			    "configuration");
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		snprintf(err, err_size, "unknown user %s", cfg->user);
		return -1;
	}
	/* setres*: real, effective and saved ids all change, so nothing
	 * can switch back to root later. */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		snprintf(err, err_size, "cannot become %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The state directory must be one the daemon's user can write in (the
 * journal lives there): a missing one is created for that user when
 * create is set (as Postfix's postfix-script sets up its queue); an
 * existing one that user cannot write is an error, never silently a
 * journal that stays off. Returns 0, or -1 with a message in err.
 */
static bool
dir_writable_by(const struct stat *st, const struct passwd *pw, uid_t uid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) ==
		    (S_IWUSR | S_IXUSR);
	if (pw != NULL) {
		gid_t groups[64];
		int n = 64;

		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
			for (int i = 0; i < n; i++)
				if (groups[i] == st->st_gid)
					return (st->st_mode &
					           (S_IWGRP | S_IXGRP)) ==
					    (S_IWGRP | S_IXGRP);
	} else if (st->st_gid == getegid())
		return (st->st_mode & (S_IWGRP | S_IXGRP)) ==
		    (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

int
state_dir_ready(const struct config *cfg, bool create, char *err,
    size_t err_size)
{
	struct passwd *pw = NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct stat st;

	if (cfg->user[0] != '\0') {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, err_size, "unknown user %s", cfg->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (stat(cfg->state_dir, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, err_size, "state_dir %s: %s",
			    cfg->state_dir, strerror(errno));
			return -1;
		}
		if (!create)
			return 0; /* created at start */
		if (mkdir(cfg->state_dir, 0750) != 0 ||
		    (geteuid() == 0 && chown(cfg->state_dir, uid, gid) != 0)) {
			snprintf(err, err_size,
			    "cannot create state_dir %s: %s", cfg->state_dir,
			    strerror(errno));
			return -1;
		}
		log_msg(LOG_LEVEL_NOTICE, "created state_dir %s for user %s",
		    cfg->state_dir, pw != NULL ? pw->pw_name : "(this one)");
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "state_dir %s is not a directory",
		    cfg->state_dir);
		return -1;
	}
	if (!dir_writable_by(&st, pw, uid)) {
		snprintf(err, err_size,
		    "state_dir %s is not writable by user %s: the journal "
		    "of live keys could not be written (chown it to that "
		    "user, or remove it to have it created)",
		    cfg->state_dir, pw != NULL ? pw->pw_name : "(this one)");
		return -1;
	}
	return 0;
}
