/*
 * ctap2.c -- the CTAP2 commands of the soft key: authenticatorGetInfo,
 * MakeCredential, GetAssertion and Reset (ClientPIN is pin.c), with the
 * CBOR and COSE helpers they share.
 *
 * Invariants:
 * 1. Every CBOR map the key sends has its keys in CTAP2 canonical order
 *    (integers ascending, then negative; text keys shorter first, then
 *    bytewise): libfido2 refuses anything else.
 * 2. Credentials are non-resident; a credential id is 48 random bytes
 *    that only this key's state maps to a private key and an RP.
 * 3. User presence is asked after every check that can fail without it,
 *    and state changes (credential, counter) are saved before the answer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "sk_int.h"

#define CTAP_CMD_MAKECRED	0x01
#define CTAP_CMD_GETASSERT	0x02
#define CTAP_CMD_GETINFO	0x04
#define CTAP_CMD_CLIENTPIN	0x06
#define CTAP_CMD_RESET		0x07
#define CTAP_CMD_GETNEXT	0x08

#define FLAG_UP			0x01
#define FLAG_UV			0x04
#define FLAG_AT			0x40

/* --- CBOR helpers --- */

void
sk_cbor_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *val)
{
	struct cbor_pair pair;

	pair.key = cbor_move(key);
	pair.value = cbor_move(val);
	(void)cbor_map_add(map, pair);
}

/* an integer in its shortest encoding, as canonical CBOR wants */
static cbor_item_t *
cbor_int(int64_t v)
{
	uint64_t	 u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);
	cbor_item_t	*item;

	if (u <= UINT8_MAX)
		item = cbor_build_uint8((uint8_t)u);
	else if (u <= UINT16_MAX)
		item = cbor_build_uint16((uint16_t)u);
	else if (u <= UINT32_MAX)
		item = cbor_build_uint32((uint32_t)u);
	else
		item = cbor_build_uint64(u);
	if (item != NULL && v < 0)
		cbor_mark_negint(item);

	return (item);
}

static cbor_item_t *
cbor_text(const char *s)
{
	return (cbor_build_string(s));
}

static cbor_item_t *
cbor_bytes(const unsigned char *p, size_t n)
{
	return (cbor_build_bytestring(p, n));
}

/* an integer of any sign; -1 if `item' is none */
int
sk_cbor_int(const cbor_item_t *item, int64_t *out)
{
	if (item == NULL)
		return (-1);
	if (cbor_isa_uint(item)) {
		if (cbor_get_int(item) > INT64_MAX)
			return (-1);
		*out = (int64_t)cbor_get_int(item);
		return (0);
	}
	if (cbor_isa_negint(item)) {
		if (cbor_get_int(item) > INT64_MAX)
			return (-1);
		*out = -1 - (int64_t)cbor_get_int(item);
		return (0);
	}

	return (-1);
}

const cbor_item_t *
sk_map_get_uint(const cbor_item_t *map, uint64_t key)
{
	struct cbor_pair	*v;
	size_t			 n;

	if (map == NULL || !cbor_isa_map(map))
		return (NULL);
	v = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++)
		if (cbor_isa_uint(v[i].key) && cbor_get_int(v[i].key) == key)
			return (v[i].value);

	return (NULL);
}

const cbor_item_t *
sk_map_get_str(const cbor_item_t *map, const char *key)
{
	struct cbor_pair	*v;
	size_t			 n, len = strlen(key);

	if (map == NULL || !cbor_isa_map(map))
		return (NULL);
	v = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++)
		if (cbor_isa_string(v[i].key) &&
		    cbor_string_is_definite(v[i].key) &&
		    cbor_string_length(v[i].key) == len &&
		    memcmp(cbor_string_handle(v[i].key), key, len) == 0)
			return (v[i].value);

	return (NULL);
}

static bool
is_bytes(const cbor_item_t *item)
{
	return (item != NULL && cbor_isa_bytestring(item) &&
	    cbor_bytestring_is_definite(item));
}

static bool
is_text(const cbor_item_t *item)
{
	return (item != NULL && cbor_isa_string(item) &&
	    cbor_string_is_definite(item));
}

/* a boolean option of an options map: -1 absent, 0 false, 1 true */
static int
get_option(const cbor_item_t *opts, const char *name, int *out)
{
	const cbor_item_t *v;

	*out = -1;
	if ((v = sk_map_get_str(opts, name)) == NULL)
		return (0);
	if (!cbor_isa_float_ctrl(v) || !cbor_is_bool(v))
		return (-1);
	*out = cbor_get_bool(v) ? 1 : 0;

	return (0);
}

/* the reply's body is `map' serialized; status OK */
int
sk_reply_map(struct sk_reply *rp, cbor_item_t *map)
{
	unsigned char	*buf = NULL;
	size_t		 alloc_len, len;

	len = cbor_serialize_alloc(map, &buf, &alloc_len);
	cbor_decref(&map);
	if (len == 0) {
		free(buf);
		rp->status = SK_ERR_OTHER;
		return (-1);
	}
	rp->status = SK_OK;
	rp->body = buf;
	rp->body_len = len;

	return (0);
}

/* --- COSE keys and signatures --- */

EVP_PKEY *
sk_keygen(int alg)
{
	if (alg == SK_COSE_EDDSA)
		return (EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));

	return (EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
}

/* the COSE_Key map of the public half of `pk', for algorithm `alg' */
cbor_item_t *
sk_cose_encode(EVP_PKEY *pk, int alg)
{
	unsigned char	 pub[65];
	size_t		 len = sizeof(pub);
	cbor_item_t	*map;

	if (alg == SK_COSE_EDDSA) {
		if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1 ||
		    len != 32 || (map = cbor_new_definite_map(4)) == NULL)
			return (NULL);
		sk_cbor_map_put(map, cbor_int(1), cbor_int(1));	/* OKP */
		sk_cbor_map_put(map, cbor_int(3), cbor_int(alg));
		sk_cbor_map_put(map, cbor_int(-1), cbor_int(6)); /* Ed25519 */
		sk_cbor_map_put(map, cbor_int(-2), cbor_bytes(pub, 32));
		return (map);
	}
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &len) != 1 || len != 65 || pub[0] != 0x04 ||
	    (map = cbor_new_definite_map(5)) == NULL)
		return (NULL);
	sk_cbor_map_put(map, cbor_int(1), cbor_int(2));		/* EC2 */
	sk_cbor_map_put(map, cbor_int(3), cbor_int(alg));
	sk_cbor_map_put(map, cbor_int(-1), cbor_int(1));	/* P-256 */
	sk_cbor_map_put(map, cbor_int(-2), cbor_bytes(pub + 1, 32));
	sk_cbor_map_put(map, cbor_int(-3), cbor_bytes(pub + 33, 32));

	return (map);
}

/* a P-256 public key from a COSE_Key map (the platform's ECDH key) */
EVP_PKEY *
sk_ec_from_cose(const cbor_item_t *map)
{
	const cbor_item_t	*x, *y;
	int64_t			 kty, crv;
	unsigned char		 pub[65];
	OSSL_PARAM_BLD		*bld = NULL;
	OSSL_PARAM		*params = NULL;
	EVP_PKEY_CTX		*ctx = NULL;
	EVP_PKEY		*pk = NULL;

	x = y = NULL;
	if (sk_cbor_int(sk_map_get_uint(map, 1), &kty) < 0 || kty != 2)
		return (NULL);
	/* the negative keys -1 (crv), -2 (x), -3 (y) */
	crv = 0;
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		struct cbor_pair	*p = &cbor_map_handle(map)[i];
		int64_t			 key;

		if (sk_cbor_int(p->key, &key) < 0)
			continue;
		if (key == -1 && sk_cbor_int(p->value, &crv) < 0)
			return (NULL);
		if (key == -2)
			x = p->value;
		if (key == -3)
			y = p->value;
	}
	if (crv != 1 || !is_bytes(x) || !is_bytes(y) ||
	    cbor_bytestring_length(x) != 32 || cbor_bytestring_length(y) != 32)
		return (NULL);
	pub[0] = 0x04;
	memcpy(pub + 1, cbor_bytestring_handle(x), 32);
	memcpy(pub + 33, cbor_bytestring_handle(y), 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "P-256", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub)) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);

	return (pk);
}

/* signs authData || clientDataHash: ECDSA-SHA-256 (DER) or Ed25519 */
static int
sign(EVP_PKEY *pk, int alg, const unsigned char *ad, size_t ad_len,
    const unsigned char *cdh, unsigned char **sig, size_t *sig_len)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*msg = NULL;
	size_t		 msg_len = ad_len + 32;
	int		 r = -1;

	*sig = NULL;
	if ((msg = malloc(msg_len)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	memcpy(msg, ad, ad_len);
	memcpy(msg + ad_len, cdh, 32);
	if (EVP_DigestSignInit(ctx, NULL, alg == SK_COSE_EDDSA ? NULL :
	    EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, NULL, sig_len, msg, msg_len) != 1 ||
	    (*sig = malloc(*sig_len)) == NULL ||
	    EVP_DigestSign(ctx, *sig, sig_len, msg, msg_len) != 1)
		goto out;
	r = 0;
out:
	if (r < 0) {
		free(*sig);
		*sig = NULL;
	}
	EVP_MD_CTX_free(ctx);
	free(msg);

	return (r);
}

/* --- user presence and verification --- */

/*
 * Asks for a touch.  0: touched (after delay_ms of keepalives).  -1: never
 * touched: the reply is USER_ACTION_TIMEOUT after touch_timeout_ms of
 * UPNEEDED keepalives.
 */
int
sk_user_presence(sk_key_t *k, struct sk_reply *rp)
{
	if (k->cfg.touch)
		return (0);
	rp->status = SK_ERR_USER_ACTION_TIMEOUT;
	rp->wait_ms = k->cfg.touch_timeout_ms;
	rp->ka_status = SK_KA_UPNEEDED;

	return (-1);
}

/*
 * The UV part of makeCredential and getAssertion, shared: checks a
 * pinUvAuthParam against the token, or runs built-in UV for option uv.
 * Sets *uv; returns a status.
 */
static int
check_uv(sk_key_t *k, const cbor_item_t *auth, const cbor_item_t *proto,
    int opt_uv, const unsigned char *cdh, unsigned perm,
    const unsigned char *rp_id_hash, bool *uv)
{
	int r;

	*uv = false;
	if (auth != NULL) {
		if ((r = sk_pin_check_auth(k, auth, proto, cdh, perm,
		    rp_id_hash)) != SK_OK)
			return (r);
		*uv = true;
		return (SK_OK);
	}
	if (opt_uv == 1) {
		if (!k->cfg.builtin_uv)
			return (k->pin_set ? SK_ERR_PIN_REQUIRED :
			    SK_ERR_UNSUPPORTED_OPTION);
		if (!k->cfg.uv_ok)
			return (SK_ERR_UV_INVALID);
		*uv = true;
	}

	return (SK_OK);
}

/* --- authenticatorGetInfo --- */

static void
get_info(sk_key_t *k, struct sk_reply *rp)
{
	const struct sk_config	*c = &k->cfg;
	cbor_item_t		*map, *v, *opts, *alg;
	size_t			 nopt = 4, nalg = 0, nproto = 0;

	if ((map = cbor_new_definite_map(9)) == NULL)
		return;
	v = cbor_new_definite_array(c->ctap21 ? 2 : 1);
	(void)cbor_array_push(v, cbor_move(cbor_text("FIDO_2_0")));
	if (c->ctap21)
		(void)cbor_array_push(v, cbor_move(cbor_text("FIDO_2_1")));
	sk_cbor_map_put(map, cbor_int(1), v);
	sk_cbor_map_put(map, cbor_int(3), cbor_bytes(c->aaguid, 16));

	nopt += c->builtin_uv ? 1 : 0;
	nopt += c->ctap21 ? 1 : 0;
	opts = cbor_new_definite_map(nopt);
	sk_cbor_map_put(opts, cbor_text("rk"), cbor_build_bool(false));
	sk_cbor_map_put(opts, cbor_text("up"), cbor_build_bool(true));
	if (c->builtin_uv)
		sk_cbor_map_put(opts, cbor_text("uv"), cbor_build_bool(true));
	sk_cbor_map_put(opts, cbor_text("plat"), cbor_build_bool(false));
	sk_cbor_map_put(opts, cbor_text("clientPin"),
	    cbor_build_bool(k->pin_set));
	if (c->ctap21)
		sk_cbor_map_put(opts, cbor_text("pinUvAuthToken"),
		    cbor_build_bool(true));
	sk_cbor_map_put(map, cbor_int(4), opts);
	sk_cbor_map_put(map, cbor_int(5), cbor_int(SK_MAXMSG));

	nproto = ((c->pin_protocols & SK_PINPROTO_2) ? 1 : 0) +
	    ((c->pin_protocols & SK_PINPROTO_1) ? 1 : 0);
	v = cbor_new_definite_array(nproto);
	if (c->pin_protocols & SK_PINPROTO_2)
		(void)cbor_array_push(v, cbor_move(cbor_int(2)));
	if (c->pin_protocols & SK_PINPROTO_1)
		(void)cbor_array_push(v, cbor_move(cbor_int(1)));
	sk_cbor_map_put(map, cbor_int(6), v);
	sk_cbor_map_put(map, cbor_int(7), cbor_int(8));
	sk_cbor_map_put(map, cbor_int(8), cbor_int(SK_CRED_ID_LEN));
	v = cbor_new_definite_array(1);
	(void)cbor_array_push(v, cbor_move(cbor_text("usb")));
	sk_cbor_map_put(map, cbor_int(9), v);

	nalg = (c->es256 ? 1 : 0) + (c->eddsa ? 1 : 0);
	v = cbor_new_definite_array(nalg);
	for (int i = 0; i < 2; i++) {
		if ((i == 0 && !c->es256) || (i == 1 && !c->eddsa))
			continue;
		alg = cbor_new_definite_map(2);
		sk_cbor_map_put(alg, cbor_text("alg"),
		    cbor_int(i == 0 ? SK_COSE_ES256 : SK_COSE_EDDSA));
		sk_cbor_map_put(alg, cbor_text("type"),
		    cbor_text("public-key"));
		(void)cbor_array_push(v, cbor_move(alg));
	}
	sk_cbor_map_put(map, cbor_int(10), v);
	sk_reply_map(rp, map);
}

/* --- authenticatorMakeCredential --- */

static int
rp_hash_of(const cbor_item_t *id, unsigned char out[32])
{
	if (!is_text(id))
		return (-1);
	SHA256(cbor_string_handle(id), cbor_string_length(id), out);

	return (0);
}

/* the first algorithm of pubKeyCredParams this key offers, or 0 */
static int
pick_alg(sk_key_t *k, const cbor_item_t *params)
{
	int64_t alg;

	if (params == NULL || !cbor_isa_array(params))
		return (0);
	for (size_t i = 0; i < cbor_array_size(params); i++) {
		const cbor_item_t *p = cbor_array_handle(params)[i];

		if (sk_cbor_int(sk_map_get_str(p, "alg"), &alg) < 0)
			continue;
		if ((alg == SK_COSE_ES256 && k->cfg.es256) ||
		    (alg == SK_COSE_EDDSA && k->cfg.eddsa))
			return ((int)alg);
	}

	return (0);
}

/* the first credential of a list of descriptors that is ours, or NULL */
static const struct sk_cred *
find_in_list(sk_key_t *k, const cbor_item_t *list,
    const unsigned char *rp_id_hash)
{
	const cbor_item_t	*id;
	const struct sk_cred	*c;

	if (list == NULL || !cbor_isa_array(list))
		return (NULL);
	for (size_t i = 0; i < cbor_array_size(list); i++) {
		id = sk_map_get_str(cbor_array_handle(list)[i], "id");
		if (!is_bytes(id))
			continue;
		if ((c = sk_cred_find(k, cbor_bytestring_handle(id),
		    cbor_bytestring_length(id), rp_id_hash)) != NULL)
			return (c);
	}

	return (NULL);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* authData with attested credential data */
static int
make_authdata(sk_key_t *k, const struct sk_cred *c, uint8_t flags,
    unsigned char **out, size_t *out_len)
{
	cbor_item_t	*cose;
	unsigned char	*pub = NULL, *ad;
	size_t		 pub_len, alloc_len, len;

	*out = NULL;
	if ((cose = sk_cose_encode(c->key, c->alg)) == NULL)
		return (-1);
	pub_len = cbor_serialize_alloc(cose, &pub, &alloc_len);
	cbor_decref(&cose);
	if (pub_len == 0) {
		free(pub);
		return (-1);
	}
	len = 32 + 1 + 4 + 16 + 2 + SK_CRED_ID_LEN + pub_len;
	if ((ad = malloc(len)) == NULL) {
		free(pub);
		return (-1);
	}
	memcpy(ad, c->rp_id_hash, 32);
	ad[32] = flags;
	put_be32(ad + 33, k->cfg.counter == SK_COUNTER_ZERO ? 0 : k->counter);
	memcpy(ad + 37, k->cfg.aaguid, 16);
	ad[53] = 0;
	ad[54] = SK_CRED_ID_LEN;
	memcpy(ad + 55, c->id, SK_CRED_ID_LEN);
	memcpy(ad + 55 + SK_CRED_ID_LEN, pub, pub_len);
	free(pub);
	*out = ad;
	*out_len = len;

	return (0);
}

static cbor_item_t *
att_statement(sk_key_t *k, const struct sk_cred *c, const unsigned char *ad,
    size_t ad_len, const unsigned char *cdh)
{
	cbor_item_t	*st, *x5c;
	unsigned char	*sig = NULL;
	size_t		 sig_len;
	bool		 basic = k->cfg.attestation == SK_ATT_BASIC;

	if (k->cfg.attestation == SK_ATT_NONE)
		return (cbor_new_definite_map(0));
	if (sign(basic ? k->att_key : c->key, basic ? SK_COSE_ES256 : c->alg,
	    ad, ad_len, cdh, &sig, &sig_len) < 0)
		return (NULL);
	st = cbor_new_definite_map(basic ? 3 : 2);
	sk_cbor_map_put(st, cbor_text("alg"),
	    cbor_int(basic ? SK_COSE_ES256 : c->alg));
	sk_cbor_map_put(st, cbor_text("sig"), cbor_bytes(sig, sig_len));
	if (basic) {
		x5c = cbor_new_definite_array(1);
		(void)cbor_array_push(x5c, cbor_move(cbor_bytes(k->att_cert,
		    k->att_cert_len)));
		sk_cbor_map_put(st, cbor_text("x5c"), x5c);
	}
	free(sig);

	return (st);
}

static void
make_credential(sk_key_t *k, const cbor_item_t *req, struct sk_reply *rp)
{
	const cbor_item_t	*cdh, *rpent, *user, *opts;
	struct sk_cred		 c;
	unsigned char		 rp_id_hash[32], *ad = NULL;
	size_t			 ad_len;
	cbor_item_t		*map, *st;
	int			 opt_rk, opt_uv, opt_up, r;
	bool			 uv;

	memset(&c, 0, sizeof(c));
	cdh = sk_map_get_uint(req, 1);
	rpent = sk_map_get_uint(req, 2);
	user = sk_map_get_uint(req, 3);
	opts = sk_map_get_uint(req, 7);
	if (!is_bytes(cdh) || rpent == NULL || user == NULL ||
	    sk_map_get_uint(req, 4) == NULL) {
		rp->status = SK_ERR_MISSING_PARAMETER;
		return;
	}
	if (cbor_bytestring_length(cdh) != 32 ||
	    rp_hash_of(sk_map_get_str(rpent, "id"), rp_id_hash) < 0) {
		rp->status = SK_ERR_INVALID_PARAMETER;
		return;
	}
	if ((c.alg = pick_alg(k, sk_map_get_uint(req, 4))) == 0) {
		rp->status = SK_ERR_UNSUPPORTED_ALGORITHM;
		return;
	}
	if (get_option(opts, "rk", &opt_rk) < 0 ||
	    get_option(opts, "uv", &opt_uv) < 0 ||
	    get_option(opts, "up", &opt_up) < 0) {
		rp->status = SK_ERR_INVALID_OPTION;
		return;
	}
	if (opt_rk == 1) {
		rp->status = SK_ERR_UNSUPPORTED_OPTION;
		return;
	}
	if (opt_up == 0) {
		rp->status = SK_ERR_INVALID_OPTION;
		return;
	}
	if ((r = check_uv(k, sk_map_get_uint(req, 8), sk_map_get_uint(req, 9),
	    opt_uv, cbor_bytestring_handle(cdh), SK_PERM_MC, rp_id_hash,
	    &uv)) != SK_OK) {
		rp->status = (unsigned char)r;
		return;
	}
	/* a key with a PIN makes credentials only with the PIN (CTAP 2.0) */
	if (!uv && k->pin_set) {
		rp->status = SK_ERR_PIN_REQUIRED;
		return;
	}
	if (find_in_list(k, sk_map_get_uint(req, 5), rp_id_hash) != NULL) {
		if (sk_user_presence(k, rp) == 0)
			rp->status = SK_ERR_CREDENTIAL_EXCLUDED;
		return;
	}
	if (sk_user_presence(k, rp) < 0)
		return;

	rp->status = SK_ERR_OTHER;
	memcpy(c.rp_id_hash, rp_id_hash, sizeof(rp_id_hash));
	if (RAND_bytes(c.id, sizeof(c.id)) != 1 ||
	    (c.key = sk_keygen(c.alg)) == NULL)
		goto fail;
	if (make_authdata(k, &c, FLAG_UP | FLAG_AT | (uv ? FLAG_UV : 0), &ad,
	    &ad_len) < 0 || (st = att_statement(k, &c, ad, ad_len,
	    cbor_bytestring_handle(cdh))) == NULL)
		goto fail;
	if (sk_cred_add(k, &c) < 0) {
		cbor_decref(&st);
		goto fail;
	}
	c.key = NULL;	/* the table owns it */
	if (sk_key_save(k) < 0) {
		cbor_decref(&st);
		goto fail;
	}
	map = cbor_new_definite_map(3);
	sk_cbor_map_put(map, cbor_int(1), cbor_text(
	    k->cfg.attestation == SK_ATT_NONE ? "none" : "packed"));
	sk_cbor_map_put(map, cbor_int(2), cbor_bytes(ad, ad_len));
	sk_cbor_map_put(map, cbor_int(3), st);
	sk_reply_map(rp, map);
fail:
	EVP_PKEY_free(c.key);
	free(ad);
}

/* --- authenticatorGetAssertion --- */

static void
get_assertion(sk_key_t *k, const cbor_item_t *req, struct sk_reply *rp)
{
	const cbor_item_t	*cdh, *opts;
	const struct sk_cred	*c;
	unsigned char		 rp_id_hash[32], ad[37], *sig = NULL;
	size_t			 sig_len;
	cbor_item_t		*map, *desc;
	int			 opt_uv, opt_up, r;
	bool			 uv;

	cdh = sk_map_get_uint(req, 2);
	opts = sk_map_get_uint(req, 5);
	if (sk_map_get_uint(req, 1) == NULL || !is_bytes(cdh)) {
		rp->status = SK_ERR_MISSING_PARAMETER;
		return;
	}
	if (cbor_bytestring_length(cdh) != 32 ||
	    rp_hash_of(sk_map_get_uint(req, 1), rp_id_hash) < 0) {
		rp->status = SK_ERR_INVALID_PARAMETER;
		return;
	}
	if (get_option(opts, "uv", &opt_uv) < 0 ||
	    get_option(opts, "up", &opt_up) < 0 ||
	    sk_map_get_str(opts, "rk") != NULL) {
		rp->status = SK_ERR_INVALID_OPTION;
		return;
	}
	if ((r = check_uv(k, sk_map_get_uint(req, 6), sk_map_get_uint(req, 7),
	    opt_uv, cbor_bytestring_handle(cdh), SK_PERM_GA, rp_id_hash,
	    &uv)) != SK_OK) {
		rp->status = (unsigned char)r;
		return;
	}
	if ((c = find_in_list(k, sk_map_get_uint(req, 3), rp_id_hash)) ==
	    NULL) {
		rp->status = SK_ERR_NO_CREDENTIALS;
		return;
	}
	if (opt_up != 0 && sk_user_presence(k, rp) < 0)
		return;

	memcpy(ad, rp_id_hash, 32);
	ad[32] = (opt_up != 0 ? FLAG_UP : 0) | (uv ? FLAG_UV : 0);
	put_be32(ad + 33, sk_counter_next(k));
	if (sk_key_save(k) < 0 || sign(c->key, c->alg, ad, sizeof(ad),
	    cbor_bytestring_handle(cdh), &sig, &sig_len) < 0) {
		rp->status = SK_ERR_OTHER;
		return;
	}
	desc = cbor_new_definite_map(2);
	sk_cbor_map_put(desc, cbor_text("id"), cbor_bytes(c->id,
	    sizeof(c->id)));
	sk_cbor_map_put(desc, cbor_text("type"), cbor_text("public-key"));
	map = cbor_new_definite_map(3);
	sk_cbor_map_put(map, cbor_int(1), desc);
	sk_cbor_map_put(map, cbor_int(2), cbor_bytes(ad, sizeof(ad)));
	sk_cbor_map_put(map, cbor_int(3), cbor_bytes(sig, sig_len));
	free(sig);
	sk_reply_map(rp, map);
}

/* --- authenticatorReset: forgets credentials, PIN and counter --- */

static void
reset(sk_key_t *k, struct sk_reply *rp)
{
	if (sk_user_presence(k, rp) < 0)
		return;
	for (size_t i = 0; i < k->ncreds; i++)
		EVP_PKEY_free(k->creds[i].key);
	free(k->creds);
	k->creds = NULL;
	k->ncreds = 0;
	k->counter = 0;
	if (sk_key_set_pin(k, NULL) < 0) {
		rp->status = SK_ERR_OTHER;
		return;
	}
	sk_pin_power_cycle(k);
	rp->status = SK_OK;
}

/* one CTAPHID_CBOR request: command byte, then the CBOR parameters */
void
sk_ctap2_dispatch(sk_key_t *k, const unsigned char *msg, size_t len,
    struct sk_reply *rp)
{
	struct cbor_load_result	 res;
	cbor_item_t		*req = NULL;
	uint8_t			 cmd;

	memset(rp, 0, sizeof(*rp));
	rp->status = SK_ERR_OTHER;
	if (len < 1) {
		rp->status = SK_ERR_INVALID_LENGTH;
		return;
	}
	cmd = msg[0];
	if (len > 1) {
		req = cbor_load(msg + 1, len - 1, &res);
		if (req == NULL || res.read != len - 1) {
			rp->status = SK_ERR_INVALID_CBOR;
			goto out;
		}
		if (!cbor_isa_map(req) || !cbor_map_is_definite(req)) {
			rp->status = SK_ERR_CBOR_UNEXPECTED_TYPE;
			goto out;
		}
	}
	switch (cmd) {
	case CTAP_CMD_GETINFO:
		get_info(k, rp);
		break;
	case CTAP_CMD_MAKECRED:
	case CTAP_CMD_GETASSERT:
	case CTAP_CMD_CLIENTPIN:
		if (req == NULL) {
			rp->status = SK_ERR_MISSING_PARAMETER;
			break;
		}
		if (cmd == CTAP_CMD_MAKECRED)
			make_credential(k, req, rp);
		else if (cmd == CTAP_CMD_GETASSERT)
			get_assertion(k, req, rp);
		else
			sk_client_pin(k, req, rp);
		break;
	case CTAP_CMD_RESET:
		reset(k, rp);
		break;
	case CTAP_CMD_GETNEXT:
		rp->status = SK_ERR_NOT_ALLOWED;
		break;
	default:
		rp->status = SK_ERR_INVALID_COMMAND;
		break;
	}
out:
	if (req != NULL)
		cbor_decref(&req);
	/* delay_ms of "processing" before any answer */
	if (k->cfg.delay_ms > 0) {
		rp->wait_ms += k->cfg.delay_ms;
		if (rp->ka_status == 0)
			rp->ka_status = SK_KA_PROCESSING;
	}
}
