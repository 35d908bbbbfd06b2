/*
 * fuzz_msg.c -- libFuzzer harness for the message decoder.
 *
 * The input is decoded as a request and as an answer.  Whenever it
 * decodes, the oracle requires that the message re-encodes, that the
 * encoding decodes to an equal message, and that encoding is stable
 * (re-encoding the second message gives the same bytes).  Any breach
 * aborts, which libFuzzer reports as a crash.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "msg.h"
#include "wipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
msg_equal(const tk_msg_t *a, const tk_msg_t *b)
{
	const unsigned char *pa, *pb;
	size_t la, lb, i, n;
	uint64_t ua, ub;
	bool ba, bb;
	int k;

	if (tk_msg_type(a) != tk_msg_type(b) || tk_msg_dir(a) != tk_msg_dir(b))
		return (false);
	for (k = 0; k < TK_KEY_END; k++) {
		if (tk_msg_has(a, k) != tk_msg_has(b, k))
			return (false);
		if ((tk_msg_get_uint(a, k, &ua) == 0) !=
		    (tk_msg_get_uint(b, k, &ub) == 0) || ua != ub)
			return (false);
		if ((tk_msg_get_bool(a, k, &ba) == 0) !=
		    (tk_msg_get_bool(b, k, &bb) == 0) || ba != bb)
			return (false);
		if ((tk_msg_get_text(a, k) == NULL) !=
		    (tk_msg_get_text(b, k) == NULL))
			return (false);
		if (tk_msg_get_text(a, k) != NULL &&
		    strcmp(tk_msg_get_text(a, k), tk_msg_get_text(b, k)) != 0)
			return (false);
		if ((tk_msg_get_bytes(a, k, &pa, &la) == 0) !=
		    (tk_msg_get_bytes(b, k, &pb, &lb) == 0) || la != lb ||
		    (la > 0 && memcmp(pa, pb, la) != 0))
			return (false);
		if ((n = tk_msg_count(a, k)) != tk_msg_count(b, k))
			return (false);
		for (i = 0; i < n; i++)
			if (!msg_equal(tk_msg_record(a, k, i),
			    tk_msg_record(b, k, i)))
				return (false);
	}
	return (tk_msg_status(a) == tk_msg_status(b));
}

static void
check(const uint8_t *data, size_t size, enum tk_dir dir)
{
	unsigned char *e1 = NULL, *e2 = NULL;
	size_t l1 = 0, l2 = 0;
	tk_msg_t *m1 = NULL, *m2 = NULL;
	int r;

	r = tk_msg_decode(data, size, dir, &m1);
	if (r != 0) {
		/* an error leaves nothing behind, and says what it is */
		if (m1 != NULL || (r != TK_ERR_PROTO && r != TK_ERR_VERSION &&
		    r != TK_ERR_TOOBIG && r != TK_ERR_NOMEM))
			abort();
		return;
	}
	if (tk_msg_dir(m1) != dir)
		abort();
	if (tk_msg_encode(m1, &e1, &l1) != 0)
		abort();
	if (tk_msg_decode(e1, l1, dir, &m2) != 0)
		abort();
	if (!msg_equal(m1, m2))
		abort();
	if (tk_msg_encode(m2, &e2, &l2) != 0 || l1 != l2 ||
	    memcmp(e1, e2, l1) != 0)
		abort();
	tk_freezero(e1, l1);
	tk_freezero(e2, l2);
	tk_msg_free(&m1);
	tk_msg_free(&m2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, TK_DIR_REQUEST);
	check(data, size, TK_DIR_ANSWER);
	return (0);
}
