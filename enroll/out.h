/*
 * out.h -- human output of tokenadm: aligned tables (display width, so
 * Japanese headers line up), times and durations.
 */
#ifndef TK_OUT_H
#define TK_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TK_OUT_COLS_MAX		12	/* columns of a table */
#define TK_OUT_TIME_MAX		sizeof("YYYY-MM-DDTHH:MM:SSZ")
#define TK_OUT_DURATION_MAX	48	/* "123456789d 23:59:59" and more */

typedef struct tk_table tk_table_t;

/*
 * Returns a new table of ncols (1..TK_OUT_COLS_MAX) columns, with a
 * header row when head is not NULL, or NULL.  Free with tk_table_free().
 */
tk_table_t *tk_table_new(size_t ncols, const char *const *head);
/* Frees *tp and its cells (NULL-safe); sets *tp to NULL. */
void tk_table_free(tk_table_t **tp);
/*
 * Appends a row of ncols cells, copied (NULL cells print as "-").
 * Returns 0 or -1 when out of memory.
 */
int tk_table_add(tk_table_t *, const char *const *cells);
/* Prints the rows, columns two spaces apart, no trailing blanks. */
void tk_table_print(const tk_table_t *, FILE *fp);

/* Display width of UTF-8 text in the current locale (bytes as a fallback). */
size_t tk_out_width(const char *);

/*
 * Writes UNIX time t as ISO 8601 UTC ("2024-04-01T09:30:00Z") into buf
 * and returns buf, or returns NULL for t == 0 (never) or a time that
 * cannot be shown.
 */
const char *tk_out_time(uint64_t t, char buf[TK_OUT_TIME_MAX]);
/* Writes a duration as "3d 04:05:06" or "04:05:06"; returns buf. */
const char *tk_out_duration(uint64_t s, char buf[TK_OUT_DURATION_MAX]);

#endif /* TK_OUT_H */
