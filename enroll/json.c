/*
 * json.c -- the JSON writer.  No JSON library is available on the
 * target systems, and tokenadm only ever writes JSON, so a writer is
 * all there is.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD in UTF-8 */

/*
 * Length of the valid UTF-8 sequence at s (at most 4 bytes, no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.  The
 * code point is stored in *cp.
 */
static size_t
utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t c, min;
	size_t i, n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return (0);
	/* a NUL stops here too: it is never a continuation byte */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

void
tk_json_write_string(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t n;

	fputc('"', fp);
	while (*s != '\0') {
		if ((n = utf8_seq(s, &cp)) == 0) {
			fputs(REPLACEMENT, fp);
			s++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\b':
			fputs("\\b", fp);
			break;
		case '\f':
			fputs("\\f", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		case 0x2028:
		case 0x2029:
			/* valid JSON, but not inside JavaScript source */
			fprintf(fp, "\\u%04" PRIx32, cp);
			break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fprintf(fp, "\\u%04" PRIx32, cp);
			else
				fwrite(s, 1, n, fp);
			break;
		}
		s += n;
	}
	fputc('"', fp);
}

void
tk_json_init(struct tk_json *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
	j->first[0] = true;
}

/* Writes what must come before a value: a comma between elements. */
static void
before_value(struct tk_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->fp);
	j->first[j->depth] = false;
}

static void
open_level(struct tk_json *j, int c)
{
	before_value(j);
	if (j->depth >= TK_JSON_DEPTH_MAX) {
		j->failed = true;
		return;
	}
	fputc(c, j->fp);
	j->depth++;
	j->first[j->depth] = true;
}

static void
close_level(struct tk_json *j, int c)
{
	if (j->depth == 0 || j->after_key) {
		j->failed = true;
		return;
	}
	fputc(c, j->fp);
	j->depth--;
}

void
tk_json_object_begin(struct tk_json *j)
{
	open_level(j, '{');
}

void
tk_json_object_end(struct tk_json *j)
{
	close_level(j, '}');
}

void
tk_json_array_begin(struct tk_json *j)
{
	open_level(j, '[');
}

void
tk_json_array_end(struct tk_json *j)
{
	close_level(j, ']');
}

void
tk_json_key(struct tk_json *j, const char *k)
{
	if (j->after_key || j->depth == 0) {
		j->failed = true;
		return;
	}
	before_value(j);
	tk_json_write_string(j->fp, k != NULL ? k : "");
	fputc(':', j->fp);
	j->after_key = true;
}

void
tk_json_string(struct tk_json *j, const char *s)
{
	before_value(j);
	if (s == NULL)
		fputs("null", j->fp);
	else
		tk_json_write_string(j->fp, s);
}

void
tk_json_uint(struct tk_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->fp, "%" PRIu64, v);
}

void
tk_json_bool(struct tk_json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->fp);
}

void
tk_json_null(struct tk_json *j)
{
	before_value(j);
	fputs("null", j->fp);
}

int
tk_json_finish(struct tk_json *j)
{
	fputc('\n', j->fp);
	if (j->failed || j->depth != 0 || j->after_key || ferror(j->fp))
		return (-1);
	return (0);
}
