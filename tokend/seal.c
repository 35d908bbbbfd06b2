/*
 * seal.c -- sealing TOTP secrets (and later other secrets) at rest with
 * XChaCha20-Poly1305 (libsodium, IETF construction).
 *
 * Associated data, 4 + 15 + 4 + u + 8 + 4 bytes:
 *
 *	"tokend-seal-v1\0" domain tag, preceded by its 4-byte length
 *	user		4-byte big-endian length, then the bytes
 *	cred		8 bytes, big-endian
 *	key id		4 bytes, big-endian
 *
 * MUST invariants:
 *  1. Every nonce is 24 fresh random bytes (randombytes_buf): random
 *     XChaCha20 nonces never repeat in practice, with no counter to keep.
 *  2. The associated data encodes (user, cred, key id) injectively, so a
 *     blob opens only for the row and key it was sealed for.
 *  3. A blob opens only under the key whose id it was stored with.
 *  4. An opened secret exists only in sodium_malloc'd memory that
 *     tk_unseal_free() wipes; nothing of it is left on failure.  The
 *     login path's tk_unseal_tmp() opens into one such buffer (guard
 *     pages, locked), allocated once and reused: it is wiped on every
 *     release and on every failure, and holds one secret at a time.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "proto.h"
#include "seal.h"
#include "store_seal.h"

#define TK_SEAL_NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TK_SEAL_TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define TK_SEAL_PLAIN_MAX	1024	/* largest secret, bytes */

static const char tk_seal_tag[15] = "tokend-seal-v1";	/* NUL included */

/* the largest associated data: tag, user and the fixed fields */
#define TK_SEAL_AD_MAX \
	(4 + sizeof(tk_seal_tag) + 4 + TK_USER_MAX + 8 + 4)

static unsigned char *
put_be(unsigned char *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	return (p + n);
}

/* the associated data of (user, cred, key_id) into ad; *ad_len bytes */
static int
seal_ad(const char *user, uint64_t cred, uint32_t key_id,
    unsigned char ad[TK_SEAL_AD_MAX], size_t *ad_len)
{
	unsigned char *p = ad;
	size_t n;

	*ad_len = 0;
	if (user == NULL)
		return (TK_ERR_INVAL);
	n = strnlen(user, TK_USER_MAX + 1);
	if (n == 0 || n > TK_USER_MAX)
		return (TK_ERR_INVAL);
	p = put_be(p, sizeof(tk_seal_tag), 4);
	memcpy(p, tk_seal_tag, sizeof(tk_seal_tag));
	p += sizeof(tk_seal_tag);
	p = put_be(p, n, 4);
	memcpy(p, user, n);
	p += n;
	p = put_be(p, cred, 8);
	p = put_be(p, key_id, 4);
	*ad_len = (size_t)(p - ad);
	return (0);
}

int
tk_seal(const tk_master_key_t *k, const char *user, uint64_t cred,
    const unsigned char *plain, size_t plain_len, unsigned char **blob,
    size_t *blob_len)
{
	unsigned char ad[TK_SEAL_AD_MAX];
	unsigned char *out = NULL;
	unsigned long long clen = 0;
	size_t ad_len, out_len;
	int r;

	if (blob != NULL)
		*blob = NULL;
	if (blob_len != NULL)
		*blob_len = 0;
	if (k == NULL || plain == NULL || blob == NULL || blob_len == NULL ||
	    plain_len == 0 || plain_len > TK_SEAL_PLAIN_MAX)
		return (TK_ERR_INVAL);
	if ((r = seal_ad(user, cred, k->id, ad, &ad_len)) != 0)
		return (r);
	if (sodium_init() < 0)
		return (TK_ERR_CRYPTO);
	/* plain_len <= TK_SEAL_PLAIN_MAX: no overflow */
	out_len = TK_SEAL_NONCE_BYTES + plain_len + TK_SEAL_TAG_BYTES;
	if ((out = malloc(out_len)) == NULL)
		return (TK_ERR_NOMEM);
	randombytes_buf(out, TK_SEAL_NONCE_BYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + TK_SEAL_NONCE_BYTES, &clen, plain, plain_len, ad, ad_len,
	    NULL, out, k->key) != 0 ||
	    clen != plain_len + TK_SEAL_TAG_BYTES) {
		r = TK_ERR_CRYPTO;
		goto fail;
	}
	*blob = out;
	*blob_len = out_len;
	out = NULL;

	r = 0; /* success */
 fail:
	if (out != NULL) {
		sodium_memzero(out, out_len);
		free(out);
	}
	return (r);
}

/*
 * Checks a blob and its (user, cred, key id) for opening; *ad, *ad_len
 * its associated data, *out_len the secret's length.
 */
static int
unseal_check(const tk_master_key_t *k, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len,
    unsigned char ad[TK_SEAL_AD_MAX], size_t *ad_len, size_t *out_len)
{
	int r;

	if (k == NULL || blob == NULL)
		return (TK_ERR_INVAL);
	if ((r = seal_ad(user, cred, key_id, ad, ad_len)) != 0)
		return (r);
	/* invariant 3: another key cannot open it; the AD would fail too */
	if (key_id != k->id)
		return (TK_ERR_CRYPTO);
	/* a blob too short or too long was not made by tk_seal() */
	if (blob_len <= TK_SEAL_NONCE_BYTES + TK_SEAL_TAG_BYTES ||
	    blob_len - TK_SEAL_NONCE_BYTES - TK_SEAL_TAG_BYTES >
	    TK_SEAL_PLAIN_MAX)
		return (TK_ERR_CRYPTO);
	if (sodium_init() < 0)
		return (TK_ERR_CRYPTO);
	*out_len = blob_len - TK_SEAL_NONCE_BYTES - TK_SEAL_TAG_BYTES;
	return (0);
}

/* decrypts a checked blob into out (out_len bytes); wipes out on failure */
static int
unseal_open(const tk_master_key_t *k, const unsigned char *blob,
    size_t blob_len, const unsigned char *ad, size_t ad_len,
    unsigned char *out, size_t out_len)
{
	unsigned long long mlen = 0;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL,
	    blob + TK_SEAL_NONCE_BYTES, blob_len - TK_SEAL_NONCE_BYTES,
	    ad, ad_len, blob, k->key) != 0 || mlen != out_len) {
		sodium_memzero(out, out_len);
		return (TK_ERR_CRYPTO);
	}
	return (0);
}

int
tk_unseal(const tk_master_key_t *k, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len,
    unsigned char **plain, size_t *plain_len)
{
	unsigned char ad[TK_SEAL_AD_MAX];
	unsigned char *out = NULL;
	size_t ad_len, out_len = 0;
	int r;

	if (plain != NULL)
		*plain = NULL;
	if (plain_len != NULL)
		*plain_len = 0;
	if (plain == NULL || plain_len == NULL)
		return (TK_ERR_INVAL);
	if ((r = unseal_check(k, key_id, user, cred, blob, blob_len, ad,
	    &ad_len, &out_len)) != 0)
		return (r);
	if ((out = sodium_malloc(out_len)) == NULL)
		return (TK_ERR_NOMEM);
	if ((r = unseal_open(k, blob, blob_len, ad, ad_len, out,
	    out_len)) != 0)
		goto fail;
	*plain = out;
	*plain_len = out_len;
	out = NULL;

	r = 0; /* success */
 fail:
	tk_unseal_free(out, out_len);
	return (r);
}

/*
 * The reused buffer of tk_unseal_tmp(): TK_SEAL_PLAIN_MAX bytes of
 * sodium_malloc'd memory (guard pages, mlock'd), allocated at the first
 * call and kept until exit; `tmp_len' bytes of it hold a secret while
 * `tmp_busy'.
 */
static unsigned char *tmp_buf;
static size_t tmp_len;
static bool tmp_busy;

int
tk_unseal_tmp(const tk_master_key_t *k, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len,
    const unsigned char **plain, size_t *plain_len)
{
	unsigned char ad[TK_SEAL_AD_MAX];
	size_t ad_len, out_len = 0;
	int r;

	if (plain != NULL)
		*plain = NULL;
	if (plain_len != NULL)
		*plain_len = 0;
	if (plain == NULL || plain_len == NULL || tmp_busy)
		return (TK_ERR_INVAL);
	if ((r = unseal_check(k, key_id, user, cred, blob, blob_len, ad,
	    &ad_len, &out_len)) != 0)
		return (r);
	if (tmp_buf == NULL &&
	    (tmp_buf = sodium_malloc(TK_SEAL_PLAIN_MAX)) == NULL)
		return (TK_ERR_NOMEM);
	if ((r = unseal_open(k, blob, blob_len, ad, ad_len, tmp_buf,
	    out_len)) != 0)
		return (r);
	tmp_busy = true;
	tmp_len = out_len;
	*plain = tmp_buf;
	*plain_len = out_len;
	return (0);
}

void
tk_unseal_tmp_release(void)
{
	if (!tmp_busy)
		return;
	sodium_memzero(tmp_buf, tmp_len);
	tmp_len = 0;
	tmp_busy = false;
}

void
tk_unseal_free(unsigned char *plain, size_t plain_len)
{
	if (plain == NULL)
		return;
	sodium_memzero(plain, plain_len);
	sodium_free(plain);
}
