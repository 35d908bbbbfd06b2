/*
 * pin.c -- authenticatorClientPIN of the soft key, PIN/UV auth protocols
 * 1 and 2 (CTAP 2.1 section 6.5): key agreement, setPIN, changePIN,
 * getPinToken, the two getPinUvAuthToken...WithPermissions, retries; and
 * the check of a pinUvAuthParam against the token for the other commands.
 *
 * Protocol 1: shared secret SHA-256(Z); AES-256-CBC with a zero IV;
 * HMAC-SHA-256 truncated to 16 bytes.  Protocol 2: HKDF-SHA-256 of Z
 * (zero salt) into an HMAC key and an AES key; AES-256-CBC with a random
 * IV sent first; the full 32-byte HMAC.
 *
 * Invariants:
 * 1. The retry counter is decremented and saved before a PIN hash is
 *    compared, and restored only after it matched.
 * 2. A wrong PIN makes a new key agreement key (the platform's shared
 *    secret dies with it); three in a row block PIN checks until power
 *    cycle (sk_pin_power_cycle, or a new sk_key_open).
 * 3. A new token replaces the old one: one token per key.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "sk_int.h"

#define SUB_GET_RETRIES		1
#define SUB_GET_KEY_AGREEMENT	2
#define SUB_SET_PIN		3
#define SUB_CHANGE_PIN		4
#define SUB_GET_PIN_TOKEN	5
#define SUB_GET_UV_TOKEN_PERMS	6
#define SUB_GET_UV_RETRIES	7
#define SUB_GET_PIN_TOKEN_PERMS	9

#define SK_ERR_INVALID_SUBCOMMAND	0x3e
#define MAX_PIN_FAILS		3	/* in a row, then power cycle */
#define SECRET_MAX		64

/* a shared secret of the protocol `proto' */
struct secret {
	int		proto;
	unsigned char	key[SECRET_MAX];	/* 1: aes=hmac; 2: hmac|aes */
	size_t		len;
};

static int
hkdf(const unsigned char *z, size_t z_len, const char *label,
    unsigned char out[32])
{
	char		 digest[] = "SHA256";
	char		 info[32];
	unsigned char	 salt[32];
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[5];
	int		 r = -1;

	memset(salt, 0, sizeof(salt));
	snprintf(info, sizeof(info), "%s", label);
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)z, z_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    salt, sizeof(salt));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, 32, params) == 1)
		r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);

	return (r);
}

/* ECDH with the platform's key (a COSE_Key), then the protocol's KDF */
static int
shared_secret(sk_key_t *k, int proto, const cbor_item_t *peer_cose,
    struct secret *s)
{
	EVP_PKEY	*peer;
	EVP_PKEY_CTX	*ctx = NULL;
	unsigned char	 z[32];
	size_t		 z_len = sizeof(z);
	int		 r = -1;

	memset(s, 0, sizeof(*s));
	s->proto = proto;
	if (k->ka_key == NULL || (peer = sk_ec_from_cose(peer_cose)) == NULL)
		return (-1);
	if ((ctx = EVP_PKEY_CTX_new(k->ka_key, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &z_len) != 1 || z_len != sizeof(z))
		goto out;
	if (proto == 1) {
		SHA256(z, z_len, s->key);
		s->len = 32;
	} else {
		if (hkdf(z, z_len, "CTAP2 HMAC key", s->key) < 0 ||
		    hkdf(z, z_len, "CTAP2 AES key", s->key + 32) < 0)
			goto out;
		s->len = 64;
	}
	r = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);

	return (r);
}

static int
aes_cbc(const unsigned char *key, const unsigned char *iv,
    const unsigned char *in, size_t len, unsigned char *out, int enc)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, r = -1;

	if (len == 0 || len % 16 != 0 || len > INT_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv,
	    enc) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
	    (size_t)n == len)
		r = 0;
	EVP_CIPHER_CTX_free(ctx);

	return (r);
}

/* decrypt(): out gets len - 16 (protocol 2) or len (1) bytes */
static int
decrypt(const struct secret *s, const cbor_item_t *item, unsigned char *out,
    size_t *out_len)
{
	static const unsigned char	 zero_iv[16];
	const unsigned char		*in;
	size_t				 len;

	if (item == NULL || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item))
		return (-1);
	in = cbor_bytestring_handle(item);
	len = cbor_bytestring_length(item);
	if (s->proto == 1) {
		*out_len = len;
		return (aes_cbc(s->key, zero_iv, in, len, out, 0));
	}
	if (len < 32)
		return (-1);
	*out_len = len - 16;

	return (aes_cbc(s->key + 32, in, in + 16, len - 16, out, 0));
}

/* encrypt(): out gets len + 16 (protocol 2: IV first) or len bytes */
static int
encrypt(const struct secret *s, const unsigned char *in, size_t len,
    unsigned char *out, size_t *out_len)
{
	static const unsigned char zero_iv[16];

	if (s->proto == 1) {
		*out_len = len;
		return (aes_cbc(s->key, zero_iv, in, len, out, 1));
	}
	if (RAND_bytes(out, 16) != 1)
		return (-1);
	*out_len = len + 16;

	return (aes_cbc(s->key + 32, out, in, len, out + 16, 1));
}

/* authenticate(key, m1 || m2) compared with `sig' in constant time */
static bool
verify(int proto, const unsigned char *key, size_t key_len,
    const unsigned char *m1, size_t m1_len, const unsigned char *m2,
    size_t m2_len, const cbor_item_t *sig)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	size_t		 mac_len = sizeof(mac), want;
	EVP_MAC		*hmac;
	EVP_MAC_CTX	*ctx = NULL;
	char		 digest[] = "SHA256";
	OSSL_PARAM	 params[2];
	bool		 ok = false;

	want = proto == 1 ? 16 : 32;
	if (sig == NULL || !cbor_isa_bytestring(sig) ||
	    !cbor_bytestring_is_definite(sig) ||
	    cbor_bytestring_length(sig) != want)
		return (false);
	if (proto == 2 && key_len > 32)
		key_len = 32;	/* the HMAC half of the shared secret */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_init(ctx, key, key_len, params) != 1 ||
	    EVP_MAC_update(ctx, m1, m1_len) != 1 ||
	    (m2_len > 0 && EVP_MAC_update(ctx, m2, m2_len) != 1) ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != 32)
		goto out;
	ok = CRYPTO_memcmp(mac, cbor_bytestring_handle(sig), want) == 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	OPENSSL_cleanse(mac, sizeof(mac));

	return (ok);
}

static int
new_ka_key(sk_key_t *k)
{
	EVP_PKEY_free(k->ka_key);

	return ((k->ka_key = sk_keygen(SK_COSE_ES256)) == NULL ? -1 : 0);
}

void
sk_pin_power_cycle(sk_key_t *k)
{
	EVP_PKEY_free(k->ka_key);
	k->ka_key = NULL;
	k->pin_fails = 0;
	k->token_set = false;
	k->token_perms = 0;
	k->token_rp_bound = false;
	OPENSSL_cleanse(k->token, sizeof(k->token));
}

/* the protocol of a request: one the key offers, else 0 */
static int
get_proto(sk_key_t *k, const cbor_item_t *item)
{
	int64_t v;

	if (sk_cbor_int(item, &v) < 0)
		return (0);
	if ((v == 1 && (k->cfg.pin_protocols & SK_PINPROTO_1)) ||
	    (v == 2 && (k->cfg.pin_protocols & SK_PINPROTO_2)))
		return ((int)v);

	return (0);
}

/* compares the encrypted PIN hash with the stored one (invariant 1) */
static int
check_pin_hash(sk_key_t *k, const struct secret *s, const cbor_item_t *enc)
{
	unsigned char	buf[64];
	size_t		len;
	bool		match;

	if (k->pin_retries <= 0)
		return (SK_ERR_PIN_BLOCKED);
	if (k->pin_fails >= MAX_PIN_FAILS)
		return (SK_ERR_PIN_AUTH_BLOCKED);
	if (enc == NULL || !cbor_isa_bytestring(enc) ||
	    cbor_bytestring_length(enc) > sizeof(buf))
		return (SK_ERR_INVALID_PARAMETER);
	k->pin_retries--;
	if (sk_key_save(k) < 0)
		return (SK_ERR_OTHER);
	match = decrypt(s, enc, buf, &len) == 0 && len == SK_PIN_HASH_LEN &&
	    CRYPTO_memcmp(buf, k->pin_hash, SK_PIN_HASH_LEN) == 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!match) {
		(void)new_ka_key(k);
		k->pin_fails++;
		if (k->pin_retries == 0)
			return (SK_ERR_PIN_BLOCKED);
		if (k->pin_fails >= MAX_PIN_FAILS)
			return (SK_ERR_PIN_AUTH_BLOCKED);
		return (SK_ERR_PIN_INVALID);
	}
	k->pin_retries = SK_PIN_RETRIES;
	k->pin_fails = 0;

	return (sk_key_save(k) < 0 ? SK_ERR_OTHER : SK_OK);
}

/* decrypts a padded new PIN and stores its hash */
static int
store_new_pin(sk_key_t *k, const struct secret *s, const cbor_item_t *enc)
{
	unsigned char	buf[256];
	size_t		len, pin_len;
	char		pin[64];
	int		r;

	if (enc == NULL || !cbor_isa_bytestring(enc) ||
	    cbor_bytestring_length(enc) > sizeof(buf) ||
	    decrypt(s, enc, buf, &len) < 0)
		return (SK_ERR_INVALID_PARAMETER);
	if (len < 64) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return (SK_ERR_PIN_POLICY_VIOLATION);
	}
	for (pin_len = 0; pin_len < len && buf[pin_len] != 0; pin_len++)
		continue;
	if (pin_len < 4 || pin_len > 63) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return (SK_ERR_PIN_POLICY_VIOLATION);
	}
	memcpy(pin, buf, pin_len);
	pin[pin_len] = '\0';
	r = sk_key_set_pin(k, pin) < 0 ? SK_ERR_OTHER : SK_OK;
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(pin, sizeof(pin));

	return (r);
}

/* a new token, answered encrypted under the shared secret */
static void
issue_token(sk_key_t *k, const struct secret *s, unsigned perms,
    const cbor_item_t *rp_id, struct sk_reply *rp)
{
	unsigned char	 enc[SK_TOKEN_LEN + 16];
	size_t		 enc_len;
	cbor_item_t	*map;

	if (RAND_bytes(k->token, sizeof(k->token)) != 1 ||
	    encrypt(s, k->token, sizeof(k->token), enc, &enc_len) < 0) {
		k->token_set = false;
		rp->status = SK_ERR_OTHER;
		return;
	}
	k->token_set = true;
	k->token_perms = perms;
	k->token_rp_bound = false;
	if (rp_id != NULL && cbor_isa_string(rp_id) &&
	    cbor_string_is_definite(rp_id)) {
		SHA256(cbor_string_handle(rp_id), cbor_string_length(rp_id),
		    k->token_rp_hash);
		k->token_rp_bound = true;
	}
	map = cbor_new_definite_map(1);
	sk_cbor_map_put(map, cbor_build_uint8(2), cbor_build_bytestring(enc,
	    enc_len));
	sk_reply_map(rp, map);
}

static void
reply_uint(struct sk_reply *rp, uint8_t key, uint8_t val)
{
	cbor_item_t *map;

	map = cbor_new_definite_map(1);
	sk_cbor_map_put(map, cbor_build_uint8(key), cbor_build_uint8(val));
	sk_reply_map(rp, map);
}

void
sk_client_pin(sk_key_t *k, const cbor_item_t *req, struct sk_reply *rp)
{
	const cbor_item_t	*ka, *auth, *newpin, *pinhash;
	struct secret		 s;
	cbor_item_t		*map;
	int64_t			 sub, perms = 0;
	int			 proto, r;

	memset(&s, 0, sizeof(s));
	if (sk_cbor_int(sk_map_get_uint(req, 2), &sub) < 0) {
		rp->status = SK_ERR_MISSING_PARAMETER;
		return;
	}
	if (sub == SUB_GET_RETRIES) {
		reply_uint(rp, 3, (uint8_t)k->pin_retries);
		return;
	}
	if (sub == SUB_GET_UV_RETRIES) {
		reply_uint(rp, 5, SK_PIN_RETRIES);
		return;
	}
	if ((proto = get_proto(k, sk_map_get_uint(req, 1))) == 0) {
		rp->status = sk_map_get_uint(req, 1) == NULL ?
		    SK_ERR_MISSING_PARAMETER : SK_ERR_INVALID_PARAMETER;
		return;
	}
	if (sub == SUB_GET_KEY_AGREEMENT) {
		if (k->ka_key == NULL && new_ka_key(k) < 0) {
			rp->status = SK_ERR_OTHER;
			return;
		}
		map = cbor_new_definite_map(1);
		sk_cbor_map_put(map, cbor_build_uint8(1),
		    sk_cose_encode(k->ka_key, SK_COSE_ECDH_ES_HKDF));
		sk_reply_map(rp, map);
		return;
	}
	ka = sk_map_get_uint(req, 3);
	auth = sk_map_get_uint(req, 4);
	newpin = sk_map_get_uint(req, 5);
	pinhash = sk_map_get_uint(req, 6);
	if (sub != SUB_SET_PIN && sub != SUB_CHANGE_PIN &&
	    sub != SUB_GET_PIN_TOKEN && sub != SUB_GET_UV_TOKEN_PERMS &&
	    sub != SUB_GET_PIN_TOKEN_PERMS) {
		rp->status = SK_ERR_INVALID_SUBCOMMAND;
		return;
	}
	if (sub == SUB_GET_UV_TOKEN_PERMS || sub == SUB_GET_PIN_TOKEN_PERMS) {
		if (sk_cbor_int(sk_map_get_uint(req, 9), &perms) < 0) {
			rp->status = SK_ERR_MISSING_PARAMETER;
			return;
		}
		if (perms <= 0 || perms > 0xff) {
			rp->status = SK_ERR_INVALID_PARAMETER;
			return;
		}
	}
	if (ka == NULL) {
		rp->status = SK_ERR_MISSING_PARAMETER;
		return;
	}
	if (shared_secret(k, proto, ka, &s) < 0) {
		rp->status = SK_ERR_INVALID_PARAMETER;
		return;
	}

	switch (sub) {
	case SUB_SET_PIN:
		if (k->pin_set)
			r = SK_ERR_NOT_ALLOWED;
		else if (auth == NULL || newpin == NULL)
			r = SK_ERR_MISSING_PARAMETER;
		else if (!verify(proto, s.key, s.len,
		    cbor_bytestring_handle(newpin),
		    cbor_bytestring_length(newpin), NULL, 0, auth))
			r = SK_ERR_PIN_AUTH_INVALID;
		else
			r = store_new_pin(k, &s, newpin);
		rp->status = (unsigned char)r;
		break;
	case SUB_CHANGE_PIN:
		if (!k->pin_set)
			r = SK_ERR_PIN_NOT_SET;
		else if (auth == NULL || newpin == NULL || pinhash == NULL ||
		    !cbor_isa_bytestring(pinhash))
			r = SK_ERR_MISSING_PARAMETER;
		else if (!verify(proto, s.key, s.len,
		    cbor_bytestring_handle(newpin),
		    cbor_bytestring_length(newpin),
		    cbor_bytestring_handle(pinhash),
		    cbor_bytestring_length(pinhash), auth))
			r = SK_ERR_PIN_AUTH_INVALID;
		else if ((r = check_pin_hash(k, &s, pinhash)) == SK_OK)
			r = store_new_pin(k, &s, newpin);
		rp->status = (unsigned char)r;
		break;
	case SUB_GET_PIN_TOKEN:
	case SUB_GET_PIN_TOKEN_PERMS:
		if (!k->pin_set)
			r = SK_ERR_PIN_NOT_SET;
		else if (pinhash == NULL)
			r = SK_ERR_MISSING_PARAMETER;
		else
			r = check_pin_hash(k, &s, pinhash);
		if (r != SK_OK) {
			rp->status = (unsigned char)r;
			break;
		}
		issue_token(k, &s, sub == SUB_GET_PIN_TOKEN ?
		    SK_PERM_MC | SK_PERM_GA : (unsigned)perms,
		    sub == SUB_GET_PIN_TOKEN ? NULL : sk_map_get_uint(req, 10),
		    rp);
		break;
	case SUB_GET_UV_TOKEN_PERMS:
		if (!k->cfg.builtin_uv) {
			rp->status = SK_ERR_INVALID_SUBCOMMAND;
			break;
		}
		if (!k->cfg.uv_ok) {
			rp->status = SK_ERR_UV_INVALID;
			break;
		}
		issue_token(k, &s, (unsigned)perms, sk_map_get_uint(req, 10),
		    rp);
		break;
	}
	OPENSSL_cleanse(&s, sizeof(s));
}

/*
 * A pinUvAuthParam of makeCredential (perm MC) or getAssertion (GA):
 * authenticate(token, clientDataHash), the token's permission and RP.
 */
int
sk_pin_check_auth(sk_key_t *k, const cbor_item_t *auth,
    const cbor_item_t *proto_item, const unsigned char *cdh, unsigned perm,
    const unsigned char *rp_id_hash)
{
	int proto;

	if (proto_item == NULL)
		return (SK_ERR_MISSING_PARAMETER);
	if ((proto = get_proto(k, proto_item)) == 0)
		return (SK_ERR_INVALID_PARAMETER);
	if (!k->pin_set && !k->cfg.builtin_uv)
		return (SK_ERR_PIN_NOT_SET);
	if (!k->token_set || !verify(proto, k->token, sizeof(k->token), cdh,
	    32, NULL, 0, auth))
		return (SK_ERR_PIN_AUTH_INVALID);
	if ((k->token_perms & perm) == 0)
		return (SK_ERR_PIN_AUTH_INVALID);
	if (k->token_rp_bound && memcmp(k->token_rp_hash, rp_id_hash, 32) != 0)
		return (SK_ERR_PIN_AUTH_INVALID);
	if (!k->token_rp_bound) {
		memcpy(k->token_rp_hash, rp_id_hash, 32);
		k->token_rp_bound = true;
	}

	return (SK_OK);
}
