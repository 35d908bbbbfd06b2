/*
 * test_msg.c -- messages: round trips of every type in both directions,
 * list records, golden encodings, setters, and every malformed input
 * the strict decoder must refuse.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "msg.h"
#include "msg_schema.h"
#include "wipe.h"

#define BUF_MAX	(TK_FRAME_MAX + 16)

/* Decodes hex text (spaces ignored) into out; returns the byte count. */
static size_t
unhex(const char *h, unsigned char *out, size_t outlen)
{
	size_t n = 0;
	unsigned v;

	while (*h != '\0') {
		if (*h == ' ') {
			h++;
			continue;
		}
		assert_true(h[1] != '\0');
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		assert_true(n < outlen);
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return (n);
}

/* Decodes hex in direction dir; returns the decoder's result. */
static int
dec(const char *hex, enum tk_dir dir)
{
	static unsigned char buf[BUF_MAX];
	tk_msg_t *m = NULL;
	size_t n;
	int r;

	n = unhex(hex, buf, sizeof(buf));
	r = tk_msg_decode(buf, n, dir, &m);
	if (r == 0)
		assert_non_null(m);
	else
		assert_null(m);
	tk_msg_free(&m);
	return (r);
}

/* value a generated field gets, derived from its key */
static uint64_t
gen_uint(unsigned key)
{
	return ((uint64_t)key * 1000003u + 7);
}

/* a text at the field's full limit, valid UTF-8, varying by key */
static char *
gen_text(unsigned key, size_t len)
{
	char *s;
	size_t i;

	s = malloc(len + 1);
	assert_non_null(s);
	for (i = 0; i < len; i++)
		s[i] = (char)('a' + (key + i) % 26);
	s[len] = '\0';
	return (s);
}

static void
fill(tk_msg_t *m, const struct tk_schema *s, size_t nrec)
{
	const struct tk_field *f;
	tk_msg_t *rec;
	size_t i, j;
	char *t;

	for (i = 0; i < s->nfields; i++) {
		f = &s->fields[i];
		switch (f->vtype) {
		case TK_V_UINT:
			assert_int_equal(tk_msg_set_uint(m, f->key,
			    gen_uint(f->key)), 0);
			break;
		case TK_V_BOOL:
			assert_int_equal(tk_msg_set_bool(m, f->key,
			    f->key % 2), 0);
			break;
		case TK_V_TEXT:
			t = gen_text(f->key, f->max);
			assert_int_equal(tk_msg_set_text(m, f->key, t), 0);
			free(t);
			break;
		case TK_V_BYTES:
			t = gen_text(f->key, f->max);
			assert_int_equal(tk_msg_set_bytes(m, f->key, t,
			    f->max), 0);
			free(t);
			break;
		case TK_V_LIST:
			for (j = 0; j < nrec; j++) {
				rec = tk_msg_add_record(m, f->key);
				assert_non_null(rec);
				fill(rec, f->rec, 0);
			}
			break;
		default:
			fail_msg("unexpected field type %d", f->vtype);
		}
	}
}

static void
check(const tk_msg_t *m, const struct tk_schema *s, size_t nrec)
{
	const struct tk_field *f;
	uint64_t u;
	size_t i, j;
	bool b;
	char *t;

	for (i = 0; i < s->nfields; i++) {
		f = &s->fields[i];
		switch (f->vtype) {
		case TK_V_UINT:
			assert_int_equal(tk_msg_get_uint(m, f->key, &u), 0);
			assert_true(u == gen_uint(f->key));
			break;
		case TK_V_BOOL:
			assert_int_equal(tk_msg_get_bool(m, f->key, &b), 0);
			assert_int_equal(b, f->key % 2);
			break;
		case TK_V_TEXT:
			t = gen_text(f->key, f->max);
			assert_non_null(tk_msg_get_text(m, f->key));
			assert_string_equal(tk_msg_get_text(m, f->key), t);
			free(t);
			break;
		case TK_V_LIST:
			assert_int_equal(tk_msg_count(m, f->key), nrec);
			for (j = 0; j < nrec; j++)
				check(tk_msg_record(m, f->key, j), f->rec, 0);
			assert_null(tk_msg_record(m, f->key, nrec));
			break;
		}
	}
}

static void
roundtrip(enum tk_dir dir, uint32_t type, size_t nrec)
{
	const struct tk_schema *s;
	tk_msg_t *m, *d = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	uint64_t u;

	s = tk_schema_lookup(dir, type);
	assert_non_null(s);
	m = dir == TK_DIR_ANSWER ? tk_msg_new_answer(type, TK_ST_OK) :
	    tk_msg_new(dir, type);
	assert_non_null(m);
	fill(m, s, nrec);
	if (dir == TK_DIR_ANSWER)
		assert_int_equal(tk_msg_set_text(m, TK_KEY_REASON, "fine"), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), 0);
	assert_true(len > 0 && len <= TK_FRAME_MAX);
	assert_int_equal(tk_msg_decode(buf, len, dir, &d), 0);
	assert_int_equal(tk_msg_type(d), type);
	assert_int_equal(tk_msg_dir(d), dir);
	assert_int_equal(tk_msg_get_uint(d, TK_KEY_VERSION, &u), 0);
	assert_int_equal(u, TK_PROTO_VERSION);
	check(d, s, nrec);
	if (dir == TK_DIR_ANSWER) {
		assert_int_equal(tk_msg_status(d), TK_ST_OK);
		assert_string_equal(tk_msg_get_text(d, TK_KEY_REASON), "fine");
	} else
		assert_false(tk_msg_has(d, TK_KEY_STATUS));
	/* the other direction's schema refuses it */
	tk_msg_free(&d);
	assert_int_not_equal(tk_msg_decode(buf, len, dir == TK_DIR_REQUEST ?
	    TK_DIR_ANSWER : TK_DIR_REQUEST, &d), 0);
	assert_null(d);
	tk_freezero(buf, len);
	tk_msg_free(&m);
	assert_null(m);
}

static void
test_roundtrip_requests(void **state)
{
	uint32_t t;

	for (t = 1; t < TK_MSG_TYPE_END; t++)
		roundtrip(TK_DIR_REQUEST, t, 0);
}

static void
test_roundtrip_answers(void **state)
{
	uint32_t t;

	for (t = 1; t < TK_MSG_TYPE_END; t++)
		roundtrip(TK_DIR_ANSWER, t, 3);
}

static void
test_list_records(void **state)
{
	roundtrip(TK_DIR_ANSWER, TK_MSG_CRED_LIST, 0);
	roundtrip(TK_DIR_ANSWER, TK_MSG_CRED_LIST, 1);
	roundtrip(TK_DIR_ANSWER, TK_MSG_CRED_LIST, 100);
}

static void
test_list_max(void **state)
{
	tk_msg_t *m, *rec;
	size_t i;

	m = tk_msg_new_answer(TK_MSG_CRED_LIST, TK_ST_OK);
	assert_non_null(m);
	/* the schema's page size bounds CRED_LIST, below TK_LIST_MAX */
	for (i = 0; i < TK_LIST_PAGE; i++)
		assert_non_null(tk_msg_add_record(m, TK_KEY_CREDS));
	assert_null(tk_msg_add_record(m, TK_KEY_CREDS));
	assert_int_equal(tk_msg_count(m, TK_KEY_CREDS), TK_LIST_PAGE);
	/* not a list field; records have no lists */
	assert_null(tk_msg_add_record(m, TK_KEY_USER));
	rec = (tk_msg_t *)(uintptr_t)tk_msg_record(m, TK_KEY_CREDS, 0);
	assert_null(tk_msg_add_record(rec, TK_KEY_CREDS));
	tk_msg_free(&m);
}

static void
test_golden_request(void **state)
{
	static const unsigned char want[] = {
		0xa3, 0x00, 0x01, 0x01, 0x02, 0x0a, 0x63, 'b', 'o', 'b'
	};
	unsigned char *buf = NULL;
	tk_msg_t *m;
	size_t len = 0;

	m = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_STATUS);
	assert_non_null(m);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "bob"), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	tk_freezero(buf, len);
	tk_msg_free(&m);
	assert_int_equal(dec("a3 0001 0102 0a63626f62", TK_DIR_REQUEST), 0);
	/* key order does not matter */
	assert_int_equal(dec("a3 0a63626f62 0102 0001", TK_DIR_REQUEST), 0);
}

static void
test_golden_answer(void **state)
{
	/* {0:1, 1:2, 2:0, 40:1, 41:false, 42:3} */
	static const unsigned char want[] = {
		0xa6, 0x00, 0x01, 0x01, 0x02, 0x02, 0x00, 0x18, 0x28, 0x01,
		0x18, 0x29, 0xf4, 0x18, 0x2a, 0x03
	};
	unsigned char *buf = NULL;
	tk_msg_t *m, *d = NULL;
	size_t len = 0;
	uint64_t u;
	bool b;

	m = tk_msg_new_answer(TK_MSG_USER_STATUS, TK_ST_OK);
	assert_non_null(m);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_FACTORS, TK_FACTOR_TOTP),
	    0);
	assert_int_equal(tk_msg_set_bool(m, TK_KEY_LOCKED, false), 0);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_FAILURES, 3), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(tk_msg_decode(buf, len, TK_DIR_ANSWER, &d), 0);
	assert_int_equal(tk_msg_get_uint(d, TK_KEY_FACTORS, &u), 0);
	assert_int_equal(u, TK_FACTOR_TOTP);
	assert_int_equal(tk_msg_get_bool(d, TK_KEY_LOCKED, &b), 0);
	assert_false(b);
	tk_freezero(buf, len);
	tk_msg_free(&m);
	tk_msg_free(&d);
}

static void
test_answer_not_ok(void **state)
{
	unsigned char *buf = NULL;
	tk_msg_t *m, *d = NULL;
	size_t len = 0;

	/* required fields are required only when the status is ok */
	m = tk_msg_new_answer(TK_MSG_STATUS, TK_ST_DENIED);
	assert_non_null(m);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_REASON, "not yours"), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), 0);
	assert_int_equal(tk_msg_decode(buf, len, TK_DIR_ANSWER, &d), 0);
	assert_int_equal(tk_msg_status(d), TK_ST_DENIED);
	assert_string_equal(tk_msg_get_text(d, TK_KEY_REASON), "not yours");
	tk_freezero(buf, len);
	tk_msg_free(&d);
	/* the same answer with status ok misses its fields */
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_STATUS, TK_ST_OK), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), TK_ERR_PROTO);
	assert_null(buf);
	assert_int_equal(len, 0);
	tk_msg_free(&m);
	/* {0:1,1:1,2:6} decodes; {0:1,1:1,2:0} does not */
	assert_int_equal(dec("a3 0001 0101 0206", TK_DIR_ANSWER), 0);
	assert_int_equal(dec("a3 0001 0101 0200", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
	/* status 15 (not_allowed) is the last one; 16 is out of range */
	assert_int_equal(dec("a3 0001 010f 020f", TK_DIR_ANSWER), 0);
	assert_int_equal(dec("a3 0001 0101 0210", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
	/* no status */
	assert_int_equal(dec("a2 0001 0101", TK_DIR_ANSWER), TK_ERR_PROTO);
	/* a request may not carry one */
	assert_int_equal(dec("a3 0001 0101 0200", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
}

static void
test_setters(void **state)
{
	char big[TK_USER_MAX + 2];
	tk_msg_t *m, *a;
	uint64_t u;
	bool b;
	const unsigned char *p;
	size_t n;

	m = tk_msg_new(TK_DIR_REQUEST, TK_MSG_TOTP_VERIFY);
	assert_non_null(m);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "a\tb"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "a\x7f"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "\xff"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "\xc0\xaf"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "\xed\xa0\x80"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER,
	    "\xe7\xa2\xba\xe8\xaa\x8d"), 0);	/* 確認 */
	memset(big, 'x', sizeof(big));
	big[TK_USER_MAX + 1] = '\0';
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, big), TK_ERR_INVAL);
	big[TK_USER_MAX] = '\0';
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, big), 0);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, NULL), TK_ERR_INVAL);
	/* wrong type, key not in this type, key out of range, fixed keys */
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_USER, 1), TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_UPTIME, 1), TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_END, 1), TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_VERSION, 2),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_TYPE, 2), TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_uint(m, TK_KEY_STATUS, 0), TK_ERR_INVAL);
	assert_int_equal(tk_msg_set_bytes(m, TK_KEY_CODE, "1", 1),
	    TK_ERR_INVAL);
	/* replacing */
	assert_int_equal(tk_msg_set_text(m, TK_KEY_CODE, "123456"), 0);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_CODE, "654321"), 0);
	assert_string_equal(tk_msg_get_text(m, TK_KEY_CODE), "654321");
	/* getters of absent fields and of other types */
	assert_false(tk_msg_has(m, TK_KEY_TTY));
	assert_null(tk_msg_get_text(m, TK_KEY_TTY));
	assert_int_equal(tk_msg_get_uint(m, TK_KEY_CODE, &u), TK_ERR_ABSENT);
	assert_int_equal(tk_msg_get_bool(m, TK_KEY_CODE, &b), TK_ERR_ABSENT);
	assert_int_equal(tk_msg_get_bytes(m, TK_KEY_CODE, &p, &n),
	    TK_ERR_ABSENT);
	assert_null(p);
	assert_int_equal(tk_msg_count(m, TK_KEY_CREDS), 0);
	assert_int_equal(tk_msg_status(m), TK_ST_INTERNAL);
	assert_true(tk_msg_has(m, TK_KEY_TYPE));
	tk_msg_free(&m);
	tk_msg_free(&m);	/* NULL-safe */

	a = tk_msg_new(TK_DIR_ANSWER, TK_MSG_STATUS);
	assert_non_null(a);
	assert_int_equal(tk_msg_set_uint(a, TK_KEY_STATUS, TK_ST_END),
	    TK_ERR_INVAL);
	assert_int_equal(tk_msg_status(a), TK_ST_INTERNAL);
	assert_int_equal(tk_msg_set_uint(a, TK_KEY_STATUS, TK_ST_EXPIRED), 0);
	assert_int_equal(tk_msg_status(a), TK_ST_EXPIRED);
	tk_msg_free(&a);

	assert_null(tk_msg_new(TK_DIR_REQUEST, 0));
	assert_null(tk_msg_new(TK_DIR_REQUEST, TK_MSG_TYPE_END));
	assert_null(tk_msg_new_answer(TK_MSG_STATUS, TK_ST_END));
}

static void
test_encode_errors(void **state)
{
	unsigned char dummy[1], *buf = dummy;
	tk_msg_t *m, *rec;
	size_t len = 1, i;
	char *t;

	/* request without its required user */
	m = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_STATUS);
	assert_int_equal(tk_msg_encode(m, &buf, &len), TK_ERR_PROTO);
	assert_null(buf);
	assert_int_equal(len, 0);
	tk_msg_free(&m);

	/* a record without its required fields */
	m = tk_msg_new_answer(TK_MSG_CRED_LIST, TK_ST_OK);
	rec = tk_msg_add_record(m, TK_KEY_CREDS);
	assert_non_null(rec);
	assert_int_equal(tk_msg_set_text(rec, TK_KEY_USER, "bob"), 0);
	assert_int_equal(tk_msg_encode(m, &buf, &len), TK_ERR_PROTO);
	tk_msg_free(&m);

	/*
	 * The largest answer the schema allows -- a full CRED_LIST page,
	 * every record with every field at its limit -- fits in a frame
	 * (proto.h, TK_LIST_PAGE), so no valid answer is ever TOOBIG.
	 */
	m = tk_msg_new_answer(TK_MSG_CRED_LIST, TK_ST_OK);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_REASON,
	    (t = gen_text(0, TK_REASON_MAX))), 0);
	free(t);
	assert_int_equal(tk_msg_set_bool(m, TK_KEY_MORE, true), 0);
	for (i = 0; i < TK_LIST_PAGE; i++) {
		rec = tk_msg_add_record(m, TK_KEY_CREDS);
		assert_non_null(rec);
		t = gen_text(i, TK_USER_MAX);
		assert_int_equal(tk_msg_set_text(rec, TK_KEY_USER, t), 0);
		free(t);
		t = gen_text(i, TK_LABEL_MAX);
		assert_int_equal(tk_msg_set_text(rec, TK_KEY_LABEL, t), 0);
		free(t);
		t = gen_text(i, TK_SHORT_TEXT_MAX);
		assert_int_equal(tk_msg_set_text(rec, TK_KEY_KIND, t), 0);
		assert_int_equal(tk_msg_set_text(rec, TK_KEY_STATE, t), 0);
		assert_int_equal(tk_msg_set_text(rec, TK_KEY_ALGORITHM, t), 0);
		free(t);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_CRED, UINT64_MAX),
		    0);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_CREATED,
		    UINT64_MAX), 0);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_LAST_USED,
		    UINT64_MAX), 0);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_DIGITS,
		    UINT64_MAX), 0);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_PERIOD,
		    UINT64_MAX), 0);
		assert_int_equal(tk_msg_set_uint(rec, TK_KEY_FAILURES,
		    UINT64_MAX), 0);
		assert_int_equal(tk_msg_set_bool(rec, TK_KEY_LOCKED, true), 0);
	}
	assert_int_equal(tk_msg_encode(m, &buf, &len), 0);
	assert_true(len <= TK_FRAME_MAX);
	free(buf);
	buf = NULL;
	tk_msg_free(&m);

	assert_int_equal(tk_msg_encode(NULL, &buf, &len), TK_ERR_INVAL);
}

static void
test_empty_and_not_map(void **state)
{
	tk_msg_t *m = NULL;

	assert_int_equal(tk_msg_decode((const unsigned char *)"", 0,
	    TK_DIR_REQUEST, &m), TK_ERR_PROTO);
	assert_null(m);
	assert_int_equal(dec("a0", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("01", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("80", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("82 0001", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("63626f62", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("f6", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("ff", TK_DIR_REQUEST), TK_ERR_PROTO);
}

static void
test_trailing_bytes(void **state)
{
	assert_int_equal(dec("a2 0001 0101", TK_DIR_REQUEST), 0);
	assert_int_equal(dec("a2 0001 0101 00", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a2 0001 0101 a2 0001 0101", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
}

static void
test_truncated(void **state)
{
	unsigned char buf[64];
	tk_msg_t *m = NULL;
	size_t n, i;

	n = unhex("a4 0001 0103 0a63626f62 0b66313233343536", buf,
	    sizeof(buf));
	assert_int_equal(tk_msg_decode(buf, n, TK_DIR_REQUEST, &m), 0);
	tk_msg_free(&m);
	for (i = 0; i < n; i++) {
		assert_int_equal(tk_msg_decode(buf, i, TK_DIR_REQUEST, &m),
		    TK_ERR_PROTO);
		assert_null(m);
	}
}

static void
test_indefinite(void **state)
{
	/* indefinite map */
	assert_int_equal(dec("bf 0001 0101 ff", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* indefinite text, bytes */
	assert_int_equal(dec("a3 0001 0102 0a7f63626f62ff", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a5f43626f62ff", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* indefinite array of records */
	assert_int_equal(dec("a4 0001 0106 0200 183c 9f ff", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
}

static void
test_bad_keys(void **state)
{
	/* text key, negative key, bytes key, bool key */
	assert_int_equal(dec("a3 0001 0102 6175 63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 20 63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 410a 63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 f5 63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
}

static void
test_duplicate_key(void **state)
{
	assert_int_equal(dec("a4 0001 0102 0a63626f62 0a63626f62",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0102 0a63626f62 0102", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* inside a record */
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 a2 0a6162 0a6162",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
}

static void
test_unknown_key(void **state)
{
	/* TTY (14) belongs to TOTP_VERIFY, not USER_STATUS */
	assert_int_equal(dec("a4 0001 0102 0a63626f62 0e6474747931",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	/* a key no message knows */
	assert_int_equal(dec("a4 0001 0102 0a63626f62 1863 00",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0102 0a63626f62 1bffffffffffffffff 00",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	/* STATUS request takes nothing */
	assert_int_equal(dec("a3 0001 0101 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
}

static void
test_wrong_types(void **state)
{
	/* user as uint, bytes, bool, array, map */
	assert_int_equal(dec("a3 0001 0102 0a05", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a43626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0af5", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a80", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0aa0", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* factors as text; locked as uint 1 */
	assert_int_equal(dec("a6 0001 0102 0200 1828 6131 1829 f4 182a 00",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	assert_int_equal(dec("a6 0001 0102 0200 1828 01 1829 01 182a 00",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	assert_int_equal(dec("a6 0001 0102 0200 1828 01 1829 f4 182a 00",
	    TK_DIR_ANSWER), 0);
	/* version or type not a uint */
	assert_int_equal(dec("a3 0061 31 0102 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 01f5 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* records must be maps, the list an array */
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 01", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0106 0200 183c a0", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
}

static void
test_other_kinds(void **state)
{
	/* negative int, tag, half/single/double float, null, undefined,
	 * simple values, in the place of failures (uint) */
	static const char *const bad[] = {
		"20", "3bffffffffffffffff", "c100", "d818 00", "f93c00",
		"fa3f800000", "fb3ff0000000000000", "f6", "f7", "f0",
		"f820", "ff",
	};
	char hex[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hex, sizeof(hex), "a6 0001 0102 0200 1828 01 "
		    "1829 f4 182a %s", bad[i]);
		assert_int_equal(dec(hex, TK_DIR_ANSWER), TK_ERR_PROTO);
	}
	/* a tag around the whole map */
	assert_int_equal(dec("d9d9f7 a2 0001 0101", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
}

static void
test_text_content(void **state)
{
	static unsigned char buf[BUF_MAX];
	tk_msg_t *m = NULL;
	size_t n, i;

	/* NUL, control, DEL, bad UTF-8, overlong, surrogate */
	assert_int_equal(dec("a3 0001 0102 0a63620062", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a6362 0a62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a63627f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a6362ff62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a62c0af", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a63eda080", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a62e7a2", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a63e7a2ba", TK_DIR_REQUEST), 0);
	assert_int_equal(dec("a3 0001 0102 0a60", TK_DIR_REQUEST), 0);

	/* user of exactly TK_USER_MAX bytes, then one more */
	for (i = 0; i <= 1; i++) {
		n = unhex("a3 0001 0102 0a 7901", buf, sizeof(buf));
		buf[n++] = (unsigned char)(TK_USER_MAX + i - 256);
		memset(buf + n, 'u', TK_USER_MAX + i);
		n += TK_USER_MAX + i;
		assert_int_equal(tk_msg_decode(buf, n, TK_DIR_REQUEST, &m),
		    i == 0 ? 0 : TK_ERR_PROTO);
		tk_msg_free(&m);
	}
	/* code over TK_CODE_MAX */
	n = unhex("a4 0001 0103 0a6162 0b7821", buf, sizeof(buf));
	memset(buf + n, '1', TK_CODE_MAX + 1);
	n += TK_CODE_MAX + 1;
	assert_int_equal(tk_msg_decode(buf, n, TK_DIR_REQUEST, &m),
	    TK_ERR_PROTO);
}

static void
test_missing_required(void **state)
{
	/* USER_STATUS without user; TOTP_VERIFY without code */
	assert_int_equal(dec("a2 0001 0102", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0103 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* no version, no type */
	assert_int_equal(dec("a2 0102 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a2 0001 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* a record missing its kind */
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 a5 0a6162 1401 "
	    "1766616374697665 181801 181900", TK_DIR_ANSWER), TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 a6 0a6162 1401 "
	    "1664746f7470 1766616374697665 181801 181900", TK_DIR_ANSWER), 0);
	assert_int_equal(dec("a4 0001 0106 0200 183c 80", TK_DIR_ANSWER), 0);
	assert_int_equal(dec("a3 0001 0106 0200", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
}

static void
test_version(void **state)
{
	assert_int_equal(dec("a3 0002 0102 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_VERSION);
	assert_int_equal(dec("a3 0000 0102 0a63626f62", TK_DIR_REQUEST),
	    TK_ERR_VERSION);
	assert_int_equal(dec("a3 001bffffffffffffffff 0102 0a63626f62",
	    TK_DIR_REQUEST), TK_ERR_VERSION);
	/* a later version may have keys and types we do not know */
	assert_int_equal(dec("a3 0002 0118 63 1903e8 00", TK_DIR_REQUEST),
	    TK_ERR_VERSION);
}

static void
test_unknown_type(void **state)
{
	assert_int_equal(dec("a2 0001 0100", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a2 0001 0111", TK_DIR_REQUEST), TK_ERR_PROTO);
	/* AUDIT_VERIFY (9) has no fields; BACKUP (16) needs its path */
	assert_int_equal(dec("a2 0001 0109", TK_DIR_REQUEST), 0);
	assert_int_equal(dec("a2 0001 0110", TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a2 0001 011a00010001", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("a2 0001 011bffffffffffffffff", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
	assert_string_equal(tk_msg_type_name(TK_MSG_TOTP_VERIFY),
	    "TOTP_VERIFY");
	assert_string_equal(tk_msg_type_name(TK_MSG_USER_UNLOCK),
	    "USER_UNLOCK");
	assert_string_equal(tk_msg_type_name(0), "UNKNOWN");
	assert_string_equal(tk_msg_type_name(TK_MSG_TYPE_END), "UNKNOWN");
	assert_string_equal(tk_status_name(TK_ST_OK), "ok");
	assert_string_equal(tk_status_name(TK_ST_NOT_ENROLLED),
	    "not_enrolled");
	assert_string_equal(tk_status_name(TK_ST_EXPIRED), "expired");
	assert_string_equal(tk_status_name(TK_ST_GRANTED), "granted");
	assert_string_equal(tk_status_name(TK_ST_END), "unknown");
}

static void
test_huge_counts(void **state)
{
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* arrays claiming 2^32 and 2^64-1 records */
	assert_int_equal(dec("a4 0001 0106 0200 183c 9b0000000100000000",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0106 0200 183c 9bffffffffffffffff",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	/* TK_LIST_MAX + 1 records, declared */
	assert_int_equal(dec("a4 0001 0106 0200 183c 990401", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
	/* maps claiming 2^32 pairs */
	assert_int_equal(dec("bb0000000100000000 0001", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	assert_int_equal(dec("ba ffffffff 0001 0101", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* texts and bytes claiming 2^64-1 and 2^32 bytes */
	assert_int_equal(dec("a3 0001 0102 0a7bffffffffffffffff 62",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a7bfffffffffffffff7 62",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	assert_int_equal(dec("a3 0001 0102 0a5b0000000100000000 62",
	    TK_DIR_REQUEST), TK_ERR_PROTO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 1000);
}

static void
test_deep_nesting(void **state)
{
	/* a map as a top-level value */
	assert_int_equal(dec("a3 0001 0102 0aa10a6162", TK_DIR_REQUEST),
	    TK_ERR_PROTO);
	/* an array inside a record, a map inside a record */
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 a1 0a 81 a0",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 a1 0a a0",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	/* an array of arrays */
	assert_int_equal(dec("a4 0001 0106 0200 183c 81 81 a0",
	    TK_DIR_ANSWER), TK_ERR_PROTO);
	/* a list where the type has none */
	assert_int_equal(dec("a4 0001 0106 0200 0a 81 a0", TK_DIR_ANSWER),
	    TK_ERR_PROTO);
}

static void
test_deep_nesting_long(void **state)
{
	static unsigned char buf[BUF_MAX];
	tk_msg_t *m = NULL;
	size_t n;

	/* 60000 nested one-element arrays must fail fast, not recurse */
	n = unhex("a4 0001 0106 0200 183c", buf, sizeof(buf));
	memset(buf + n, 0x81, 60000);
	n += 60000;
	buf[n++] = 0xa0;
	assert_int_equal(tk_msg_decode(buf, n, TK_DIR_ANSWER, &m),
	    TK_ERR_PROTO);
	/* and an input over the frame limit is refused as such */
	assert_int_equal(tk_msg_decode(buf, TK_FRAME_MAX + 1, TK_DIR_ANSWER,
	    &m), TK_ERR_TOOBIG);
	assert_null(m);
}

static void
test_list_limit(void **state)
{
	static unsigned char buf[BUF_MAX];
	unsigned char rec[32];
	tk_msg_t *m = NULL;
	size_t n, rn, i, count;

	/* a smallest valid record: user "", cred 0, kind "", state "",
	 * created 0, last_used 0 */
	rn = unhex("a6 0a60 1400 1660 1760 181800 181900", rec, sizeof(rec));
	for (count = TK_LIST_PAGE; count <= TK_LIST_PAGE + 1; count++) {
		n = unhex("a4 0001 0106 0200 183c 98", buf, sizeof(buf));
		buf[n++] = (unsigned char)count;
		for (i = 0; i < count; i++) {
			memcpy(buf + n, rec, rn);
			n += rn;
		}
		assert_int_equal(tk_msg_decode(buf, n, TK_DIR_ANSWER, &m),
		    count == TK_LIST_PAGE ? 0 : TK_ERR_PROTO);
		if (m != NULL)
			assert_int_equal(tk_msg_count(m, TK_KEY_CREDS),
			    TK_LIST_PAGE);
		tk_msg_free(&m);
	}
}

static void
test_peek_type(void **state)
{
	unsigned char buf[64];
	uint32_t type;
	size_t n;

	/* a well-formed request */
	n = unhex("a3 0001 0103 0a63626f62", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), 0);
	assert_int_equal(type, TK_MSG_TOTP_VERIFY);
	/* version 9 and a bad user field after the type: still typed */
	n = unhex("a3 0009 0102 0a01", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), 0);
	assert_int_equal(type, TK_MSG_USER_STATUS);
	/* truncated right after the type: typed */
	n = unhex("a5 0001 0106", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), 0);
	assert_int_equal(type, TK_MSG_CRED_LIST);
	/* the type behind a text value is not reached */
	n = unhex("a2 0a63626f62 0102", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), TK_ERR_PROTO);
	/* unknown and zero types, not a map, empty, NULL */
	n = unhex("a2 0001 01190100", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), TK_ERR_PROTO);
	n = unhex("a2 0001 0100", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), TK_ERR_PROTO);
	n = unhex("82 0001", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), TK_ERR_PROTO);
	assert_int_equal(tk_msg_peek_type(buf, 0, &type), TK_ERR_PROTO);
	assert_int_equal(tk_msg_peek_type(NULL, 0, &type), TK_ERR_PROTO);
	/* a map that claims more pairs than there are bytes */
	n = unhex("bb ffffffffffffffff 0001", buf, sizeof(buf));
	assert_int_equal(tk_msg_peek_type(buf, n, &type), TK_ERR_PROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_requests),
		cmocka_unit_test(test_peek_type),
		cmocka_unit_test(test_roundtrip_answers),
		cmocka_unit_test(test_list_records),
		cmocka_unit_test(test_list_max),
		cmocka_unit_test(test_golden_request),
		cmocka_unit_test(test_golden_answer),
		cmocka_unit_test(test_answer_not_ok),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_empty_and_not_map),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_indefinite),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_other_kinds),
		cmocka_unit_test(test_text_content),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_deep_nesting_long),
	};

	return (cmocka_run_group_tests_name("msg", tests, NULL, NULL));
}
