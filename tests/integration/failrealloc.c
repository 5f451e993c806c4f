/*
 * failrealloc.c: an LD_PRELOAD shim for fault tests (store.sh): every
 * realloc of FAIL_REALLOC_FROM bytes or more fails with ENOMEM, as it
 * would when memory runs out; smaller ones go to the C library's.
 * Built by the test with `cc -shared -fPIC`; not used under sanitizers or
 * valgrind, which replace the allocator themselves.
 */
#include <errno.h>
#include <stdlib.h>

void *__libc_realloc(void *p, size_t size);
void *realloc(void *p, size_t size);

void *
realloc(void *p, size_t size)
{
	static size_t from;
	static int read_env;

	if (!read_env) {
		const char *s = getenv("FAIL_REALLOC_FROM");

		from = s != NULL ? strtoul(s, NULL, 10) : 0;
		read_env = 1;
	}
	if (from > 0 && size >= from) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}
