/*
 * fido2.c -- FIDO2 attestation and assertion verification (fido2.h).
 *
 * Invariants this file MUST keep:
 *  1. Nothing is accepted by default: every libfido2 and OpenSSL call
 *     that can fail is checked, and only a verify call that succeeded
 *     (libfido2's FIDO_OK for an attestation, EVP_DigestVerify's 1 for
 *     an assertion) gives TK_FIDO2_OK.
 *  2. The relying party is the configured rp_id and the client data
 *     hash the challenge tokend issued, never values the caller sent.
 *  3. Attestation format "none" is refused (it proves nothing about the
 *     key model, so allowed_aaguids could not be enforced).
 *  4. The public key and credential id kept are exactly those of the
 *     verified attested credential data, within the limits of proto.h.
 *  5. No device is opened; the signature counter of an assertion is
 *     returned, not judged (the store's clone check does that).
 *  6. Authenticator data is exactly its structure (WebAuthn 6.1): the
 *     attested credential data only in an attestation, the extensions
 *     only when flagged, nothing after them (libfido2 leaves trailing
 *     bytes unread).
 *  7. An assertion is judged as libfido2 1.12's fido_assert_verify()
 *     judges it -- user presence, user verification when required, no
 *     unrequested extension it knows, the RP ID hash, then the signature
 *     over authdata || cdh -- but the signature is checked here with
 *     OpenSSL's EVP_DigestVerify and a key cached per credential
 *     (fido2_keycache.c).  Why: fido_assert_verify() rebuilds the
 *     OpenSSL key from the stored bytes at every call (es256_pk_to_EVP_PKEY,
 *     a new curve group each time, then the export of that legacy key to
 *     OpenSSL's provider in EVP_PKEY_verify_init): 1.42 M of the 1.51 M
 *     instructions of a FIDO2_FINISH.  With the cache: 0.90 M and 0.99 M,
 *     0.84 M of it the ECDSA arithmetic; tokend's CPU 230-236 -> 155-156
 *     us a login, 2,933-3,318 -> 3,849-3,946 logins/s (docs/performance.md).
 *     What keeps the two equivalent:
 *      a. the assertion still goes through fido_assert_set_authdata_raw()
 *         and fido_assert_set_sig(), so whatever libfido2 refuses to
 *         parse is refused, and the flags and counter are libfido2's;
 *      b. the key is decoded by libfido2 (es256/eddsa/rs256_pk_from_ptr,
 *         _pk_to_EVP_PKEY), and cached only with its store id, algorithm
 *         and every byte of the stored key; an ES256 key as the point
 *         libfido2 decoded, set into one P-256 key before each use
 *         (fido2_keycache.c, invariant 5);
 *      c. the same message and primitive: SHA-256 over authdata || cdh
 *         for ES256 (ECDSA, DER signature) and RS256 (PKCS #1 v1.5
 *         padding, set explicitly), authdata || cdh itself for EdDSA,
 *         which libfido2 builds in a 1,024-byte buffer: a longer one is
 *         refused (TK_FIDO2_EDDSA_MSG_MAX);
 *      d. tokend is stricter, never looser: invariant 6, and
 *         "thirdPartyPayment" counted as a known, unrequested extension.
 *     tests/daemon/test_fido2_verify.c compares both verdicts on the T8
 *     cases, stored-key variants and 9,000 mutated assertions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "err.h"
#include "fido2.h"
#include "fido2_keycache.h"
#include "log.h"

void
tk_fido2_init(void)
{
	static bool done;

	if (done)
		return;
	fido_init(0);
	done = true;
}

int
tk_fido2_alg_parse(const char *name, int *alg)
{
	*alg = 0;
	if (name == NULL)
		return (TK_ERR_INVAL);
	if (strcmp(name, "es256") == 0)
		*alg = TK_FIDO2_ES256;
	else if (strcmp(name, "eddsa") == 0)
		*alg = TK_FIDO2_EDDSA;
	else if (strcmp(name, "rs256") == 0)
		*alg = TK_FIDO2_RS256;
	else
		return (TK_ERR_INVAL);
	return (0);
}

const char *
tk_fido2_alg_name(int alg)
{
	switch (alg) {
	case TK_FIDO2_ES256:	return ("es256");
	case TK_FIDO2_EDDSA:	return ("eddsa");
	case TK_FIDO2_RS256:	return ("rs256");
	}
	return (NULL);
}

int
tk_fido2_uv_parse(const char *name, int *uv)
{
	*uv = 0;
	if (name == NULL)
		return (TK_ERR_INVAL);
	if (strcmp(name, "required") == 0)
		*uv = TK_UV_REQUIRED;
	else if (strcmp(name, "preferred") == 0)
		*uv = TK_UV_PREFERRED;
	else if (strcmp(name, "discouraged") == 0)
		*uv = TK_UV_DISCOURAGED;
	else
		return (TK_ERR_INVAL);
	return (0);
}

const char *
tk_fido2_uv_name(int uv)
{
	switch (uv) {
	case TK_UV_REQUIRED:	return ("required");
	case TK_UV_PREFERRED:	return ("preferred");
	case TK_UV_DISCOURAGED:	return ("discouraged");
	}
	return (NULL);
}

/* the COSE algorithm of enum tk_fido2_alg, or 0 */
static int
tk_fido2_cose(int alg)
{
	switch (alg) {
	case TK_FIDO2_ES256:	return (COSE_ES256);
	case TK_FIDO2_EDDSA:	return (COSE_EDDSA);
	case TK_FIDO2_RS256:	return (COSE_RS256);
	}
	return (0);
}

#define TK_FIDO2_AUTHDATA_HEAD	37	/* rpIdHash, flags, counter */
#define TK_FIDO2_FLAG_AT	0x40u	/* attested credential data */
#define TK_FIDO2_FLAG_ED	0x80u	/* extensions */

/* the length of the CBOR map at p (len bytes), or 0 when there is none */
static size_t
tk_fido2_cbor_map_len(const unsigned char *p, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	bool map;

	if (len == 0 || (item = cbor_load(p, len, &res)) == NULL)
		return (0);
	map = cbor_isa_map(item);
	cbor_decref(&item);
	return (map && res.read <= len ? res.read : 0);
}

/* invariant 6: `attested' for an attestation, not for an assertion */
static bool
tk_fido2_authdata_exact(const unsigned char *ad, size_t len, bool attested)
{
	size_t off = TK_FIDO2_AUTHDATA_HEAD, id_len, n;
	unsigned flags;

	if (len < off)
		return (false);
	flags = ad[32];
	if (((flags & TK_FIDO2_FLAG_AT) != 0) != attested)
		return (false);
	if (attested) {
		/* AAGUID, credential id length and id, COSE key */
		if (len - off < TK_FIDO2_AAGUID_BYTES + 2)
			return (false);
		off += TK_FIDO2_AAGUID_BYTES;
		id_len = (size_t)ad[off] << 8 | ad[off + 1];
		off += 2;
		if (len - off < id_len)
			return (false);
		off += id_len;
		if ((n = tk_fido2_cbor_map_len(ad + off, len - off)) == 0)
			return (false);
		off += n;
	}
	if ((flags & TK_FIDO2_FLAG_ED) != 0) {
		if ((n = tk_fido2_cbor_map_len(ad + off, len - off)) == 0)
			return (false);
		off += n;
	}
	return (off == len);
}

/* a copy of n bytes (n > 0) into *out */
static int
tk_fido2_dup(const unsigned char *p, size_t n, unsigned char **out,
    size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if ((*out = malloc(n)) == NULL)
		return (TK_ERR_NOMEM);
	memcpy(*out, p, n);
	*outlen = n;
	return (0);
}

/* invariant 4: the verified credential's public data into *c */
static int
tk_fido2_cred_extract(const fido_cred_t *cred, const char *fmt, int alg,
    struct tk_cred *c, enum tk_fido2_verdict *verdict, const char **why)
{
	const unsigned char *id, *pk, *aaguid;
	size_t id_len, pk_len;
	int r;

	id = fido_cred_id_ptr(cred);
	id_len = fido_cred_id_len(cred);
	pk = fido_cred_pubkey_ptr(cred);
	pk_len = fido_cred_pubkey_len(cred);
	aaguid = fido_cred_aaguid_ptr(cred);
	if (id == NULL || id_len == 0 || id_len > TK_FIDO2_CRED_ID_MAX ||
	    pk == NULL || pk_len == 0 || pk_len > TK_FIDO2_PUBKEY_MAX ||
	    aaguid == NULL ||
	    fido_cred_aaguid_len(cred) != TK_FIDO2_AAGUID_BYTES ||
	    strlen(fmt) > TK_SHORT_TEXT_MAX) {
		*verdict = TK_FIDO2_BAD;
		*why = "credential id, public key or AAGUID out of range";
		return (0);
	}
	if ((r = tk_fido2_dup(id, id_len, &c->cred_id,
	    &c->cred_id_len)) != 0 ||
	    (r = tk_fido2_dup(pk, pk_len, &c->pubkey, &c->pubkey_len)) != 0)
		return (r);
	memcpy(c->aaguid, aaguid, TK_FIDO2_AAGUID_BYTES);
	memcpy(c->fmt, fmt, strlen(fmt) + 1);
	c->flags = fido_cred_flags(cred);
	c->sign_count = fido_cred_sigcount(cred);
	c->algorithm = alg;
	*verdict = TK_FIDO2_OK;
	*why = NULL;
	return (0);
}

int
tk_fido2_verify_attestation(const char *rp_id,
    const unsigned char cdh[TK_FIDO2_CHALLENGE_BYTES],
    const struct tk_fido2_attestation *att, bool uv_required,
    struct tk_cred *c, enum tk_fido2_verdict *verdict, const char **why)
{
	fido_cred_t *cred = NULL;
	int cose, fr, r;

	*verdict = TK_FIDO2_BAD;
	*why = "attestation does not verify";
	if (rp_id == NULL || cdh == NULL || att == NULL || c == NULL ||
	    att->fmt == NULL || att->authdata == NULL)
		return (TK_ERR_INVAL);
	/* invariant 3 */
	if (strcmp(att->fmt, "none") == 0) {
		*verdict = TK_FIDO2_REFUSED;
		*why = "attestation format none refused";
		return (0);
	}
	if ((cose = tk_fido2_cose(att->alg)) == 0) {
		*why = "unknown algorithm";
		return (0);
	}
	if (att->sig == NULL || att->sig_len == 0) {
		*why = "attestation signature missing";
		return (0);
	}
	if ((cred = fido_cred_new()) == NULL)
		return (TK_ERR_NOMEM);
	/* the type first: libfido2 checks the attested key against it */
	if ((fr = fido_cred_set_type(cred, cose)) != FIDO_OK ||
	    (fr = fido_cred_set_rp(cred, rp_id, NULL)) != FIDO_OK ||
	    (fr = fido_cred_set_clientdata_hash(cred, cdh,
	    TK_FIDO2_CHALLENGE_BYTES)) != FIDO_OK) {
		r = fr == FIDO_ERR_INTERNAL ? TK_ERR_NOMEM : TK_ERR_INVAL;
		goto fail;
	}
	if (!tk_fido2_authdata_exact(att->authdata, att->authdata_len, true) ||
	    (fr = fido_cred_set_authdata_raw(cred, att->authdata,
	    att->authdata_len)) != FIDO_OK) {
		*why = "authenticator data malformed or of another algorithm";
		r = 0;
		goto fail;
	}
	if ((fr = fido_cred_set_fmt(cred, att->fmt)) != FIDO_OK) {
		*why = "unknown attestation format";
		r = 0;
		goto fail;
	}
	if ((fr = fido_cred_set_sig(cred, att->sig, att->sig_len)) != FIDO_OK ||
	    (att->x5c != NULL && att->x5c_len > 0 &&
	    (fr = fido_cred_set_x509(cred, att->x5c,
	    att->x5c_len)) != FIDO_OK)) {
		*why = "attestation signature or certificate malformed";
		r = 0;
		goto fail;
	}
	/* UV is judged below, to tell a policy refusal from a bad one */
	if (att->x5c != NULL && att->x5c_len > 0)
		fr = fido_cred_verify(cred);
	else
		fr = fido_cred_verify_self(cred);
	if (fr != FIDO_OK) {
		tk_log(LOG_DEBUG, "fido2: attestation: %s", fido_strerr(fr));
		*why = fr == FIDO_ERR_INVALID_SIG ?
		    "attestation signature does not verify" :
		    "attestation does not match the challenge, relying "
		    "party or flags";
		r = 0;
		goto fail;
	}
	if (uv_required && (fido_cred_flags(cred) & TK_FIDO2_FLAG_UV) == 0) {
		*verdict = TK_FIDO2_REFUSED;
		*why = "user verification required but not performed";
		r = 0;
		goto fail;
	}
	r = tk_fido2_cred_extract(cred, att->fmt, att->alg, c, verdict, why);
fail:
	fido_cred_free(&cred);
	return (r);
}

/*
 * libfido2 1.12 refuses an assertion whose authenticator data carries an
 * extension it knows and tokend did not request (fido_assert_verify's
 * extension check); tokend requests none.  "thirdPartyPayment" (known
 * to later libfido2) is refused too.  A key is compared as libfido2
 * does, up to its first NUL.  `ad' is an exact assertion (invariant 6).
 */
static bool
tk_fido2_ext_unrequested(const unsigned char *ad, size_t len)
{
	static const char *const known[] = {
		"hmac-secret", "credBlob", "thirdPartyPayment"
	};
	struct cbor_load_result res;
	struct cbor_pair *pairs;
	cbor_item_t *map;
	const unsigned char *k;
	size_t i, j, n, klen;
	bool found = false;

	if (len <= TK_FIDO2_AUTHDATA_HEAD ||
	    (ad[32] & TK_FIDO2_FLAG_ED) == 0)
		return (false);
	if ((map = cbor_load(ad + TK_FIDO2_AUTHDATA_HEAD,
	    len - TK_FIDO2_AUTHDATA_HEAD, &res)) == NULL)
		return (true);		/* cannot be: fail closed */
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map)) {
		cbor_decref(&map);
		return (true);
	}
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (i = 0; i < n && !found; i++) {
		if (!cbor_isa_string(pairs[i].key) ||
		    !cbor_string_is_definite(pairs[i].key))
			continue;
		k = cbor_string_handle(pairs[i].key);
		klen = cbor_string_length(pairs[i].key);
		if (k == NULL)
			continue;
		if (memchr(k, '\0', klen) != NULL)
			klen = (size_t)((const unsigned char *)memchr(k, '\0',
			    klen) - k);
		for (j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (klen == strlen(known[j]) &&
			    memcmp(k, known[j], klen) == 0)
				found = true;
	}
	cbor_decref(&map);
	return (found);
}

/* whether the RP ID hash of `ad' is SHA-256 of rp_id (constant time) */
static int
tk_fido2_rp_match(const char *rp_id, const unsigned char *ad, bool *match)
{
	unsigned char h[32];
	unsigned int hlen = 0;

	*match = false;
	if (EVP_Digest(rp_id, strlen(rp_id), h, &hlen, EVP_sha256(),
	    NULL) != 1 || hlen != sizeof(h))
		return (TK_ERR_CRYPTO);
	*match = CRYPTO_memcmp(h, ad, sizeof(h)) == 0;
	return (0);
}

/*
 * libfido2 1.12's fido_assert_verify() builds the EdDSA message,
 * authdata || cdh, in a 1,024-byte buffer and refuses (FIDO_ERR_INTERNAL)
 * an assertion whose message does not fit; tokend refuses the same.
 * ES256 and RS256 hash the message and have no such limit.
 */
#define TK_FIDO2_EDDSA_MSG_MAX	1024

/*
 * The signature over authdata || cdh with the cached key of `c'
 * (fido2_keycache.c), as fido_assert_verify() computes it: ES256 is
 * ECDSA over SHA-256 of the concatenation, RS256 RSASSA-PKCS1-v1_5 with
 * SHA-256, EdDSA (pure Ed25519) signs the concatenation itself.  The
 * hashed ones are fed in two updates (no copy); Ed25519 needs the whole
 * message at once.  *valid only on EVP's 1 (invariant 1).
 *
 * Not done: a pre-initialised EVP_MD_CTX per cache slot, copied with
 * EVP_MD_CTX_copy_ex() at each call, saves EVP_DigestVerifyInit's
 * ~4 us (0.3 us for the copy), about 2 % of tokend's CPU a login, but
 * costs ~0.9 KiB more per key while tokend's RSS under FIDO2 load is at
 * its 16 MiB target, and ES256 keys now share one EVP_PKEY
 * (fido2_keycache.c, invariant 5) that a context would hold on to.
 */
static int
tk_fido2_sig_check(const struct tk_cred *c, const unsigned char *ad,
    size_t ad_len, const unsigned char cdh[TK_FIDO2_CHALLENGE_BYTES],
    const unsigned char *sig, size_t sig_len, bool *valid)
{
	unsigned char msg[TK_FIDO2_EDDSA_MSG_MAX];
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx = NULL;
	int r;

	*valid = false;
	if (c->algorithm != TK_FIDO2_ES256 &&
	    c->algorithm != TK_FIDO2_RS256 &&
	    c->algorithm != TK_FIDO2_EDDSA)
		return (TK_ERR_INVAL);
	if (c->algorithm == TK_FIDO2_EDDSA &&
	    (ad_len > sizeof(msg) - TK_FIDO2_CHALLENGE_BYTES))
		return (0);
	/* a stored key that does not decode verifies nothing */
	if ((r = tk_fido2_keycache_get(c, &pkey)) == TK_ERR_INVAL)
		return (0);
	if (r != 0)
		return (r);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if (c->algorithm == TK_FIDO2_EDDSA) {
		memcpy(msg, ad, ad_len);
		memcpy(msg + ad_len, cdh, TK_FIDO2_CHALLENGE_BYTES);
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
			r = TK_ERR_CRYPTO;
			goto fail;
		}
		*valid = EVP_DigestVerify(ctx, sig, sig_len, msg,
		    ad_len + TK_FIDO2_CHALLENGE_BYTES) == 1;
	} else {
		if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL,
		    pkey) != 1 ||
		    (c->algorithm == TK_FIDO2_RS256 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PADDING) != 1) ||
		    EVP_DigestVerifyUpdate(ctx, ad, ad_len) != 1 ||
		    EVP_DigestVerifyUpdate(ctx, cdh,
		    TK_FIDO2_CHALLENGE_BYTES) != 1) {
			r = TK_ERR_CRYPTO;
			goto fail;
		}
		*valid = EVP_DigestVerifyFinal(ctx, sig, sig_len) == 1;
	}

	r = 0; /* success */
fail:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return (r);
}

int
tk_fido2_verify_assertion(const char *rp_id,
    const unsigned char cdh[TK_FIDO2_CHALLENGE_BYTES],
    const struct tk_cred *c, const struct tk_fido2_assertion *as,
    bool uv_required, enum tk_fido2_verdict *verdict, const char **why,
    uint32_t *sign_count)
{
	fido_assert_t *a = NULL;
	uint8_t flags;
	bool valid;
	int fr, r;

	*verdict = TK_FIDO2_BAD;
	*why = "assertion does not verify";
	*sign_count = 0;
	if (rp_id == NULL || cdh == NULL || c == NULL || as == NULL ||
	    c->kind != TK_CRED_FIDO2 || c->pubkey == NULL ||
	    c->pubkey_len == 0 || as->authdata == NULL || as->sig == NULL)
		return (TK_ERR_INVAL);
	if ((a = fido_assert_new()) == NULL)
		return (TK_ERR_NOMEM);
	if ((fr = fido_assert_set_rp(a, rp_id)) != FIDO_OK ||
	    (fr = fido_assert_set_clientdata_hash(a, cdh,
	    TK_FIDO2_CHALLENGE_BYTES)) != FIDO_OK ||
	    (fr = fido_assert_set_count(a, 1)) != FIDO_OK ||
	    (fr = fido_assert_set_up(a, FIDO_OPT_TRUE)) != FIDO_OK ||
	    (fr = fido_assert_set_uv(a, uv_required ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT)) != FIDO_OK) {
		r = fr == FIDO_ERR_INTERNAL ? TK_ERR_NOMEM : TK_ERR_INVAL;
		goto fail;
	}
	if (!tk_fido2_authdata_exact(as->authdata, as->authdata_len, false) ||
	    fido_assert_set_authdata_raw(a, 0, as->authdata,
	    as->authdata_len) != FIDO_OK) {
		*why = "authenticator data malformed";
		r = 0;
		goto fail;
	}
	if (fido_assert_set_sig(a, 0, as->sig, as->sig_len) != FIDO_OK) {
		*why = "signature malformed";
		r = 0;
		goto fail;
	}
	/* the flags first, for a precise reason; verify checks them too */
	flags = fido_assert_flags(a, 0);
	if ((flags & TK_FIDO2_FLAG_UP) == 0) {
		*why = "user presence missing";
		r = 0;
		goto fail;
	}
	if (uv_required && (flags & TK_FIDO2_FLAG_UV) == 0) {
		*why = "user verification missing";
		r = 0;
		goto fail;
	}
	/* the checks of fido_assert_verify(), then its signature check */
	if (tk_fido2_ext_unrequested(as->authdata, as->authdata_len)) {
		*why = "relying party or flags do not match";
		r = 0;
		goto fail;
	}
	if ((r = tk_fido2_rp_match(rp_id, as->authdata, &valid)) != 0)
		goto fail;
	if (!valid) {
		*why = "relying party or flags do not match";
		goto fail;
	}
	if ((r = tk_fido2_sig_check(c, as->authdata, as->authdata_len, cdh,
	    as->sig, as->sig_len, &valid)) != 0)
		goto fail;
	if (!valid) {
		*why = "bad signature";
		goto fail;
	}
	*sign_count = fido_assert_sigcount(a, 0);
	*verdict = TK_FIDO2_OK;
	*why = NULL;

	r = 0; /* success */
fail:
	fido_assert_free(&a);
	return (r);
}
