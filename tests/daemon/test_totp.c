/*
 * test_totp.c -- totp.c: RFC 6238 Appendix B vectors for SHA-1, SHA-256
 * and SHA-512 (8 digits), the window match, code shapes and the
 * otpauth URI.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "store.h"
#include "totp.h"
#include "wipe.h"

/* RFC 6238 Appendix B: the seeds, one per HMAC */
static const char seed_sha1[] = "12345678901234567890";
static const char seed_sha256[] = "12345678901234567890123456789012";
static const char seed_sha512[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

struct vector {
	int64_t		 time;
	const char	*sha1;
	const char	*sha256;
	const char	*sha512;
};

/* RFC 6238 Appendix B, table of test values (8 digits, T0 = 0, X = 30) */
static const struct vector vectors[] = {
	{ 59LL, "94287082", "46119246", "90693936" },
	{ 1111111109LL, "07081804", "68084774", "25091201" },
	{ 1111111111LL, "14050471", "67062674", "99943326" },
	{ 1234567890LL, "89005924", "91819424", "93441116" },
	{ 2000000000LL, "69279037", "90698825", "38618901" },
	{ 20000000000LL, "65353130", "77737706", "47863826" },
};

#define NVECTORS	(sizeof(vectors) / sizeof(vectors[0]))

static const unsigned char *
seed_of(int alg, size_t *len)
{
	const char *s = alg == TK_TOTP_SHA1 ? seed_sha1 :
	    alg == TK_TOTP_SHA256 ? seed_sha256 : seed_sha512;

	*len = strlen(s);
	return ((const unsigned char *)s);
}

static const char *
expected(const struct vector *v, int alg)
{
	return (alg == TK_TOTP_SHA1 ? v->sha1 :
	    alg == TK_TOTP_SHA256 ? v->sha256 : v->sha512);
}

static void
check_rfc6238(int alg)
{
	char out[TK_TOTP_DIGITS_MAX + 1];
	const unsigned char *seed;
	uint64_t step;
	bool matched;
	size_t len, i;

	seed = seed_of(alg, &len);
	assert_int_equal(len, tk_totp_secret_len(alg));
	for (i = 0; i < NVECTORS; i++) {
		assert_int_equal(tk_totp_code(seed, len, alg, 8, 30,
		    (uint64_t)vectors[i].time / 30, out), 0);
		assert_string_equal(out, expected(&vectors[i], alg));
		/* the same code through the window match, window 0 */
		assert_int_equal(tk_totp_match(seed, len, alg, 8, 30,
		    vectors[i].time, 0, expected(&vectors[i], alg), &matched,
		    &step), 0);
		assert_true(matched);
		assert_int_equal(step, (uint64_t)vectors[i].time / 30);
	}
}

static void
test_rfc6238_sha1(void **state)
{
	(void)state;
	check_rfc6238(TK_TOTP_SHA1);
}

static void
test_rfc6238_sha256(void **state)
{
	(void)state;
	check_rfc6238(TK_TOTP_SHA256);
}

static void
test_rfc6238_sha512(void **state)
{
	(void)state;
	check_rfc6238(TK_TOTP_SHA512);
}

static void
test_six_digits_are_the_last_six(void **state)
{
	char out[TK_TOTP_DIGITS_MAX + 1];
	size_t len;
	const unsigned char *seed = seed_of(TK_TOTP_SHA1, &len);

	(void)state;
	/* RFC 4226 truncation: 6 digits are the low 6 of the 8 */
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 6, 30,
	    1111111109 / 30, out), 0);
	assert_string_equal(out, "081804");
}

static void
test_window(void **state)
{
	char prev[TK_TOTP_DIGITS_MAX + 1], next2[TK_TOTP_DIGITS_MAX + 1];
	const int64_t now = 2000000000;
	const uint64_t t = (uint64_t)now / 30;
	const unsigned char *seed;
	uint64_t step;
	bool matched;
	size_t len;

	(void)state;
	seed = seed_of(TK_TOTP_SHA1, &len);
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 6, 30, t - 1,
	    prev), 0);
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 6, 30, t + 2,
	    next2), 0);

	/* the previous step is inside a window of 1, not of 0 */
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, now, 1,
	    prev, &matched, &step), 0);
	assert_true(matched);
	assert_int_equal(step, t - 1);
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, now, 0,
	    prev, &matched, &step), 0);
	assert_false(matched);
	assert_int_equal(step, 0);

	/* two steps ahead needs a window of 2 */
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, now, 1,
	    next2, &matched, &step), 0);
	assert_false(matched);
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, now, 2,
	    next2, &matched, &step), 0);
	assert_true(matched);
	assert_int_equal(step, t + 2);
}

static void
test_malformed_codes_match_nothing(void **state)
{
	static const char *bad[] = { "", "28703", "2870377", "9427908",
	    "94287082 ", " 94287082", "9428708a", "+4287082", "942870820",
	    "９４２８７０８２" };
	const unsigned char *seed;
	uint64_t step;
	bool matched;
	size_t len, i;

	(void)state;
	seed = seed_of(TK_TOTP_SHA1, &len);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 8, 30,
		    59, 1, bad[i], &matched, &step), 0);
		assert_false(matched);
	}
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 8, 30, 59, 1,
	    NULL, &matched, &step), 0);
	assert_false(matched);
	/* the right code with a 6-digit credential is the wrong shape */
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, 59, 1,
	    "94287082", &matched, &step), 0);
	assert_false(matched);
	assert_true(tk_totp_code_wellformed("012345", 6));
	assert_false(tk_totp_code_wellformed("012345", 8));
}

static void
test_bad_arguments(void **state)
{
	char out[TK_TOTP_DIGITS_MAX + 1];
	const unsigned char *seed;
	uint64_t step;
	bool matched;
	size_t len;
	int alg;

	(void)state;
	seed = seed_of(TK_TOTP_SHA1, &len);
	assert_int_equal(tk_totp_code(seed, len, 0, 6, 30, 1, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 7, 30, 1, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 6, 0, 1, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_totp_code(seed, len, TK_TOTP_SHA1, 6, 30,
	    UINT64_MAX, out), TK_ERR_INVAL);
	assert_int_equal(tk_totp_code(NULL, 0, TK_TOTP_SHA1, 6, 30, 1, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_totp_match(seed, len, TK_TOTP_SHA1, 6, 30, 59, 11,
	    "123456", &matched, &step), TK_ERR_INVAL);
	assert_int_equal(tk_totp_alg_parse("sha256", &alg), 0);
	assert_int_equal(alg, TK_TOTP_SHA256);
	assert_int_equal(tk_totp_alg_parse("SHA256", &alg), TK_ERR_INVAL);
	assert_int_equal(tk_totp_alg_parse("md5", &alg), TK_ERR_INVAL);
	assert_int_equal(tk_totp_alg_parse(NULL, &alg), TK_ERR_INVAL);
	assert_true(tk_totp_digits_valid(6));
	assert_true(tk_totp_digits_valid(8));
	assert_false(tk_totp_digits_valid(7));
	assert_int_equal(tk_totp_secret_len(TK_TOTP_SHA512), 64);
	assert_int_equal(tk_totp_secret_len(99), 0);
}

static void
test_uri(void **state)
{
	char *uri = NULL;
	char longname[400];
	size_t len;
	const unsigned char *seed = seed_of(TK_TOTP_SHA1, &len);

	(void)state;
	assert_int_equal(tk_totp_uri("tokend", "alice", seed, len,
	    TK_TOTP_SHA1, 6, 30, &uri), 0);
	/* base32 of "12345678901234567890", no padding */
	assert_string_equal(uri, "otpauth://totp/tokend:alice?secret="
	    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=tokend&algorithm=SHA1"
	    "&digits=6&period=30");
	tk_strfreezero(uri);

	/* 32 bytes need padding in base32: it must be stripped */
	seed = seed_of(TK_TOTP_SHA256, &len);
	assert_int_equal(tk_totp_uri("City Hall", "a b:c&d", seed, len,
	    TK_TOTP_SHA256, 8, 30, &uri), 0);
	assert_null(strstr(uri, "=&"));
	assert_null(strchr(uri, ' '));
	assert_non_null(strstr(uri, "otpauth://totp/City%20Hall:a%20b%3Ac%26d"
	    "?secret="));
	assert_non_null(strstr(uri, "&issuer=City%20Hall&algorithm=SHA256"
	    "&digits=8&period=30"));
	tk_strfreezero(uri);

	/* a name that cannot fit TK_URI_MAX once encoded */
	memset(longname, '%', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	uri = NULL;
	assert_int_equal(tk_totp_uri("tokend", longname, seed, len,
	    TK_TOTP_SHA256, 8, 30, &uri), TK_ERR_TOOBIG);
	assert_null(uri);
	assert_int_equal(tk_totp_uri("tokend", "alice", seed, len, 0, 6, 30,
	    &uri), TK_ERR_INVAL);
	assert_null(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_sha1),
		cmocka_unit_test(test_rfc6238_sha256),
		cmocka_unit_test(test_rfc6238_sha512),
		cmocka_unit_test(test_six_digits_are_the_last_six),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_malformed_codes_match_nothing),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_uri),
	};

	return (cmocka_run_group_tests_name("totp", tests, NULL, NULL));
}
