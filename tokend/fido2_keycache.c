/*
 * fido2_keycache.c -- cached OpenSSL keys of FIDO2 credentials
 * (fido2_keycache.h).
 *
 * Why: turning a stored public key into an EVP_PKEY (libfido2's
 * es256_pk_from_ptr and es256_pk_to_EVP_PKEY: a new EC group and key,
 * twice, then OpenSSL's export of the legacy key to its provider at the
 * first use) costs about 500,000 instructions, 40 % of what
 * fido_assert_verify() spends; a city hall's terminals see the same few
 * hundred keys every morning.
 *
 * Invariants this file MUST keep:
 *  1. A cached key is used only for the credential it was built from:
 *     same store id, same algorithm, and the same stored public key,
 *     compared in full.  A key replaced in the store (revoked and
 *     enrolled again, a restored backup, another host's write) is
 *     rebuilt, never served stale.
 *  2. Keys are decoded by libfido2 (es256/eddsa/rs256_pk_from_ptr and
 *     _to_EVP_PKEY) exactly as fido_assert_verify() would decode them.
 *     An EdDSA or RS256 key is then kept as OpenSSL's own provider copy
 *     of that same public key (its public parameters exported and
 *     imported, same key type).  An ES256 key is kept as the point
 *     libfido2 decoded (0x04 || x || y, read back from its key) and
 *     loaded into one P-256 provider key, tk_fido2_es256_key, at each
 *     use (invariant 5).
 *  3. Bounded: TK_FIDO2_KEYCACHE_SLOTS slots, direct-mapped by store id,
 *     with a second chance: a key that misses takes the slot only when
 *     the slot's key was not used since the last miss there; otherwise
 *     it clears that mark and is used once, uncached, as libfido2 would
 *     use it (the legacy key, no import).  Two busy credentials sharing
 *     a slot (more than TK_FIDO2_KEYCACHE_SLOTS busy ones in all) so
 *     keep one of them cached instead of rebuilding both at every
 *     login, and a miss costs what fido_assert_verify() cost (with 2,048
 *     busy credentials plain replacement cost 345 instead of 289 us of
 *     tokend's CPU a login, docs/performance.md).
 *  4. Single-threaded: tokend's one thread is the only caller, so the
 *     slots and tk_fido2_es256_key have no lock.
 *  5. The shared P-256 key holds the point of the credential being
 *     verified, or does not exist: its point is set (and the set
 *     checked) before every reference to it is handed out, and a key
 *     whose point could not be set is freed at once, never left with
 *     another credential's point.  A caller is done with the key before
 *     its next call here (fido2.c frees it in the same function).
 *     Why: an EC provider key carries its own copy of the curve group
 *     (~1.9 of its 2.1 KiB), so one EVP_PKEY per credential made the
 *     cache tokend's largest heap user (+1.1 MiB with the bench's 512
 *     keys, tokend's RSS past its 16 MiB target); a point is 65 bytes.
 *     Setting it costs ~14,000 instructions a verification (1.6 % of
 *     the ~870,000 of an ES256 verification; the P-256 arithmetic is
 *     ~840,000 of them).
 * Public keys are public: nothing here is wiped.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>

#include <openssl/core.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "err.h"
#include "fido2_keycache.h"

/* an uncompressed P-256 point: 0x04 || x || y */
#define TK_FIDO2_ES256_POINT	65

struct tk_fido2_keyslot {
	uint64_t	 id;		/* credential's store id */
	int		 alg;		/* enum tk_fido2_alg */
	unsigned char	*pk;		/* stored public key, a copy; NULL:
					   empty slot */
	size_t		 pk_len;
	EVP_PKEY	*pkey;		/* EdDSA, RS256: the key */
	unsigned char	 point[TK_FIDO2_ES256_POINT];	/* ES256 */
	bool		 used;		/* used since the last miss here */
};

static struct tk_fido2_keyslot	 tk_fido2_keyslots[TK_FIDO2_KEYCACHE_SLOTS];
static unsigned long long	 tk_fido2_key_hits, tk_fido2_key_misses;
/* invariant 5: the one P-256 key of the cached ES256 credentials */
static EVP_PKEY			*tk_fido2_es256_key;

static void
tk_fido2_keyslot_clear(struct tk_fido2_keyslot *s)
{
	EVP_PKEY_free(s->pkey);
	free(s->pk);
	memset(s, 0, sizeof(*s));
}

/*
 * Invariant 5: a reference to the shared P-256 key holding `point' (a
 * point libfido2 decoded), the key made at the first use.  OpenSSL
 * checks the point is on the curve again when it is set.
 */
static int
tk_fido2_es256_load(const unsigned char point[TK_FIDO2_ES256_POINT],
    EVP_PKEY **pkey)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		    (char *)(uintptr_t)"P-256", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		    (void *)(uintptr_t)point, TK_FIDO2_ES256_POINT),
		OSSL_PARAM_END
	};
	EVP_PKEY_CTX *ctx = NULL;
	int r = TK_ERR_CRYPTO;

	*pkey = NULL;
	if (tk_fido2_es256_key == NULL) {
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC",
		    NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &tk_fido2_es256_key,
		    EVP_PKEY_PUBLIC_KEY, params) != 1)
			goto fail;
	} else if (EVP_PKEY_set1_encoded_public_key(tk_fido2_es256_key,
	    point, TK_FIDO2_ES256_POINT) != 1)
		goto fail;
	if (EVP_PKEY_up_ref(tk_fido2_es256_key) != 1) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	*pkey = tk_fido2_es256_key;
	r = 0;
fail:
	if (r != 0) {
		/* never left with another credential's point */
		EVP_PKEY_free(tk_fido2_es256_key);
		tk_fido2_es256_key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return (r);
}

/*
 * the point of libfido2's P-256 key `k' (invariant 2).  Not
 * EVP_PKEY_get_octet_string_param(): OpenSSL 3.0 answers 1 and an
 * empty point for libfido2's legacy EC_KEY.
 */
static int
tk_fido2_es256_point(EVP_PKEY *k, unsigned char point[TK_FIDO2_ES256_POINT])
{
	unsigned char *enc = NULL;
	size_t len;
	int r = TK_ERR_CRYPTO;

	if (EVP_PKEY_is_a(k, "EC") &&
	    (len = EVP_PKEY_get1_encoded_public_key(k, &enc)) ==
	    TK_FIDO2_ES256_POINT && enc != NULL && enc[0] == 0x04) {
		memcpy(point, enc, TK_FIDO2_ES256_POINT);
		r = 0;
	}
	OPENSSL_free(enc);
	ERR_clear_error();
	return (r);
}

/*
 * libfido2 builds a legacy key (Ed25519, RSA) that OpenSSL 3 copies
 * into its provider at the first verification.  The key's public
 * parameters (EVP_PKEY_todata: n and e; the Ed25519 bytes) imported as
 * a provider key (EVP_PKEY_fromdata) are the same public key, one copy:
 * 0.4 KiB an Ed25519 key, 1.8 KiB an RSA-2048 key (measured with 500
 * keys each), for 0.03-0.06 M instructions.  (An ES256 key so imported
 * took 2.1 KiB and 0.27 M: ES256 keys are kept as points, invariant 5.)
 * On failure *pkey is freed and NULL.
 */
static int
tk_fido2_key_native(int alg, EVP_PKEY **pkey)
{
	const char *type;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int r = TK_ERR_NOMEM;

	switch (alg) {
	case TK_FIDO2_EDDSA:	type = "ED25519";	break;
	case TK_FIDO2_RS256:	type = "RSA";		break;
	default:
		r = TK_ERR_INVAL;
		goto fail;
	}
	/* the type libfido2 built must be the one imported */
	if (!EVP_PKEY_is_a(*pkey, type)) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if (EVP_PKEY_todata(*pkey, EVP_PKEY_PUBLIC_KEY, &params) != 1 ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
		goto fail;
	}
	r = 0;
fail:
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	EVP_PKEY_free(*pkey);
	*pkey = k;
	return (r);
}

/*
 * invariant 2: the stored raw key through libfido2, or NULL; `native':
 * imported as a provider key, to be cached (EdDSA, RS256)
 */
static int
tk_fido2_key_build(int alg, const unsigned char *pk, size_t pk_len,
    bool native, EVP_PKEY **pkey)
{
	es256_pk_t *es;
	eddsa_pk_t *ed;
	rs256_pk_t *rs;

	*pkey = NULL;
	switch (alg) {
	case TK_FIDO2_ES256:
		if ((es = es256_pk_new()) == NULL)
			return (TK_ERR_NOMEM);
		if (es256_pk_from_ptr(es, pk, pk_len) == FIDO_OK)
			*pkey = es256_pk_to_EVP_PKEY(es);
		es256_pk_free(&es);
		break;
	case TK_FIDO2_EDDSA:
		if ((ed = eddsa_pk_new()) == NULL)
			return (TK_ERR_NOMEM);
		if (eddsa_pk_from_ptr(ed, pk, pk_len) == FIDO_OK)
			*pkey = eddsa_pk_to_EVP_PKEY(ed);
		eddsa_pk_free(&ed);
		break;
	case TK_FIDO2_RS256:
		if ((rs = rs256_pk_new()) == NULL)
			return (TK_ERR_NOMEM);
		if (rs256_pk_from_ptr(rs, pk, pk_len) == FIDO_OK)
			*pkey = rs256_pk_to_EVP_PKEY(rs);
		rs256_pk_free(&rs);
		break;
	default:
		return (TK_ERR_INVAL);
	}
	/* libfido2 does not tell a bad key from a failed allocation */
	if (*pkey == NULL)
		return (TK_ERR_INVAL);
	return (native ? tk_fido2_key_native(alg, pkey) : 0);
}

int
tk_fido2_keycache_get(const struct tk_cred *c, EVP_PKEY **pkey)
{
	struct tk_fido2_keyslot *s;
	unsigned char *copy, point[TK_FIDO2_ES256_POINT];
	EVP_PKEY *k;
	bool es256;
	int r;

	*pkey = NULL;
	if (c == NULL || c->pubkey == NULL || c->pubkey_len == 0 ||
	    c->pubkey_len > TK_FIDO2_PUBKEY_MAX)
		return (TK_ERR_INVAL);
	es256 = c->algorithm == TK_FIDO2_ES256;
	s = &tk_fido2_keyslots[c->id % TK_FIDO2_KEYCACHE_SLOTS];
	/* invariant 1 */
	if (s->pk != NULL && s->id == c->id && s->alg == c->algorithm &&
	    s->pk_len == c->pubkey_len &&
	    memcmp(s->pk, c->pubkey, c->pubkey_len) == 0) {
		if (es256) {
			if ((r = tk_fido2_es256_load(s->point, pkey)) != 0)
				return (r);
		} else {
			if (EVP_PKEY_up_ref(s->pkey) != 1)
				return (TK_ERR_NOMEM);
			*pkey = s->pkey;
		}
		tk_fido2_key_hits++;
		s->used = true;
		return (0);
	}
	tk_fido2_key_misses++;
	/* invariant 3: the slot's key was used since: keep it */
	if (s->pk != NULL && s->used) {
		s->used = false;
		return (tk_fido2_key_build(c->algorithm, c->pubkey,
		    c->pubkey_len, false, pkey));
	}
	if ((r = tk_fido2_key_build(c->algorithm, c->pubkey, c->pubkey_len,
	    !es256, &k)) != 0)
		return (r);
	/* ES256: the point libfido2 decoded, not its key (invariant 5) */
	if (es256 && (r = tk_fido2_es256_point(k, point)) != 0) {
		EVP_PKEY_free(k);
		return (r);
	}
	if ((copy = malloc(c->pubkey_len)) == NULL ||
	    (!es256 && EVP_PKEY_up_ref(k) != 1)) {
		free(copy);
		EVP_PKEY_free(k);
		return (TK_ERR_NOMEM);
	}
	memcpy(copy, c->pubkey, c->pubkey_len);
	tk_fido2_keyslot_clear(s);
	s->id = c->id;
	s->alg = c->algorithm;
	s->pk = copy;
	s->pk_len = c->pubkey_len;
	s->used = true;		/* not evicted by the next miss */
	if (es256) {
		EVP_PKEY_free(k);
		memcpy(s->point, point, sizeof(s->point));
		return (tk_fido2_es256_load(s->point, pkey));
	}
	s->pkey = k;
	*pkey = k;		/* the second reference, the caller's */
	return (0);
}

void
tk_fido2_keycache_clear(void)
{
	size_t i;

	for (i = 0; i < TK_FIDO2_KEYCACHE_SLOTS; i++)
		tk_fido2_keyslot_clear(&tk_fido2_keyslots[i]);
	EVP_PKEY_free(tk_fido2_es256_key);
	tk_fido2_es256_key = NULL;
	tk_fido2_key_hits = tk_fido2_key_misses = 0;
}

void
tk_fido2_keycache_stats(unsigned long long *hits, unsigned long long *misses)
{
	*hits = tk_fido2_key_hits;
	*misses = tk_fido2_key_misses;
}
