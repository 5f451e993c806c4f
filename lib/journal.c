/*
 * journal: append-only key log shared by daemon and warmer (see journal.h).
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_LINE_MAX 1024

struct journal {
	char *path;
	int fd;
	time_t checked;
};

int
journal_path(const char *state_dir, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/journal", state_dir);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

struct journal *
journal_open(const char *path)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		return NULL;
	}
	j->fd = -1;
	return j;
}

static bool
key_ok(const char *key, size_t len)
{
	if (len == 0 || len > JOURNAL_LINE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (key[i] <= ' ' || key[i] >= 0x7f)
			return false;
	return true;
}

/* Reopen when the file at path is no longer the one we hold. */
static int
ensure_open(struct journal *j, time_t now)
{
	struct stat path_st, fd_st;

	if (j->fd >= 0 && now - j->checked < 1)
		return 0;
	j->checked = now;
	if (j->fd >= 0 && stat(j->path, &path_st) == 0 &&
	    fstat(j->fd, &fd_st) == 0 && path_st.st_dev == fd_st.st_dev &&
	    path_st.st_ino == fd_st.st_ino)
		return 0;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = open(j->path,
	    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	return j->fd >= 0 ? 0 : -1;
}

long long
journal_size(const struct journal *j)
{
	struct stat st;

	if (stat(j->path, &st) == 0)
		return (long long)st.st_size;
	return errno == ENOENT ? 0 : -1;
}

int
journal_append(struct journal *j, const char *key, size_t len, time_t now)
{
	char line[JOURNAL_LINE_MAX + 1];
	ssize_t n;

	if (!key_ok(key, len)) {
		errno = EINVAL;
		return -1;
	}
	if (ensure_open(j, now) != 0)
		return -1;
	memcpy(line, key, len);
	line[len] = '\n';
	n = write(j->fd, line, len + 1);
	if (n != (ssize_t)(len + 1)) {
		if (n >= 0)
			errno = ENOSPC;
		return -1;
	}
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

int
journal_rotate(const char *path, time_t now, char *rotated, size_t size)
{
	if (snprintf(rotated, size, "%s.%lld.%ld", path, (long long)now,
	        (long)getpid()) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (rename(path, rotated) != 0)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

int
journal_rotated_each(const char *path, int (*fn)(const char *file, void *arg),
    void *arg)
{
	char dir_buf[4096], base_buf[4096], file[8192];
	const char *dir, *base;
	size_t base_len;
	struct dirent *de;
	DIR *d;
	int count = 0;

	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	snprintf(base_buf, sizeof(base_buf), "%s", path);
	dir = dirname(dir_buf);
	base = basename(base_buf);
	base_len = strlen(base);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		const char *rest = de->d_name + base_len;

		/* path.<digits>.<digits> only */
		if (strncmp(de->d_name, base, base_len) != 0 ||
		    rest[0] != '.' ||
		    strspn(rest + 1, "0123456789.") != strlen(rest + 1) ||
		    rest[1] == '\0')
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		count++;
		if (fn(file, arg) != 0)
			break;
	}
	closedir(d);
	return count;
}

int
journal_read(const char *file,
    int (*fn)(const char *key, size_t len, void *arg), void *arg,
    size_t *skipped)
{
	FILE *fp = fopen(file, "re");
	char line[JOURNAL_LINE_MAX + 2];
	bool long_line = false;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(line);
		bool complete = len > 0 && line[len - 1] == '\n';

		if (complete)
			len--;
		if (long_line) { /* the rest of an over-long line */
			long_line = !complete;
			continue;
		}
		if (!complete && !feof(fp)) { /* an over-long line starts */
			long_line = true;
			if (skipped != NULL)
				(*skipped)++;
			continue;
		}
		if (!key_ok(line, len)) {
			if (skipped != NULL && len > 0)
				(*skipped)++;
			continue;
		}
		if (fn(line, len, arg) != 0)
			break;
	}
	fclose(fp);
	return 0;
}
