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
 *     _to_EVP_PKEY) exactly as fido_assert_verify() would decode them,
 *     then kept as OpenSSL's own provider copy of that same public key
 *     (its public parameters exported and imported, same key type).
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
 *     slots have no lock.
 * Public keys are public: nothing here is wiped.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>

#include <openssl/core.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "err.h"
#include "fido2_keycache.h"

struct tk_fido2_keyslot {
	uint64_t	 id;		/* credential's store id */
	int		 alg;		/* enum tk_fido2_alg */
	unsigned char	*pk;		/* stored public key, a copy */
	size_t		 pk_len;
	EVP_PKEY	*pkey;		/* NULL: empty slot */
	bool		 used;		/* used since another key missed here */
};

static struct tk_fido2_keyslot	 tk_fido2_keyslots[TK_FIDO2_KEYCACHE_SLOTS];
static unsigned long long	 tk_fido2_key_hits, tk_fido2_key_misses;

static void
tk_fido2_keyslot_clear(struct tk_fido2_keyslot *s)
{
	EVP_PKEY_free(s->pkey);
	free(s->pk);
	memset(s, 0, sizeof(*s));
}

/*
 * libfido2 builds a legacy key (EC_KEY, RSA) that OpenSSL 3 copies into
 * its provider at the first verification: two copies, ~4.2 KiB an
 * ES256 key.  The key's public parameters (EVP_PKEY_todata: the curve's
 * name and the point; n and e; the Ed25519 bytes) imported as a provider
 * key (EVP_PKEY_fromdata) are the same public key, one copy: ~2.1 KiB an
 * ES256 key, 0.4 KiB an Ed25519 key, 1.8 KiB an RSA-2048 key (measured
 * with 500 keys each).  The import costs ~0.27 M instructions for ES256,
 * 0.03-0.06 M for the others; the DER round trip (i2d/d2i_PUBKEY) used
 * before cost 1.4-1.5 M, so a miss cost twice what fido_assert_verify()
 * did.  On failure *pkey is freed and NULL.
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
	case TK_FIDO2_ES256:	type = "EC";		break;
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
 * imported as a provider key, to be cached
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
	unsigned char *copy;
	EVP_PKEY *k;
	int r;

	*pkey = NULL;
	if (c == NULL || c->pubkey == NULL || c->pubkey_len == 0 ||
	    c->pubkey_len > TK_FIDO2_PUBKEY_MAX)
		return (TK_ERR_INVAL);
	s = &tk_fido2_keyslots[c->id % TK_FIDO2_KEYCACHE_SLOTS];
	/* invariant 1 */
	if (s->pkey != NULL && s->id == c->id && s->alg == c->algorithm &&
	    s->pk_len == c->pubkey_len &&
	    memcmp(s->pk, c->pubkey, c->pubkey_len) == 0) {
		if (EVP_PKEY_up_ref(s->pkey) != 1)
			return (TK_ERR_NOMEM);
		tk_fido2_key_hits++;
		s->used = true;
		*pkey = s->pkey;
		return (0);
	}
	tk_fido2_key_misses++;
	/* invariant 3: the slot's key was used since: keep it */
	if (s->pkey != NULL && s->used) {
		s->used = false;
		return (tk_fido2_key_build(c->algorithm, c->pubkey,
		    c->pubkey_len, false, pkey));
	}
	if ((r = tk_fido2_key_build(c->algorithm, c->pubkey, c->pubkey_len,
	    true, &k)) != 0)
		return (r);
	if ((copy = malloc(c->pubkey_len)) == NULL ||
	    EVP_PKEY_up_ref(k) != 1) {
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
	s->pkey = k;
	s->used = true;		/* a newcomer is not evicted by the next miss */
	*pkey = k;		/* the second reference, the caller's */
	return (0);
}

void
tk_fido2_keycache_clear(void)
{
	size_t i;

	for (i = 0; i < TK_FIDO2_KEYCACHE_SLOTS; i++)
		tk_fido2_keyslot_clear(&tk_fido2_keyslots[i]);
	tk_fido2_key_hits = tk_fido2_key_misses = 0;
}

void
tk_fido2_keycache_stats(unsigned long long *hits, unsigned long long *misses)
{
	*hits = tk_fido2_key_hits;
	*misses = tk_fido2_key_misses;
}
