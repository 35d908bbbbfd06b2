/*
 * test_fido2_verify.c -- tokend's assertion check (tokend/fido2.c, which
 * verifies signatures with OpenSSL and keys cached per credential,
 * tokend/fido2_keycache.c) against libfido2's own fido_assert_verify():
 *
 *  - differential: ES256, EdDSA and RS256 keys made with OpenSSL, valid
 *    assertions and thousands of mutations of them (bits flipped in
 *    the authenticator data, the signature or the client data hash,
 *    truncations, another key, UV missing, extensions); the two must
 *    reach the same verdict, except that tokend alone refuses bytes
 *    after the authenticator data and the AT flag in an assertion
 *    (invariant 6 of fido2.c), which libfido2 lets through;
 *  - the cache never verifies with a stale key: the same credential id
 *    with a new public key is judged by the new key only, and ES256
 *    credentials, whose points share one OpenSSL key, are each judged
 *    by their own point whatever was verified before;
 *  - the T8 matrix's ideas (tests/daemon/test_fido2_matrix.c) one by
 *    one for each algorithm: CBOR-wrapped data, ED without extensions,
 *    another RP's hash, another challenge, another algorithm's
 *    signature, DER variants, extension maps libfido2 reads or
 *    refuses, libfido2's 1,024-byte EdDSA message limit, and stored
 *    keys libfido2 accepts or refuses (long, short, prefixed, off the
 *    curve); where tokend is stricter on purpose the case says so and
 *    checks libfido2 does accept it;
 *  - eviction: more credentials than slots, and two ids on one slot,
 *    all still verify; of two busy ids on one slot the first stays
 *    cached (second chance), a key left unused gives way.
 * The mutations come from a fixed seed, so a failure is reproducible.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "fido2.h"
#include "fido2_keycache.h"
#include "store.h"

#define RP		"tokend.example.jp"
#define MUTATIONS	1500	/* a key: about 4,500 cases in all */
#define AD_MAX		1280	/* past libfido2's EdDSA buffer */

struct key {
	int		 alg;		/* enum tk_fido2_alg */
	EVP_PKEY	*pkey;		/* private, for signing */
	unsigned char	 pk[300];	/* the stored public key */
	size_t		 pk_len;
};

struct assertion {
	unsigned char	 ad[AD_MAX];
	size_t		 ad_len;
	unsigned char	 cdh[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char	 sig[600];
	size_t		 sig_len;
};

static uint64_t rng_state = 0x746f6b656e64ULL;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((uint32_t)(rng_state >> 33));
}

/* the raw public key libfido2 stores for `k' (fido_cred_pubkey_ptr) */
static void
key_new(struct key *k, int alg)
{
	BIGNUM *n = NULL, *e = NULL;
	size_t len;
	unsigned char pub[65];

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	switch (alg) {
	case TK_FIDO2_ES256:
		assert_non_null(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256"));
		assert_int_equal(EVP_PKEY_get_octet_string_param(k->pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
		assert_int_equal(len, 65);
		memcpy(k->pk, pub + 1, 64);	/* x || y */
		k->pk_len = 64;
		break;
	case TK_FIDO2_EDDSA:
		assert_non_null(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL,
		    "ED25519"));
		k->pk_len = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, k->pk,
		    &k->pk_len), 1);
		break;
	case TK_FIDO2_RS256:
		assert_non_null(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)2048));
		assert_int_equal(EVP_PKEY_get_bn_param(k->pkey,
		    OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(k->pkey,
		    OSSL_PKEY_PARAM_RSA_E, &e), 1);
		assert_int_equal(BN_bn2binpad(n, k->pk, 256), 256);
		assert_int_equal(BN_bn2binpad(e, k->pk + 256, 3), 3);
		k->pk_len = 259;		/* n || e */
		BN_free(n);
		BN_free(e);
		break;
	default:
		fail();
	}
}

static void
key_free(struct key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* signs ad || cdh as the authenticator would */
static void
sign(const struct key *k, struct assertion *a)
{
	unsigned char msg[AD_MAX + TK_FIDO2_CHALLENGE_BYTES];
	EVP_MD_CTX *ctx;

	memcpy(msg, a->ad, a->ad_len);
	memcpy(msg + a->ad_len, a->cdh, sizeof(a->cdh));
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, NULL,
	    k->alg == TK_FIDO2_EDDSA ? NULL : EVP_sha256(), NULL, k->pkey), 1);
	a->sig_len = sizeof(a->sig);
	assert_int_equal(EVP_DigestSign(ctx, a->sig, &a->sig_len, msg,
	    a->ad_len + sizeof(a->cdh)), 1);
	EVP_MD_CTX_free(ctx);
}

/* a valid assertion by k: rp id hash, flags, counter, extensions */
static void
assertion_new(const struct key *k, struct assertion *a, uint8_t flags,
    const unsigned char *ext, size_t ext_len)
{
	unsigned int hlen;
	size_t i;

	memset(a, 0, sizeof(*a));
	assert_int_equal(EVP_Digest(RP, strlen(RP), a->ad, &hlen,
	    EVP_sha256(), NULL), 1);
	a->ad[32] = flags;
	a->ad[36] = (unsigned char)(1 + rng() % 200);	/* counter */
	a->ad_len = 37;
	assert_true(a->ad_len + ext_len <= sizeof(a->ad));
	if (ext_len > 0)
		memcpy(a->ad + a->ad_len, ext, ext_len);
	a->ad_len += ext_len;
	for (i = 0; i < sizeof(a->cdh); i++)
		a->cdh[i] = (unsigned char)rng();
	sign(k, a);
}

static int
cose(int alg)
{
	return (alg == TK_FIDO2_ES256 ? COSE_ES256 : alg == TK_FIDO2_EDDSA ?
	    COSE_EDDSA : COSE_RS256);
}

/* libfido2's verdict, set up as tokend sets up its request */
static bool
reference_ok(const struct key *k, const struct assertion *a, bool uv)
{
	fido_assert_t *fa;
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	rs256_pk_t *rs = NULL;
	const void *pk = NULL;
	int r = FIDO_ERR_INVALID_ARGUMENT;

	assert_non_null(fa = fido_assert_new());
	assert_int_equal(fido_assert_set_rp(fa, RP), FIDO_OK);
	assert_int_equal(fido_assert_set_clientdata_hash(fa, a->cdh,
	    sizeof(a->cdh)), FIDO_OK);
	assert_int_equal(fido_assert_set_count(fa, 1), FIDO_OK);
	assert_int_equal(fido_assert_set_up(fa, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_assert_set_uv(fa, uv ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT), FIDO_OK);
	if (fido_assert_set_authdata_raw(fa, 0, a->ad, a->ad_len) != FIDO_OK ||
	    fido_assert_set_sig(fa, 0, a->sig, a->sig_len) != FIDO_OK)
		goto out;
	switch (k->alg) {
	case TK_FIDO2_ES256:
		assert_non_null(es = es256_pk_new());
		if (es256_pk_from_ptr(es, k->pk, k->pk_len) == FIDO_OK)
			pk = es;
		break;
	case TK_FIDO2_EDDSA:
		assert_non_null(ed = eddsa_pk_new());
		if (eddsa_pk_from_ptr(ed, k->pk, k->pk_len) == FIDO_OK)
			pk = ed;
		break;
	default:
		assert_non_null(rs = rs256_pk_new());
		if (rs256_pk_from_ptr(rs, k->pk, k->pk_len) == FIDO_OK)
			pk = rs;
		break;
	}
	if (pk != NULL)
		r = fido_assert_verify(fa, 0, cose(k->alg), pk);
out:
	es256_pk_free(&es);
	eddsa_pk_free(&ed);
	rs256_pk_free(&rs);
	fido_assert_free(&fa);
	return (r == FIDO_OK);
}

/* tokend's verdict for credential (id, k) */
static bool
tokend_ok(uint64_t id, const struct key *k, const struct assertion *a,
    bool uv)
{
	struct tk_cred c;
	struct tk_fido2_assertion as;
	enum tk_fido2_verdict v;
	const char *why;
	uint32_t count;
	int r;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.kind = TK_CRED_FIDO2;
	c.algorithm = k->alg;
	c.pubkey = (unsigned char *)(uintptr_t)k->pk;
	c.pubkey_len = k->pk_len;
	as.authdata = a->ad;
	as.authdata_len = a->ad_len;
	as.sig = a->sig;
	as.sig_len = a->sig_len;
	r = tk_fido2_verify_assertion(RP, a->cdh, &c, &as, uv, &v, &why,
	    &count);
	assert_int_equal(r, 0);
	if (v == TK_FIDO2_OK)
		assert_null(why);
	else
		assert_non_null(why);
	return (v == TK_FIDO2_OK);
}

static void
agree(uint64_t id, const struct key *k, const struct assertion *a, bool uv,
    const char *what, unsigned i)
{
	bool ref = reference_ok(k, a, uv), tk = tokend_ok(id, k, a, uv);

	size_t j;

	/* AT in an assertion: libfido2 ignores it, tokend refuses it */
	if (a->ad_len > 32 && (a->ad[32] & 0x40) != 0) {
		if (tk)
			fail_msg("%s (alg %d, case %u): tokend accepts the AT "
			    "flag in an assertion", what, k->alg, i);
		return;
	}
	if (ref != tk) {
		for (j = 0; j < a->ad_len; j++)
			fprintf(stderr, "%02x", a->ad[j]);
		fprintf(stderr, " (%zu bytes)\n", a->ad_len);
		fail_msg("%s (alg %d, case %u): libfido2 %s, tokend %s", what,
		    k->alg, i, ref ? "accepts" : "refuses",
		    tk ? "accepts" : "refuses");
	}
}

/* {"credProtect": 1}: an extension libfido2 ignores */
static const unsigned char ext_ignored[] = {
	0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r', 'o', 't', 'e', 'c', 't', 0x01
};
/* {"hmac-secret": h'00'}, {"credBlob": h''}: known, not requested */
static const unsigned char ext_hmac[] = {
	0xa1, 0x6b, 'h', 'm', 'a', 'c', '-', 's', 'e', 'c', 'r', 'e', 't',
	0x41, 0x00
};
static const unsigned char ext_blob[] = {
	0xa1, 0x68, 'c', 'r', 'e', 'd', 'B', 'l', 'o', 'b', 0x40
};

static void
differential(int alg)
{
	struct key k, other;
	struct assertion good, a;
	unsigned i, accepted = 0;
	size_t pos;

	tk_fido2_keycache_clear();
	key_new(&k, alg);
	key_new(&other, alg);

	/* the valid ones, with and without UV required */
	assertion_new(&k, &good, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV, NULL,
	    0);
	assert_true(reference_ok(&k, &good, true));
	assert_true(tokend_ok(1, &k, &good, true));
	assertion_new(&k, &a, TK_FIDO2_FLAG_UP, NULL, 0);
	agree(1, &k, &a, false, "UP only, UV not required", 0);
	assert_true(tokend_ok(1, &k, &a, false));
	agree(1, &k, &a, true, "UP only, UV required", 0);
	assert_false(tokend_ok(1, &k, &a, true));
	assertion_new(&k, &a, TK_FIDO2_FLAG_UV, NULL, 0);
	agree(1, &k, &a, false, "no UP", 0);
	assert_false(tokend_ok(1, &k, &a, false));

	/* extensions: ignored, or known and unrequested */
	assertion_new(&k, &a, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV | 0x80,
	    ext_ignored, sizeof(ext_ignored));
	agree(1, &k, &a, true, "credProtect", 0);
	assert_true(tokend_ok(1, &k, &a, true));
	assertion_new(&k, &a, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV | 0x80,
	    ext_hmac, sizeof(ext_hmac));
	agree(1, &k, &a, true, "hmac-secret", 0);
	assert_false(tokend_ok(1, &k, &a, true));
	assertion_new(&k, &a, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV | 0x80,
	    ext_blob, sizeof(ext_blob));
	agree(1, &k, &a, true, "credBlob", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* another key's signature; a key of another relying party */
	assertion_new(&other, &a, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV, NULL,
	    0);
	agree(1, &k, &a, true, "another key", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* trailing bytes: libfido2 accepts them, tokend does not */
	a = good;
	a.ad[a.ad_len++] = 0x00;
	sign(&k, &a);
	assert_false(tokend_ok(1, &k, &a, true));

	for (i = 0; i < MUTATIONS; i++) {
		a = good;
		switch (rng() % 6) {
		case 0:		/* a bit of the authenticator data */
			pos = rng() % a.ad_len;
			a.ad[pos] ^= (unsigned char)(1u << (rng() % 8));
			break;
		case 1:		/* the same, re-signed: flags and hash */
			pos = rng() % a.ad_len;
			a.ad[pos] ^= (unsigned char)(1u << (rng() % 8));
			sign(&k, &a);
			break;
		case 2:		/* a bit of the signature */
			pos = rng() % a.sig_len;
			a.sig[pos] ^= (unsigned char)(1u << (rng() % 8));
			break;
		case 3:		/* a bit of the client data hash */
			pos = rng() % sizeof(a.cdh);
			a.cdh[pos] ^= (unsigned char)(1u << (rng() % 8));
			break;
		case 4:		/* truncated signature */
			a.sig_len = rng() % a.sig_len;
			break;
		case 5:		/* truncated authenticator data */
			a.ad_len = rng() % a.ad_len;
			break;
		}
		if (a.sig_len == 0)
			a.sig_len = 1;
		agree(1, &k, &a, true, "mutation", i);
		agree(1, &k, &a, false, "mutation, UV not required", i);
		accepted += reference_ok(&k, &a, false);
	}
	print_message("alg %d: %u mutations, %u accepted by both (UV not "
	    "required)\n", alg, MUTATIONS, accepted);
	key_free(&k);
	key_free(&other);
}

static void
test_differential_es256(void **state)
{
	(void)state;
	differential(TK_FIDO2_ES256);
}

static void
test_differential_eddsa(void **state)
{
	(void)state;
	differential(TK_FIDO2_EDDSA);
}

static void
test_differential_rs256(void **state)
{
	(void)state;
	differential(TK_FIDO2_RS256);
}

/*
 * A case where tokend is stricter than libfido2 on purpose: libfido2
 * accepts, tokend refuses.
 */
static void
stricter(uint64_t id, const struct key *k, const struct assertion *a,
    const char *what)
{
	if (!reference_ok(k, a, true))
		fail_msg("%s (alg %d): libfido2 refuses it too", what, k->alg);
	if (tokend_ok(id, k, a, true))
		fail_msg("%s (alg %d): tokend accepts it", what, k->alg);
}

/* re-signs a after its authenticator data changed */
static void
resign(const struct key *k, struct assertion *a)
{
	sign(k, a);
}

/* {"x": h'00..'} making the authenticator data exactly `ad_len' long */
static size_t
ext_pad(unsigned char *ext, size_t cap, size_t ad_len)
{
	size_t n = ad_len - 37, pad = n - 6;

	assert_true(n <= cap && pad >= 256 && pad <= 0xffff);
	ext[0] = 0xa1;			/* map(1) */
	ext[1] = 0x61;			/* text(1) */
	ext[2] = 'x';
	ext[3] = 0x59;			/* bytes, 2-byte length */
	ext[4] = (unsigned char)(pad >> 8);
	ext[5] = (unsigned char)pad;
	memset(ext + 6, 0xa5, pad);
	return (n);
}

/* the DER ECDSA signature of a, rewritten: high S, or r and s swapped */
static void
der_rewrite(struct assertion *a, bool high_s)
{
	const unsigned char *p = a->sig;
	unsigned char *q;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	BIGNUM *n = NULL, *r2, *s2;
	int len;

	assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)a->sig_len));
	ECDSA_SIG_get0(es, &r, &s);
	assert_non_null(r2 = BN_dup(high_s ? r : s));
	if (high_s) {
		assert_true(BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFF"
		    "BCE6FAADA7179E84F3B9CAC2FC632551") > 0);
		assert_non_null(s2 = BN_new());
		assert_int_equal(BN_sub(s2, n, s), 1);
	} else
		assert_non_null(s2 = BN_dup(r));
	assert_int_equal(ECDSA_SIG_set0(es, r2, s2), 1);
	q = a->sig;
	assert_true((len = i2d_ECDSA_SIG(es, NULL)) > 0 &&
	    (size_t)len <= sizeof(a->sig));
	assert_int_equal(i2d_ECDSA_SIG(es, &q), len);
	a->sig_len = (size_t)len;
	ECDSA_SIG_free(es);
	BN_free(n);
}

static void
t8_cases(int alg)
{
	/* text keys: "hmac-secret\0x" (NUL inside), 1 (not text) */
	static const unsigned char ext_nul[] = {
		0xa1, 0x6d, 'h', 'm', 'a', 'c', '-', 's', 'e', 'c', 'r', 'e',
		't', 0x00, 'x', 0x41, 0x00
	};
	static const unsigned char ext_int[] = { 0xa1, 0x01, 0x02 };
	static const unsigned char ext_indef[] = {	/* {_ "x": 1} */
		0xbf, 0x61, 'x', 0x01, 0xff
	};
	static const unsigned char ext_tpp[] = {	/* thirdPartyPayment */
		0xa1, 0x71, 't', 'h', 'i', 'r', 'd', 'P', 'a', 'r', 't', 'y',
		'P', 'a', 'y', 'm', 'e', 'n', 't', 0xf5
	};
	const uint8_t upuv = TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV;
	unsigned char ext[AD_MAX];
	struct key k, other, mixed;
	struct assertion good, a;
	unsigned int hlen;
	size_t n;
	int oalg;

	tk_fido2_keycache_clear();
	key_new(&k, alg);
	oalg = alg == TK_FIDO2_EDDSA ? TK_FIDO2_ES256 : TK_FIDO2_EDDSA;
	key_new(&other, oalg);
	assertion_new(&k, &good, upuv, NULL, 0);
	assert_true(tokend_ok(1, &k, &good, true));

	/* the CBOR byte string libfido2 keeps, sent as is and signed */
	a = good;
	memmove(a.ad + 2, a.ad, a.ad_len);
	a.ad[0] = 0x58;
	a.ad[1] = (unsigned char)good.ad_len;
	a.ad_len += 2;
	resign(&k, &a);
	agree(1, &k, &a, true, "CBOR-wrapped", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* ED set, no extensions, signed */
	a = good;
	a.ad[32] |= 0x80;
	resign(&k, &a);
	agree(1, &k, &a, true, "ED without extensions", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* another RP's hash, and all zero, validly signed */
	a = good;
	assert_int_equal(EVP_Digest("other.example.jp", 16, a.ad, &hlen,
	    EVP_sha256(), NULL), 1);
	resign(&k, &a);
	agree(1, &k, &a, true, "another RP", 0);
	assert_false(tokend_ok(1, &k, &a, true));
	memset(a.ad, 0, 32);
	resign(&k, &a);
	agree(1, &k, &a, true, "RP hash zero", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* a valid signature over another challenge */
	a = good;
	a.cdh[0] ^= 0xff;
	resign(&k, &a);
	a.cdh[0] ^= 0xff;
	agree(1, &k, &a, true, "another challenge", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* the other algorithm's signature over the same data */
	a = good;
	resign(&other, &a);
	agree(1, &k, &a, true, "another algorithm's signature", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* the credential's algorithm says the other one, same key bytes */
	mixed = k;
	mixed.alg = oalg;
	agree(1, &mixed, &good, true, "algorithm mismatch", 0);
	assert_false(tokend_ok(1, &mixed, &good, true));

	/* no signature at all, one byte, the maximum */
	a = good;
	a.sig_len = 0;
	agree(1, &k, &a, true, "empty signature", 0);
	a.sig_len = 1;
	agree(1, &k, &a, true, "1-byte signature", 0);
	a = good;
	memset(a.sig + a.sig_len, 0, sizeof(a.sig) - a.sig_len);
	a.sig_len = sizeof(a.sig);
	agree(1, &k, &a, true, "zero-padded signature", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	if (alg == TK_FIDO2_ES256) {
		/* DER: a byte after it, high S (valid to OpenSSL), r <-> s */
		a = good;
		a.sig[a.sig_len++] = 0x00;
		agree(1, &k, &a, true, "DER with a trailing byte", 0);
		assert_false(tokend_ok(1, &k, &a, true));
		a = good;
		der_rewrite(&a, true);
		agree(1, &k, &a, true, "high S", 0);
		a = good;
		der_rewrite(&a, false);
		agree(1, &k, &a, true, "r and s swapped", 0);
		assert_false(tokend_ok(1, &k, &a, true));
	}

	/* extension maps: a key with a NUL, a key that is not text,
	   indefinite length */
	assertion_new(&k, &a, upuv | 0x80, ext_nul, sizeof(ext_nul));
	agree(1, &k, &a, true, "hmac-secret\\0x", 0);
	assert_false(tokend_ok(1, &k, &a, true));
	assertion_new(&k, &a, upuv | 0x80, ext_int, sizeof(ext_int));
	agree(1, &k, &a, true, "integer extension key", 0);
	assert_true(tokend_ok(1, &k, &a, true));
	assertion_new(&k, &a, upuv | 0x80, ext_indef, sizeof(ext_indef));
	agree(1, &k, &a, true, "indefinite extension map", 0);
	assert_false(tokend_ok(1, &k, &a, true));

	/* tokend is stricter on purpose: trailing bytes, signed; an
	   extensions map with ED clear; thirdPartyPayment (known to
	   libfido2 >= 1.13, never requested) */
	a = good;
	a.ad[a.ad_len++] = 0x00;
	resign(&k, &a);
	stricter(1, &k, &a, "trailing byte");
	assertion_new(&k, &a, upuv, ext_int, sizeof(ext_int));
	stricter(1, &k, &a, "extensions without ED");
	assertion_new(&k, &a, upuv | 0x80, ext_tpp, sizeof(ext_tpp));
	stricter(1, &k, &a, "thirdPartyPayment");

	/* libfido2's EdDSA message buffer: 1,024 bytes, the challenge
	   included; the hashed algorithms have no limit */
	for (n = 990; n <= 995; n++) {
		assertion_new(&k, &a, upuv | 0x80, ext,
		    ext_pad(ext, sizeof(ext), n));
		assert_int_equal(a.ad_len, n);
		agree(1, &k, &a, true, "long authenticator data", (unsigned)n);
		assert_int_equal(tokend_ok(1, &k, &a, true),
		    alg != TK_FIDO2_EDDSA || n <= 1024 - 32);
	}
	assertion_new(&k, &a, upuv | 0x80, ext, ext_pad(ext, sizeof(ext),
	    AD_MAX - 8));
	agree(1, &k, &a, true, "long authenticator data", AD_MAX - 8);

	key_free(&k);
	key_free(&other);
	tk_fido2_keycache_clear();
}

static void
test_t8_es256(void **state)
{
	(void)state;
	t8_cases(TK_FIDO2_ES256);
}

static void
test_t8_eddsa(void **state)
{
	(void)state;
	t8_cases(TK_FIDO2_EDDSA);
}

static void
test_t8_rs256(void **state)
{
	(void)state;
	t8_cases(TK_FIDO2_RS256);
}

/*
 * Stored public keys libfido2 takes or refuses (es256_pk_from_ptr: x||y
 * or 0x04||x||y, bytes after the key ignored; on the curve), under one
 * credential id, so the cache sees each as a new key.
 */
static void
test_stored_keys(void **state)
{
	static const int algs[] = {
		TK_FIDO2_ES256, TK_FIDO2_EDDSA, TK_FIDO2_RS256
	};
	struct key k, v;
	struct assertion good;
	size_t i, full;
	unsigned j;

	(void)state;
	tk_fido2_keycache_clear();
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		key_new(&k, algs[i]);
		assertion_new(&k, &good, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV,
		    NULL, 0);
		full = k.pk_len;
		assert_true(tokend_ok(9, &k, &good, true));

		/* bytes after the key: libfido2 reads only its own */
		v = k;
		memset(v.pk + full, 0x5a, 7);
		v.pk_len = full + 7;
		agree(9, &v, &good, true, "key with trailing bytes", 0);
		assert_true(tokend_ok(9, &v, &good, true));
		/* one byte short */
		v = k;
		v.pk_len = full - 1;
		agree(9, &v, &good, true, "short key", 0);
		assert_false(tokend_ok(9, &v, &good, true));
		/* all zero */
		v = k;
		memset(v.pk, 0, full);
		agree(9, &v, &good, true, "zero key", 0);
		assert_false(tokend_ok(9, &v, &good, true));
		/* a bit flipped here and there: off the curve, another
		   point, another modulus or exponent */
		for (j = 0; j < 40; j++) {
			v = k;
			v.pk[rng() % full] ^= (unsigned char)(1u <<
			    (rng() % 8));
			agree(9, &v, &good, true, "flipped key", j);
			assert_false(tokend_ok(9, &v, &good, true));
		}
		if (algs[i] == TK_FIDO2_ES256) {
			/* the uncompressed point, prefixed */
			v = k;
			memmove(v.pk + 1, v.pk, full);
			v.pk[0] = 0x04;
			v.pk_len = full + 1;
			agree(9, &v, &good, true, "0x04 || x || y", 0);
			assert_true(tokend_ok(9, &v, &good, true));
			/* 65 bytes, no 0x04: x || y || junk */
			v = k;
			v.pk[full] = 0x04;
			v.pk_len = full + 1;
			agree(9, &v, &good, true, "x || y || 0x04", 0);
			assert_true(tokend_ok(9, &v, &good, true));
		}
		/* and the real key again, never a stale one */
		assert_true(tokend_ok(9, &k, &good, true));
		key_free(&k);
	}
	tk_fido2_keycache_clear();
}

/* a credential id whose stored key changed: the new key judges */
static void
test_cache_never_stale(void **state)
{
	struct key a, b;
	struct assertion by_a, by_b;
	unsigned long long hits, misses;

	(void)state;
	tk_fido2_keycache_clear();
	key_new(&a, TK_FIDO2_ES256);
	key_new(&b, TK_FIDO2_ES256);
	assertion_new(&a, &by_a, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV, NULL, 0);
	assertion_new(&b, &by_b, TK_FIDO2_FLAG_UP | TK_FIDO2_FLAG_UV, NULL, 0);
	assert_true(tokend_ok(7, &a, &by_a, true));
	assert_true(tokend_ok(7, &a, &by_a, true));
	tk_fido2_keycache_stats(&hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, 1);
	/* id 7 now stores key b: a's assertion must fail */
	assert_false(tokend_ok(7, &b, &by_a, true));
	assert_true(tokend_ok(7, &b, &by_b, true));
	/* one byte of the stored key differs: not the cached key */
	b.pk[63] ^= 0x01;
	assert_false(tokend_ok(7, &b, &by_b, true));
	b.pk[63] ^= 0x01;
	assert_true(tokend_ok(7, &b, &by_b, true));
	/* another algorithm under the same id and bytes: rebuilt, refused */
	b.alg = TK_FIDO2_EDDSA;
	assert_false(tokend_ok(7, &b, &by_b, true));
	b.alg = TK_FIDO2_ES256;
	key_free(&a);
	key_free(&b);
	tk_fido2_keycache_clear();
}

/*
 * ES256 keys are cached as points loaded into one shared P-256 key
 * (fido2_keycache.c, invariant 5): whichever credential was verified
 * last, each is judged by its own point only, also right after a
 * credential whose stored key does not decode, and after a clear.
 */
static void
test_cache_shared_es256(void **state)
{
	enum { K = 4 };
	struct key keys[K], bad;
	struct assertion as[K];
	unsigned long long hits, misses;
	size_t i, j, round;

	(void)state;
	tk_fido2_keycache_clear();
	for (i = 0; i < K; i++) {
		key_new(&keys[i], TK_FIDO2_ES256);
		assertion_new(&keys[i], &as[i], TK_FIDO2_FLAG_UP |
		    TK_FIDO2_FLAG_UV, NULL, 0);
	}
	/* a stored key libfido2 refuses: off the curve */
	bad = keys[0];
	bad.pkey = NULL;
	bad.pk[10] ^= 0x01;
	for (round = 0; round < 3; round++) {
		for (i = 0; i < K; i++)
			for (j = 0; j < K; j++) {
				/* credential i, assertion of j */
				assert_int_equal(tokend_ok(i + 1, &keys[i],
				    &as[j], true), i == j);
				assert_false(tokend_ok(100, &bad, &as[j],
				    true));
			}
		if (round == 1)
			tk_fido2_keycache_clear();
	}
	tk_fido2_keycache_stats(&hits, &misses);
	/* after the clear: one miss per key, then hits */
	assert_int_equal(misses, K + K * K);
	assert_int_equal(hits, K * K - K);
	for (i = 0; i < K; i++)
		key_free(&keys[i]);
	tk_fido2_keycache_clear();
}

/* more credentials than slots, and ids sharing a slot */
static void
test_cache_eviction(void **state)
{
	enum { N = TK_FIDO2_KEYCACHE_SLOTS + 300 };
	struct key *keys;
	struct assertion *as;
	unsigned long long hits, misses;
	size_t i;

	(void)state;
	tk_fido2_keycache_clear();
	assert_non_null(keys = calloc(N, sizeof(*keys)));
	assert_non_null(as = calloc(N, sizeof(*as)));
	for (i = 0; i < N; i++) {
		key_new(&keys[i], i % 3 == 0 ? TK_FIDO2_EDDSA :
		    TK_FIDO2_ES256);
		assertion_new(&keys[i], &as[i], TK_FIDO2_FLAG_UP |
		    TK_FIDO2_FLAG_UV, NULL, 0);
	}
	/* twice over: the second round evicts and rebuilds */
	for (i = 0; i < 2 * N; i++)
		assert_true(tokend_ok(i % N + 1, &keys[i % N], &as[i % N],
		    true));
	/* each key refuses its neighbour's assertion */
	for (i = 0; i + 1 < N; i += 97)
		assert_false(tokend_ok(i + 1, &keys[i], &as[i + 1], true));
	/* ids 5 and 5 + SLOTS share a slot: alternate */
	for (i = 0; i < 10; i++) {
		assert_true(tokend_ok(5, &keys[4], &as[4], true));
		assert_true(tokend_ok(5 + TK_FIDO2_KEYCACHE_SLOTS,
		    &keys[4 + TK_FIDO2_KEYCACHE_SLOTS],
		    &as[4 + TK_FIDO2_KEYCACHE_SLOTS], true));
	}
	tk_fido2_keycache_stats(&hits, &misses);
	assert_true(misses >= N);
	/* second chance: of two busy ids on one slot, the first stays
	   cached, the second is verified with a key of its own each time */
	tk_fido2_keycache_clear();
	for (i = 0; i < 10; i++) {
		assert_true(tokend_ok(5, &keys[4], &as[4], true));
		assert_true(tokend_ok(5 + TK_FIDO2_KEYCACHE_SLOTS,
		    &keys[4 + TK_FIDO2_KEYCACHE_SLOTS],
		    &as[4 + TK_FIDO2_KEYCACHE_SLOTS], true));
	}
	tk_fido2_keycache_stats(&hits, &misses);
	assert_int_equal(hits, 9);
	assert_int_equal(misses, 11);
	/* a slot's key unused since the last miss there (the loop ended
	   with one) gives way: the next miss takes the slot, then hits */
	for (i = 0; i < 3; i++)
		assert_true(tokend_ok(5 + TK_FIDO2_KEYCACHE_SLOTS,
		    &keys[4 + TK_FIDO2_KEYCACHE_SLOTS],
		    &as[4 + TK_FIDO2_KEYCACHE_SLOTS], true));
	tk_fido2_keycache_stats(&hits, &misses);
	assert_int_equal(hits, 11);
	assert_int_equal(misses, 12);
	/* and judges with its own key only */
	assert_false(tokend_ok(5 + TK_FIDO2_KEYCACHE_SLOTS,
	    &keys[4 + TK_FIDO2_KEYCACHE_SLOTS], &as[4], true));
	assert_true(tokend_ok(5, &keys[4], &as[4], true));
	for (i = 0; i < N; i++)
		key_free(&keys[i]);
	free(keys);
	free(as);
	tk_fido2_keycache_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential_es256),
		cmocka_unit_test(test_differential_eddsa),
		cmocka_unit_test(test_differential_rs256),
		cmocka_unit_test(test_t8_es256),
		cmocka_unit_test(test_t8_eddsa),
		cmocka_unit_test(test_t8_rs256),
		cmocka_unit_test(test_stored_keys),
		cmocka_unit_test(test_cache_never_stale),
		cmocka_unit_test(test_cache_shared_es256),
		cmocka_unit_test(test_cache_eviction),
	};

	tk_fido2_init();
	return (cmocka_run_group_tests_name("fido2_verify", tests, NULL,
	    NULL));
}
