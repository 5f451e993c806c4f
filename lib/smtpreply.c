/*
 * smtpreply: incremental SMTP reply reading (see smtpreply.h).
 */
#include "smtpreply.h"

#include <string.h>
#include <strings.h>

void
smtpreply_init(struct smtpreply *r)
{
	r->code = 0;
	r->lines = 0;
	r->starttls = false;
	r->text[0] = '\0';
	r->line_len = 0;
}

/* One whole line (no line end): 1 if it ends the reply, 0 if more
 * follow, -1 with *why if it is not a reply line. */
static int
take_line(struct smtpreply *r, const char *line, size_t len,
    const char **why)
{
	int code;
	const char *text;
	size_t text_len;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9') {
		*why = "a line that does not start with a reply code";
		return -1;
	}
	if (len > 3 && line[3] != '-' && line[3] != ' ') {
		*why = "a reply code not followed by a space or a hyphen";
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines > 0 && code != r->code) {
		*why = "the lines of one reply carry different codes";
		return -1;
	}
	if (++r->lines > SMTPREPLY_LINES_MAX) {
		*why = "a reply of too many lines";
		return -1;
	}
	r->code = code;
	text = len > 4 ? line + 4 : "";
	text_len = len > 4 ? len - 4 : 0;
	if (r->lines == 1) {
		size_t n = text_len < SMTPREPLY_TEXT_MAX ? text_len
		                                         : SMTPREPLY_TEXT_MAX;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)text[i];

			r->text[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		r->text[n] = '\0';
	} else if (text_len >= 8 && strncasecmp(text, "STARTTLS", 8) == 0 &&
	    (text_len == 8 || text[8] == ' '))
		r->starttls = true;
	return len == 3 || line[3] == ' ';
}

enum smtpreply_status
smtpreply_feed(struct smtpreply *r, const char *data, size_t len,
    size_t *used, const char **why)
{
	for (size_t i = 0; i < len; i++) {
		size_t n;
		int end;

		if (data[i] != '\n') {
			if (r->line_len == sizeof(r->line)) {
				*why = "a reply line longer than 1000 bytes";
				return SMTPREPLY_ERROR;
			}
			r->line[r->line_len++] = data[i];
			continue;
		}
		n = r->line_len;
		if (n > 0 && r->line[n - 1] == '\r')
			n--;
		r->line_len = 0;
		if (memchr(r->line, '\0', n) != NULL) {
			*why = "a NUL byte in a reply line";
			return SMTPREPLY_ERROR;
		}
		if ((end = take_line(r, r->line, n, why)) < 0)
			return SMTPREPLY_ERROR;
		if (end == 1) {
			*used = i + 1;
			return SMTPREPLY_DONE;
		}
	}
	*used = len;
	return SMTPREPLY_MORE;
}
