/*
 * out.c -- tables and times for people.  Cells are measured in display
 * columns, not bytes: a Japanese character in a translated header is
 * three bytes of UTF-8 but two columns on the terminal.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "out.h"

#define SECS_PER_DAY	86400u
#define SECS_PER_HOUR	3600u
#define SECS_PER_MIN	60u
#define COL_GAP		2	/* blanks between columns */

struct tk_table {
	size_t	  ncols;
	size_t	  nrows;
	size_t	  cap;		/* rows allocated */
	char	**cells;	/* nrows * ncols, row-major */
};

tk_table_t *
tk_table_new(size_t ncols, const char *const *head)
{
	tk_table_t *t;

	if (ncols == 0 || ncols > TK_OUT_COLS_MAX)
		return (NULL);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	t->ncols = ncols;
	if (head != NULL && tk_table_add(t, head) != 0) {
		tk_table_free(&t);
		return (NULL);
	}
	return (t);
}

void
tk_table_free(tk_table_t **tp)
{
	tk_table_t *t;
	size_t i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	*tp = NULL;
}

int
tk_table_add(tk_table_t *t, const char *const *cells)
{
	char **p;
	size_t i, cap, base;

	if (t->nrows == t->cap) {
		cap = t->cap == 0 ? 16 : t->cap * 2;
		if (cap > SIZE_MAX / t->ncols / sizeof(*p))
			return (-1);
		if ((p = realloc(t->cells, cap * t->ncols * sizeof(*p))) ==
		    NULL)
			return (-1);
		t->cells = p;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		if ((t->cells[base + i] = strdup(cells[i] != NULL ?
		    cells[i] : "-")) == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return (-1);
		}
	}
	t->nrows++;
	return (0);
}

size_t
tk_out_width(const char *s)
{
	mbstate_t st;
	wchar_t wc;
	size_t n, w = 0, len = strlen(s);
	int cw;

	memset(&st, 0, sizeof(st));
	while (len > 0) {
		n = mbrtowc(&wc, s, len, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			/* not text in this locale: count the bytes */
			memset(&st, 0, sizeof(st));
			n = 1;
			cw = 1;
		} else if ((cw = wcwidth(wc)) < 0)
			cw = 1;
		w += (size_t)cw;
		s += n;
		len -= n;
	}
	return (w);
}

void
tk_table_print(const tk_table_t *t, FILE *fp)
{
	size_t width[TK_OUT_COLS_MAX];
	size_t r, i, w, pad;
	const char *cell;

	memset(width, 0, sizeof(width));
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			w = tk_out_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			fputs(cell, fp);
			if (i + 1 == t->ncols)
				break;
			pad = width[i] - tk_out_width(cell) + COL_GAP;
			while (pad-- > 0)
				fputc(' ', fp);
		}
		fputc('\n', fp);
	}
}

const char *
tk_out_time(uint64_t t, char buf[TK_OUT_TIME_MAX])
{
	struct tm tm;
	time_t tt;

	buf[0] = '\0';
	if (t == 0 || t > (uint64_t)INT64_MAX)
		return (NULL);
	tt = (time_t)t;
	if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		return (NULL);
	if (strftime(buf, TK_OUT_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return (NULL);
	return (buf);
}

const char *
tk_out_duration(uint64_t s, char buf[TK_OUT_DURATION_MAX])
{
	uint64_t d = s / SECS_PER_DAY;
	unsigned h = (unsigned)(s % SECS_PER_DAY / SECS_PER_HOUR);
	unsigned m = (unsigned)(s % SECS_PER_HOUR / SECS_PER_MIN);
	unsigned sec = (unsigned)(s % SECS_PER_MIN);

	if (d > 0)
		snprintf(buf, TK_OUT_DURATION_MAX,
		    "%" PRIu64 "d %02u:%02u:%02u", d, h, m, sec);
	else
		snprintf(buf, TK_OUT_DURATION_MAX, "%02u:%02u:%02u", h, m, sec);
	return (buf);
}
