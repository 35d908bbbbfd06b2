/*
 * json.h -- a small streaming JSON writer for tokenadm --json.  Commas
 * and nesting are tracked for the caller; strings are escaped so the
 * output is valid JSON for any input bytes.
 */
#ifndef TK_JSON_H
#define TK_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TK_JSON_DEPTH_MAX	8	/* nesting levels */

struct tk_json {
	FILE	*fp;
	int	 depth;
	bool	 first[TK_JSON_DEPTH_MAX + 1];	/* nothing yet at this level */
	bool	 after_key;			/* a value completes a member */
	bool	 failed;			/* misuse or nesting too deep */
};

/* Starts writing one JSON text to fp. */
void tk_json_init(struct tk_json *, FILE *fp);

void tk_json_object_begin(struct tk_json *);
void tk_json_object_end(struct tk_json *);
void tk_json_array_begin(struct tk_json *);
void tk_json_array_end(struct tk_json *);
/* the name of the next object member */
void tk_json_key(struct tk_json *, const char *);
/* values; a NULL string is written as null */
void tk_json_string(struct tk_json *, const char *);
void tk_json_uint(struct tk_json *, uint64_t);
void tk_json_bool(struct tk_json *, bool);
void tk_json_null(struct tk_json *);

/*
 * Ends the text with a newline.  Returns 0, or -1 when the structure
 * was unbalanced or misused, or writing failed.
 */
int tk_json_finish(struct tk_json *);

/*
 * Writes s as a JSON string literal, quotes included: '"' and '\\'
 * escaped, control characters as \b \f \n \r \t or \u00XX, U+2028 and
 * U+2029 as \u2028 and \u2029, and each byte that is not part of valid
 * UTF-8 as U+FFFD.
 */
void tk_json_write_string(FILE *fp, const char *s);

#endif /* TK_JSON_H */
