/*
 * test_softkey.c -- the soft key driven by the real libfido2 in process:
 * getInfo, makeCredential and its three attestations, getAssertion and
 * verification, PIN protocols 1 and 2, retries and blocking, built-in UV,
 * no touch within a bounded time, counter modes, excludeList, removal,
 * and state kept across close and open.
 *
 * Each test gets its own state file in a fresh directory; libfido2 only
 * ever sees a device path, as with a real key.
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
#include <unistd.h>

#include <cmocka.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>

#include "sk_int.h"	/* sk_hid_io, for the raw CTAPHID test */

#define RP_ID	"tokend.test"
#define PIN	"1234"

struct fx {
	char		 dir[64];
	char		 file[128];
	sk_key_t	*k;
	fido_dev_t	*dev;
};

static const unsigned char cdh[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const unsigned char user_id[16] = { 'u', 's', 'e', 'r' };

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
dev_open(struct fx *f)
{
	assert_non_null(f->dev = fido_dev_new());
	assert_int_equal(sk_key_attach(f->k, f->dev), 0);
	assert_int_equal(fido_dev_open(f->dev, sk_key_path(f->k)), FIDO_OK);
}

static void
dev_close(struct fx *f)
{
	if (f->dev != NULL) {
		fido_dev_close(f->dev);
		fido_dev_free(&f->dev);
	}
}

/* close and open again: a power cycle, as unplugging a real key */
static void
power_cycle(struct fx *f)
{
	dev_close(f);
	sk_key_close(&f->k);
	assert_int_equal(sk_key_open(f->file, &f->k), 0);
	dev_open(f);
}

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	snprintf(f->dir, sizeof(f->dir), "%s/softkey.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return (-1);
	snprintf(f->file, sizeof(f->file), "%s/key.state", f->dir);
	if (sk_key_open(f->file, &f->k) != 0)
		return (-1);
	*state = f;

	return (0);
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[200];

	dev_close(f);
	sk_key_close(&f->k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return (-1);
	free(f);

	return (0);
}

static int
make_cred(struct fx *f, int type, const char *pin, fido_opt_t uv,
    fido_cred_t **out)
{
	fido_cred_t	*c;
	int		 r;

	assert_non_null(c = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c, type), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c, RP_ID, "tokend"), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c, user_id, sizeof(user_id),
	    "alice", "Alice", NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_uv(c, uv), FIDO_OK);
	r = fido_dev_make_cred(f->dev, c, pin);
	if (r != FIDO_OK || out == NULL)
		fido_cred_free(&c);
	else
		*out = c;

	return (r);
}

static fido_assert_t *
assert_new(const fido_cred_t *c)
{
	fido_assert_t *a;

	assert_non_null(a = fido_assert_new());
	assert_int_equal(fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(fido_assert_set_rp(a, RP_ID), FIDO_OK);
	if (c != NULL)
		assert_int_equal(fido_assert_allow_cred(a, fido_cred_id_ptr(c),
		    fido_cred_id_len(c)), FIDO_OK);

	return (a);
}

/* fido_assert_verify with the credential's public key */
static int
verify(const fido_assert_t *a, const fido_cred_t *c)
{
	es256_pk_t	*es;
	eddsa_pk_t	*ed;
	int		 r;

	if (fido_cred_type(c) == COSE_EDDSA) {
		assert_non_null(ed = eddsa_pk_new());
		assert_int_equal(eddsa_pk_from_ptr(ed, fido_cred_pubkey_ptr(c),
		    fido_cred_pubkey_len(c)), FIDO_OK);
		r = fido_assert_verify(a, 0, COSE_EDDSA, ed);
		eddsa_pk_free(&ed);
	} else {
		assert_non_null(es = es256_pk_new());
		assert_int_equal(es256_pk_from_ptr(es, fido_cred_pubkey_ptr(c),
		    fido_cred_pubkey_len(c)), FIDO_OK);
		r = fido_assert_verify(a, 0, COSE_ES256, es);
		es256_pk_free(&es);
	}

	return (r);
}

/* one assertion of `c'; its result, and the counter in *count */
static int
get_assert(struct fx *f, const fido_cred_t *c, const char *pin,
    fido_opt_t uv, uint32_t *count, uint8_t *flags)
{
	fido_assert_t	*a = assert_new(c);
	int		 r;

	assert_int_equal(fido_assert_set_uv(a, uv), FIDO_OK);
	r = fido_dev_get_assert(f->dev, a, pin);
	if (r == FIDO_OK) {
		assert_int_equal(verify(a, c), FIDO_OK);
		if (count != NULL)
			*count = fido_assert_sigcount(a, 0);
		if (flags != NULL)
			*flags = fido_assert_flags(a, 0);
	}
	fido_assert_free(&a);

	return (r);
}

static void
test_info(void **state)
{
	struct fx		*f = *state;
	fido_cbor_info_t	*ci;
	char			**v;
	const bool		*ov;
	const uint8_t		*p;
	size_t			 n;
	bool			 fido20 = false, fido21 = false;

	dev_open(f);
	assert_true(fido_dev_is_fido2(f->dev));
	assert_non_null(ci = fido_cbor_info_new());
	assert_int_equal(fido_dev_get_cbor_info(f->dev, ci), FIDO_OK);
	v = fido_cbor_info_versions_ptr(ci);
	for (size_t i = 0; i < fido_cbor_info_versions_len(ci); i++) {
		fido20 |= !strcmp(v[i], "FIDO_2_0");
		fido21 |= !strcmp(v[i], "FIDO_2_1");
	}
	assert_true(fido20 && fido21);
	assert_int_equal(fido_cbor_info_aaguid_len(ci), 16);
	assert_memory_equal(fido_cbor_info_aaguid_ptr(ci),
	    sk_key_config(f->k)->aaguid, 16);
	v = fido_cbor_info_options_name_ptr(ci);
	ov = fido_cbor_info_options_value_ptr(ci);
	n = fido_cbor_info_options_len(ci);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i], "rk") || !strcmp(v[i], "plat") ||
		    !strcmp(v[i], "clientPin"))
			assert_false(ov[i]);
		if (!strcmp(v[i], "up") || !strcmp(v[i], "pinUvAuthToken"))
			assert_true(ov[i]);
		assert_true(strcmp(v[i], "uv") != 0);
	}
	p = fido_cbor_info_protocols_ptr(ci);
	assert_int_equal(fido_cbor_info_protocols_len(ci), 2);
	assert_int_equal(p[0], 2);
	assert_int_equal(p[1], 1);
	assert_int_equal(fido_cbor_info_algorithm_count(ci), 2);
	assert_int_equal(fido_cbor_info_algorithm_cose(ci, 0), COSE_ES256);
	assert_int_equal(fido_cbor_info_algorithm_cose(ci, 1), COSE_EDDSA);
	assert_false(fido_dev_has_pin(f->dev));
	assert_true(fido_dev_supports_pin(f->dev));
	assert_true(fido_dev_supports_permissions(f->dev));
	assert_false(fido_dev_has_uv(f->dev));
	fido_cbor_info_free(&ci);

	/* a PIN and built-in UV show in the options */
	assert_int_equal(sk_key_set_pin(f->k, PIN), 0);
	sk_key_config(f->k)->builtin_uv = true;
	dev_close(f);
	dev_open(f);
	assert_true(fido_dev_has_pin(f->dev));
	assert_true(fido_dev_has_uv(f->dev));
}

/* fmt and what fido_cred_verify / fido_cred_verify_self say of it */
static void
check_attestation(void **state, int type, int att)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	sk_key_config(f->k)->attestation = att;
	dev_open(f);
	assert_int_equal(make_cred(f, type, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_type(c), type);
	assert_int_equal(fido_cred_id_len(c), 48);
	assert_memory_equal(fido_cred_aaguid_ptr(c),
	    sk_key_config(f->k)->aaguid, 16);
	switch (att) {
	case SK_ATT_SELF:
		assert_string_equal(fido_cred_fmt(c), "packed");
		assert_int_equal(fido_cred_verify_self(c), FIDO_OK);
		assert_int_not_equal(fido_cred_verify(c), FIDO_OK);
		break;
	case SK_ATT_BASIC:
		assert_string_equal(fido_cred_fmt(c), "packed");
		assert_true(fido_cred_x5c_len(c) > 0);
		assert_int_equal(fido_cred_verify(c), FIDO_OK);
		assert_int_not_equal(fido_cred_verify_self(c), FIDO_OK);
		break;
	default:
		assert_string_equal(fido_cred_fmt(c), "none");
		assert_int_not_equal(fido_cred_verify(c), FIDO_OK);
		assert_int_not_equal(fido_cred_verify_self(c), FIDO_OK);
		break;
	}
	assert_int_equal(sk_key_cred_count(f->k), 1);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	fido_cred_free(&c);
}

static void
test_es256_self(void **state)
{
	check_attestation(state, COSE_ES256, SK_ATT_SELF);
}

static void
test_es256_basic(void **state)
{
	check_attestation(state, COSE_ES256, SK_ATT_BASIC);
}

static void
test_es256_none(void **state)
{
	check_attestation(state, COSE_ES256, SK_ATT_NONE);
}

static void
test_eddsa_self(void **state)
{
	check_attestation(state, COSE_EDDSA, SK_ATT_SELF);
}

static void
test_eddsa_basic(void **state)
{
	check_attestation(state, COSE_EDDSA, SK_ATT_BASIC);
}

static void
test_eddsa_none(void **state)
{
	check_attestation(state, COSE_EDDSA, SK_ATT_NONE);
}

static void
test_algorithm_off(void **state)
{
	struct fx *f = *state;

	sk_key_config(f->k)->es256 = false;
	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, NULL),
	    FIDO_ERR_UNSUPPORTED_ALGORITHM);
	assert_int_equal(make_cred(f, COSE_EDDSA, NULL, FIDO_OPT_OMIT, NULL),
	    FIDO_OK);
}

static void
test_tampered(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;
	unsigned char	 buf[512];
	size_t		 len;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	a = assert_new(c);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL), FIDO_OK);
	assert_int_equal(fido_assert_flags(a, 0) & 0x05, 0x01); /* UP */
	assert_int_equal(verify(a, c), FIDO_OK);

	/* the signature, one bit changed */
	len = fido_assert_sig_len(a, 0);
	assert_true(len <= sizeof(buf));
	memcpy(buf, fido_assert_sig_ptr(a, 0), len);
	buf[len - 1] ^= 0x01;
	assert_int_equal(fido_assert_set_sig(a, 0, buf, len), FIDO_OK);
	assert_int_not_equal(verify(a, c), FIDO_OK);
	buf[len - 1] ^= 0x01;
	assert_int_equal(fido_assert_set_sig(a, 0, buf, len), FIDO_OK);
	assert_int_equal(verify(a, c), FIDO_OK);

	/* the authenticator data (a CBOR byte string): another counter */
	len = fido_assert_authdata_len(a, 0);
	assert_int_equal(len, 2 + 37);
	memcpy(buf, fido_assert_authdata_ptr(a, 0), len);
	buf[len - 1] ^= 0x01;
	assert_int_equal(fido_assert_set_authdata(a, 0, buf, len), FIDO_OK);
	assert_int_not_equal(verify(a, c), FIDO_OK);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_no_credentials(void **state)
{
	struct fx	*f = *state;
	fido_assert_t	*a;
	unsigned char	 id[48];

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, NULL),
	    FIDO_OK);
	memset(id, 0x5a, sizeof(id));
	a = assert_new(NULL);
	assert_int_equal(fido_assert_allow_cred(a, id, sizeof(id)), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
}

static void
test_wrong_rp(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	fido_assert_t	*a;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	a = assert_new(c);
	assert_int_equal(fido_assert_set_rp(a, "other.test"), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(f->dev, a, NULL),
	    FIDO_ERR_NO_CREDENTIALS);
	fido_assert_free(&a);
	fido_cred_free(&c);
}

static void
test_exclude(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c, *c2;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_non_null(c2 = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c2, COSE_ES256), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c2, cdh, sizeof(cdh)),
	    FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c2, RP_ID, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c2, user_id, sizeof(user_id),
	    "alice", NULL, NULL), FIDO_OK);
	assert_int_equal(fido_cred_exclude(c2, fido_cred_id_ptr(c),
	    fido_cred_id_len(c)), FIDO_OK);
	assert_int_equal(fido_dev_make_cred(f->dev, c2, NULL),
	    FIDO_ERR_CREDENTIAL_EXCLUDED);
	assert_int_equal(sk_key_cred_count(f->k), 1);
	fido_cred_free(&c2);
	fido_cred_free(&c);
}

/* setPIN over the protocol, then a token by PIN for both commands */
static void
check_pin_protocol(void **state, unsigned protos, bool ctap21)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	uint8_t		 flags;
	int		 retries;

	sk_key_config(f->k)->pin_protocols = protos;
	sk_key_config(f->k)->ctap21 = ctap21;
	dev_open(f);
	assert_int_equal(fido_dev_supports_permissions(f->dev), ctap21);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	assert_int_equal(sk_key_pin_retries(f->k), 8);
	dev_close(f);
	dev_open(f);
	assert_true(fido_dev_has_pin(f->dev));
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, NULL),
	    FIDO_ERR_PIN_REQUIRED);
	assert_int_equal(make_cred(f, COSE_ES256, PIN, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_flags(c) & 0x04, 0x04);	/* UV */
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, &flags),
	    FIDO_OK);
	assert_int_equal(flags & 0x05, 0x05);			/* UP UV */
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, &flags),
	    FIDO_OK);
	assert_int_equal(flags & 0x05, 0x01);			/* UP */

	/* a wrong PIN costs a retry; the right one gives them back */
	assert_int_equal(get_assert(f, c, "9999", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(fido_dev_get_retry_count(f->dev, &retries), FIDO_OK);
	assert_int_equal(retries, 7);
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	assert_int_equal(sk_key_pin_retries(f->k), 8);

	/* changePIN */
	assert_int_equal(fido_dev_set_pin(f->dev, "56789", PIN), FIDO_OK);
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(get_assert(f, c, "56789", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	fido_cred_free(&c);
}

static void
test_pin_protocol1(void **state)
{
	check_pin_protocol(state, SK_PINPROTO_1, true);
}

static void
test_pin_protocol2(void **state)
{
	check_pin_protocol(state, SK_PINPROTO_2, true);
}

static void
test_pin_ctap20(void **state)
{
	check_pin_protocol(state, SK_PINPROTO_1, false);
}

static void
test_pin_ctap20_protocol2(void **state)
{
	check_pin_protocol(state, SK_PINPROTO_2, false);
}

static void
test_pin_blocked(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(sk_key_set_pin(f->k, PIN), 0);
	power_cycle(f);
	assert_int_equal(get_assert(f, c, "0000", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_INVALID);
	assert_int_equal(get_assert(f, c, "0000", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_INVALID);
	/* three in a row: no more tries until power cycle */
	assert_int_equal(get_assert(f, c, "0000", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_AUTH_BLOCKED);
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_AUTH_BLOCKED);
	assert_int_equal(sk_key_pin_retries(f->k), 5);
	power_cycle(f);
	assert_int_equal(sk_key_pin_retries(f->k), 5);	/* persisted */
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	assert_int_equal(sk_key_pin_retries(f->k), 8);

	/* the last retry spent: blocked for good, even the right PIN */
	assert_int_equal(sk_key_set_option(f->k, "pin_retries", "1"), 0);
	assert_int_equal(get_assert(f, c, "0000", FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_BLOCKED);
	assert_int_equal(sk_key_pin_retries(f->k), 0);
	power_cycle(f);
	assert_int_equal(get_assert(f, c, PIN, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_PIN_BLOCKED);
	fido_cred_free(&c);
}

/* UV asked, no PIN and no built-in UV: refused, never silently dropped */
static void
test_uv_unavailable(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_TRUE, NULL, NULL),
	    FIDO_ERR_PIN_REQUIRED);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_TRUE, NULL),
	    FIDO_ERR_PIN_REQUIRED);
	/* a CTAP 2.0 key sees the uv option itself */
	sk_key_config(f->k)->ctap21 = false;
	dev_close(f);
	dev_open(f);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_TRUE, NULL, NULL),
	    FIDO_ERR_UNSUPPORTED_OPTION);
	assert_int_equal(sk_key_set_pin(f->k, PIN), 0);
	dev_close(f);
	dev_open(f);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_TRUE, NULL, NULL),
	    FIDO_ERR_PIN_REQUIRED);
	fido_cred_free(&c);
}

static void
check_builtin_uv(void **state, bool ctap21)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	uint8_t		 flags;

	sk_key_config(f->k)->builtin_uv = true;
	sk_key_config(f->k)->ctap21 = ctap21;
	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_TRUE, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_flags(c) & 0x05, 0x05);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_TRUE, NULL, &flags),
	    FIDO_OK);
	assert_int_equal(flags & 0x05, 0x05);
	sk_key_config(f->k)->uv_ok = false;	/* the wrong finger */
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_TRUE, NULL, NULL),
	    FIDO_ERR_UV_INVALID);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, &flags),
	    FIDO_OK);
	assert_int_equal(flags & 0x05, 0x01);
	fido_cred_free(&c);
}

static void
test_builtin_uv(void **state)
{
	check_builtin_uv(state, true);
}

static void
test_builtin_uv_ctap20(void **state)
{
	check_builtin_uv(state, false);
}

static void
test_no_touch(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	int64_t		 t0, dt;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	sk_key_config(f->k)->touch = false;
	sk_key_config(f->k)->touch_timeout_ms = 60000;

	/* the caller's timeout ends it */
	assert_int_equal(fido_dev_set_timeout(f->dev, 300), FIDO_OK);
	t0 = now_ms();
	assert_int_not_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	dt = now_ms() - t0;
	assert_true(dt >= 250 && dt < 1500);
	assert_int_not_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT,
	    NULL), FIDO_OK);
	assert_true(now_ms() - t0 < 3000);

	/* the key's own timeout ends it */
	sk_key_config(f->k)->touch_timeout_ms = 300;
	assert_int_equal(fido_dev_set_timeout(f->dev, -1), FIDO_OK);
	dev_close(f);
	dev_open(f);
	t0 = now_ms();
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_USER_ACTION_TIMEOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 250 && dt < 1500);

	/* up=false needs no touch */
	{
		fido_assert_t *a = assert_new(c);

		assert_int_equal(fido_assert_set_up(a, FIDO_OPT_FALSE),
		    FIDO_OK);
		assert_int_equal(fido_dev_get_assert(f->dev, a, NULL),
		    FIDO_OK);
		assert_int_equal(fido_assert_flags(a, 0) & 0x01, 0);
		fido_assert_free(&a);
	}
	fido_cred_free(&c);
}

static void
test_delay(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	int64_t		 t0;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	sk_key_config(f->k)->delay_ms = 350;	/* keepalives meanwhile */
	t0 = now_ms();
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	assert_true(now_ms() - t0 >= 340);
	fido_cred_free(&c);
}

static void
test_counter_modes(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	uint32_t	 n1, n2;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_EDDSA, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n1, NULL), 0);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n2, NULL), 0);
	assert_true(n2 == n1 + 1);
	assert_int_equal(sk_key_counter(f->k), n2);

	sk_key_config(f->k)->counter = SK_COUNTER_REPEAT;
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n1, NULL), 0);
	assert_int_equal(n1, n2);

	assert_int_equal(sk_key_set_counter(f->k, 100), 0);
	sk_key_config(f->k)->counter = SK_COUNTER_LOWER;
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n1, NULL), 0);
	assert_true(n1 < 100);

	sk_key_config(f->k)->counter = SK_COUNTER_ZERO;
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n1, NULL), 0);
	assert_int_equal(n1, 0);
	fido_cred_free(&c);
}

static void
test_removed(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	sk_key_config(f->k)->removed = true;	/* pulled out while open */
	assert_int_not_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	dev_close(f);
	assert_non_null(f->dev = fido_dev_new());
	assert_int_equal(sk_key_attach(f->k, f->dev), 0);
	assert_int_not_equal(fido_dev_open(f->dev, sk_key_path(f->k)),
	    FIDO_OK);
	fido_dev_free(&f->dev);
	sk_key_config(f->k)->removed = false;	/* plugged in again */
	dev_open(f);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_OK);
	fido_cred_free(&c);
}

static void
test_persist(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;
	uint32_t	 n1, n2;

	sk_key_config(f->k)->attestation = SK_ATT_BASIC;
	assert_int_equal(sk_key_save(f->k), 0);
	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(fido_cred_verify(c), FIDO_OK);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n1, NULL), 0);
	power_cycle(f);
	assert_int_equal(sk_key_config(f->k)->attestation, SK_ATT_BASIC);
	assert_int_equal(sk_key_cred_count(f->k), 1);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, &n2, NULL), 0);
	assert_int_equal(n2, n1 + 1);
	fido_cred_free(&c);
}

static void
test_reset(void **state)
{
	struct fx	*f = *state;
	fido_cred_t	*c;

	dev_open(f);
	assert_int_equal(make_cred(f, COSE_ES256, NULL, FIDO_OPT_OMIT, &c),
	    FIDO_OK);
	assert_int_equal(fido_dev_set_pin(f->dev, PIN, NULL), FIDO_OK);
	assert_int_equal(fido_dev_reset(f->dev), FIDO_OK);
	assert_int_equal(sk_key_cred_count(f->k), 0);
	assert_int_equal(get_assert(f, c, NULL, FIDO_OPT_OMIT, NULL, NULL),
	    FIDO_ERR_NO_CREDENTIALS);
	dev_close(f);
	dev_open(f);
	assert_false(fido_dev_has_pin(f->dev));
	fido_cred_free(&c);
}

static void
test_state_file(void **state)
{
	struct fx	*f = *state;
	sk_key_t	*k2;
	FILE		*fp;

	assert_int_equal(sk_key_set_option(f->k, "aaguid",
	    "01020304-0506-0708-090a-0b0c0d0e0f10"), 0);
	assert_int_equal(sk_key_set_option(f->k, "counter_mode", "lower"), 0);
	assert_int_equal(sk_key_set_option(f->k, "pin_protocols", "1"), 0);
	assert_int_equal(sk_key_set_option(f->k, "touch", "0"), 0);
	assert_int_equal(sk_key_set_option(f->k, "bogus", "1"), -1);
	assert_int_equal(sk_key_set_option(f->k, "touch", "maybe"), -1);
	assert_int_equal(sk_key_save(f->k), 0);
	assert_int_equal(sk_key_open(f->file, &k2), 0);
	assert_int_equal(sk_key_config(k2)->aaguid[15], 0x10);
	assert_int_equal(sk_key_config(k2)->counter, SK_COUNTER_LOWER);
	assert_int_equal(sk_key_config(k2)->pin_protocols, SK_PINPROTO_1);
	assert_false(sk_key_config(k2)->touch);
	sk_key_close(&k2);

	/* a file that does not parse is refused */
	assert_non_null(fp = fopen(f->file, "a"));
	fprintf(fp, "no equals sign here\n");
	fclose(fp);
	assert_int_equal(sk_key_open(f->file, &k2), -1);
}

/* --- raw CTAPHID through the io functions, as libfido2 would frame it --- */

static void
hid_send(void *h, uint32_t cid, uint8_t cmd, const unsigned char *data,
    size_t len)
{
	unsigned char	f[65];
	size_t		off, n;
	uint8_t		seq = 0;

	memset(f, 0, sizeof(f));
	f[1] = (unsigned char)(cid >> 24);
	f[2] = (unsigned char)(cid >> 16);
	f[3] = (unsigned char)(cid >> 8);
	f[4] = (unsigned char)cid;
	f[5] = 0x80 | cmd;
	f[6] = (unsigned char)(len >> 8);
	f[7] = (unsigned char)len;
	n = len < 57 ? len : 57;
	if (n > 0)
		memcpy(f + 8, data, n);
	assert_int_equal(sk_hid_io.write(h, f, sizeof(f)), 65);
	for (off = n; off < len; off += n) {
		memset(f + 6, 0, sizeof(f) - 6);
		f[5] = seq++;
		n = len - off < 59 ? len - off : 59;
		memcpy(f + 6, data + off, n);
		assert_int_equal(sk_hid_io.write(h, f, sizeof(f)), 65);
	}
}

/* one whole answer, keepalives skipped: its command; payload in buf */
static int
hid_recv(void *h, uint32_t *cid, unsigned char *buf, size_t *len, int ms)
{
	unsigned char	f[64];
	size_t		want, got;
	int		cmd;

	do {
		if (sk_hid_io.read(h, f, sizeof(f), ms) != 64)
			return (-1);
	} while (f[4] == (0x80 | 0x3b));
	if ((f[4] & 0x80) == 0)
		return (-1);
	cmd = f[4] & 0x7f;
	*cid = (uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 |
	    (uint32_t)f[2] << 8 | f[3];
	want = (size_t)f[5] << 8 | f[6];
	got = want < 57 ? want : 57;
	memcpy(buf, f + 7, got);
	for (uint8_t seq = 0; got < want; seq++) {
		assert_int_equal(sk_hid_io.read(h, f, sizeof(f), ms), 64);
		assert_int_equal(f[4], seq);
		memcpy(buf + got, f + 5, want - got < 59 ? want - got : 59);
		got += want - got < 59 ? want - got : 59;
	}
	*len = want;

	return (cmd);
}

static void
test_ctaphid_raw(void **state)
{
	struct fx	*f = *state;
	void		*h;
	unsigned char	 nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned char	 buf[256], frame[64], ping[100];
	size_t		 len;
	uint32_t	 cid, cid1, cid2;
	int64_t		 t0;

	assert_non_null(f->dev = fido_dev_new());
	assert_int_equal(sk_key_attach(f->k, f->dev), 0);	/* registers */
	assert_non_null(h = sk_hid_io.open(sk_key_path(f->k)));

	/* INIT: nonce echoed, a new channel each time */
	hid_send(h, 0xffffffff, 0x06, nonce, sizeof(nonce));
	assert_int_equal(hid_recv(h, &cid, buf, &len, 100), 0x06);
	assert_int_equal(cid, 0xffffffff);
	assert_int_equal(len, 17);
	assert_memory_equal(buf, nonce, 8);
	cid1 = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
	    (uint32_t)buf[10] << 8 | buf[11];
	assert_true(buf[16] & 0x04);	/* CBOR */
	assert_true(buf[16] & 0x08);	/* no MSG */
	hid_send(h, 0xffffffff, 0x06, nonce, sizeof(nonce));
	assert_int_equal(hid_recv(h, &cid, buf, &len, 100), 0x06);
	cid2 = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
	    (uint32_t)buf[10] << 8 | buf[11];
	assert_int_not_equal(cid1, cid2);
	assert_int_not_equal(cid1, 0);
	assert_int_not_equal(cid1, 0xffffffff);

	/* PING over two frames comes back whole */
	for (size_t i = 0; i < sizeof(ping); i++)
		ping[i] = (unsigned char)i;
	hid_send(h, cid1, 0x01, ping, sizeof(ping));
	assert_int_equal(hid_recv(h, &cid, buf, &len, 100), 0x01);
	assert_int_equal(cid, cid1);
	assert_int_equal(len, sizeof(ping));
	assert_memory_equal(buf, ping, sizeof(ping));

	/* MSG (CTAP1): ERROR invalid command; CBOR on broadcast: channel */
	hid_send(h, cid1, 0x03, ping, 10);
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 100), 64);
	assert_int_equal(frame[4], 0x80 | 0x3f);
	assert_int_equal(frame[7], 0x01);
	hid_send(h, 0xffffffff, 0x10, (const unsigned char *)"\x04", 1);
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 100), 64);
	assert_int_equal(frame[4], 0x80 | 0x3f);
	assert_int_equal(frame[7], 0x0b);

	/* nothing asked, nothing to read, at once */
	t0 = now_ms();
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 1000), -1);
	assert_true(now_ms() - t0 < 100);

	/* waiting for a touch: UPNEEDED keepalives, then CANCEL ends it */
	sk_key_config(f->k)->touch = false;
	sk_key_config(f->k)->touch_timeout_ms = 10000;
	hid_send(h, cid1, 0x10, (const unsigned char *)"\x07", 1); /* reset */
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 300), 64);
	assert_int_equal(frame[4], 0x80 | 0x3b);
	assert_int_equal(frame[7], 2);
	t0 = now_ms();
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 250), 64);
	assert_int_equal(frame[4], 0x80 | 0x3b);
	assert_true(now_ms() - t0 >= 50);
	hid_send(h, cid1, 0x11, NULL, 0);
	assert_int_equal(hid_recv(h, &cid, buf, &len, 100), 0x10);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 0x2d);	/* KEEPALIVE_CANCEL */

	/* a continuation out of sequence */
	hid_send(h, cid1, 0x01, ping, sizeof(ping));
	(void)hid_recv(h, &cid, buf, &len, 100);
	memset(frame, 0, sizeof(frame));
	{
		unsigned char w[65];

		memset(w, 0, sizeof(w));
		w[1] = (unsigned char)(cid1 >> 24);
		w[2] = (unsigned char)(cid1 >> 16);
		w[3] = (unsigned char)(cid1 >> 8);
		w[4] = (unsigned char)cid1;
		w[5] = 0x81;
		w[7] = 100;
		assert_int_equal(sk_hid_io.write(h, w, sizeof(w)), 65);
		w[5] = 3;	/* seq 3 instead of 0 */
		assert_int_equal(sk_hid_io.write(h, w, sizeof(w)), 65);
	}
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 100), 64);
	assert_int_equal(frame[4], 0x80 | 0x3f);
	assert_int_equal(frame[7], 0x04);

	/* unplugged: I/O fails */
	sk_key_config(f->k)->removed = true;
	assert_int_equal(sk_hid_io.write(h, frame, 65), -1);
	assert_int_equal(sk_hid_io.read(h, frame, sizeof(frame), 10), -1);
	sk_hid_io.close(h);
	fido_dev_free(&f->dev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_es256_self, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_es256_basic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_es256_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eddsa_self, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eddsa_basic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eddsa_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_algorithm_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_rp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_protocol1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_protocol2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_ctap20, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_ctap20_protocol2,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_blocked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_uv_unavailable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_builtin_uv, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_builtin_uv_ctap20, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_touch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ctaphid_raw, setup,
		    teardown),
	};

	fido_init(getenv("SOFTKEY_DEBUG") != NULL ? FIDO_DEBUG : 0);

	return (cmocka_run_group_tests_name("softkey", tests, NULL, NULL));
}
