/*
 * smtpreply: SMTP server replies (RFC 5321 §4.2), read incrementally, for
 * `danemap probe`'s short dialogue (banner, EHLO, STARTTLS, QUIT).
 *
 * A reply is one or more lines "ddd-text" ending with "ddd text" (or a
 * bare "ddd"), every line with the same code, 200 to 599 (a 1yz code is
 * no reply to anything the probe sends). Lines end in CRLF; a bare LF is
 * accepted (what servers do, not what they should). For an EHLO reply
 * the lines after the first are keywords: STARTTLS is noted. The first
 * line's text is kept, cut and made printable, for reports.
 *
 * Pure: bytes in, a result out; no I/O. Deliberately not here: the
 * dialogue itself, timeouts, TLS.
 */
#ifndef DANEMAP_SMTPREPLY_H
#define DANEMAP_SMTPREPLY_H

#include <stdbool.h>
#include <stddef.h>

#define SMTPREPLY_LINE_MAX 1000 /* RFC 5321 §4.5.3.1.5 is 512; be lenient */
#define SMTPREPLY_LINES_MAX 100
#define SMTPREPLY_TEXT_MAX 120

struct smtpreply {
	int code;      /* when done */
	size_t lines;  /* lines read so far */
	bool starttls; /* a later line's keyword is STARTTLS */
	char text[SMTPREPLY_TEXT_MAX + 1]; /* the first line's text */
	/* the line being read */
	char line[SMTPREPLY_LINE_MAX];
	size_t line_len;
};

enum smtpreply_status {
	SMTPREPLY_MORE,  /* every byte taken; the reply goes on */
	SMTPREPLY_DONE,  /* a whole reply: *used bytes were its end */
	SMTPREPLY_ERROR, /* not an SMTP reply: *why says how */
};

/* smtpreply_init: ready to read a reply. */
void smtpreply_init(struct smtpreply *r);

/*
 * smtpreply_feed: read data[0..len). On DONE, *used is how many bytes the
 * reply took (the rest belongs to whatever follows); on MORE all were
 * taken; on ERROR *why (static) says what was wrong.
 */
enum smtpreply_status smtpreply_feed(struct smtpreply *r, const char *data,
    size_t len, size_t *used, const char **why);

#endif
