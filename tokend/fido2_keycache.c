/*
 * fido2_keycache.c -- cached OpenSSL keys of FIDO2 credentials
 * (fido2_keycache.h).
 *
 * Why: turning a stored public key into an EVP_PKEY (libfido2's
 * es256_pk_to_EVP_PKEY: a new EC group and key, then OpenSSL's export
 * of the legacy key to its provider at the first use) costs about
 * 500,000 instructions, more than the ECDSA verification itself; a
 * city hall's terminals see the same few hundred keys every morning.
 *
 * Invariants this file MUST keep:
 *  1. A cached key is used only for the credential it was built from:
 *     same store id, same algorithm, and the same stored public key,
 *     compared in full.  A key replaced in the store (revoked and
 *     enrolled again, a restored backup, another host's write) is
 *     rebuilt, never served stale.
 *  2. Keys are decoded by libfido2 (es256/eddsa/rs256_pk_from_ptr and
 *     _to_EVP_PKEY) exactly as fido_assert_verify() would decode them,
 *     then kept as OpenSSL's own copy of that same public key.
 *  3. Bounded: TK_FIDO2_KEYCACHE_SLOTS slots, direct-mapped by store id;
 *     a new key evicts the slot's old one.
 *  4. Single-threaded: tokend's one thread is the only caller, so the
 *     slots have no lock.
 * Public keys are public: nothing here is wiped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "err.h"
#include "fido2_keycache.h"

struct tk_fido2_keyslot {
	uint64_t	 id;		/* credential's store id */
	int		 alg;		/* enum tk_fido2_alg */
	unsigned char	*pk;		/* stored public key, a copy */
	size_t		 pk_len;
	EVP_PKEY	*pkey;		/* NULL: empty slot */
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
 * its provider at the first verification: two copies, ~4.3 KiB an
 * ES256 key.  The same public key through its DER encoding is one
 * provider key, ~2.5 KiB (measured with 1,000 keys).  On failure *pkey
 * is freed and NULL.
 */
static int
tk_fido2_key_native(EVP_PKEY **pkey)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	EVP_PKEY *k = NULL;
	int len;

	if ((len = i2d_PUBKEY(*pkey, &der)) > 0) {
		p = der;
		k = d2i_PUBKEY(NULL, &p, len);
		if (k != NULL && p != der + len) {	/* not all of it */
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	OPENSSL_free(der);
	ERR_clear_error();
	EVP_PKEY_free(*pkey);
	*pkey = k;
	return (k != NULL ? 0 : TK_ERR_NOMEM);
}

/* invariant 2: the stored raw key through libfido2, or NULL */
static int
tk_fido2_key_build(int alg, const unsigned char *pk, size_t pk_len,
    EVP_PKEY **pkey)
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
	return (tk_fido2_key_native(pkey));
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
		tk_fido2_key_hits++;
		*pkey = s->pkey;
		return (0);
	}
	tk_fido2_key_misses++;
	if ((r = tk_fido2_key_build(c->algorithm, c->pubkey, c->pubkey_len,
	    &k)) != 0)
		return (r);
	if ((copy = malloc(c->pubkey_len)) == NULL) {
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
	*pkey = k;
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
