/*
 * bench_fido2.c -- see bench_fido2.h.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <fido.h>

#include "bench_fido2.h"
#include "err.h"
#include "msg.h"
#include "proto.h"
#include "sk_int.h"
#include "softkey.h"

#define BENCH_FIDO2_TIMEOUT_MS	30000

struct bench_fkey {
	sk_key_t	*k;
	fido_dev_t	*dev;
	char		 file[PATH_MAX];
};

static int
fkey_call(tk_client_t *cl, tk_msg_t *rq, tk_msg_t **an, const char *what)
{
	int r;

	if ((r = tk_client_call(cl, rq, an)) != 0) {
		fprintf(stderr, "tokend-bench: %s: %s\n", what, tk_strerr(r));
		return (-1);
	}
	if (tk_msg_status(*an) != TK_ST_OK) {
		fprintf(stderr, "tokend-bench: %s: %s%s%s\n", what,
		    tk_status_name(tk_msg_status(*an)),
		    tk_msg_get_text(*an, TK_KEY_REASON) != NULL ? ": " : "",
		    tk_msg_get_text(*an, TK_KEY_REASON) != NULL ?
		    tk_msg_get_text(*an, TK_KEY_REASON) : "");
		return (-1);
	}
	return (0);
}

/* one FIDO2_ENROLL_BEGIN, makeCredential on the soft key, FINISH */
static int
fkey_enroll_one(tk_client_t *cl, struct bench_fkey *fk, struct bench_fuser *u)
{
	const unsigned char *ch, *handle, *id;
	const struct sk_cred *sc;
	const char *rp;
	size_t chlen, hlen, idlen;
	fido_cred_t *c = NULL;
	tk_msg_t *rq = NULL, *an = NULL, *an2 = NULL;
	uint64_t chid;
	int ret = -1;

	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_ENROLL_BEGIN)) ==
	    NULL || tk_msg_set_text(rq, TK_KEY_USER, u->name) != 0 ||
	    tk_msg_set_text(rq, TK_KEY_LABEL, "bench") != 0 ||
	    fkey_call(cl, rq, &an, "FIDO2_ENROLL_BEGIN") != 0)
		goto out;
	if (tk_msg_get_uint(an, TK_KEY_CHALLENGE_ID, &chid) != 0 ||
	    tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &chlen) != 0 ||
	    tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle, &hlen) != 0 ||
	    (rp = tk_msg_get_text(an, TK_KEY_RP_ID)) == NULL) {
		fprintf(stderr, "tokend-bench: FIDO2_ENROLL_BEGIN: fields\n");
		goto out;
	}
	SHA256((const unsigned char *)rp, strlen(rp), u->rp_hash);
	if ((c = fido_cred_new()) == NULL ||
	    fido_cred_set_type(c, COSE_ES256) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(c, ch, chlen) != FIDO_OK ||
	    fido_cred_set_rp(c, rp, NULL) != FIDO_OK ||
	    fido_cred_set_user(c, handle, hlen, u->name, NULL, NULL) !=
	    FIDO_OK || fido_cred_set_uv(c, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_dev_make_cred(fk->dev, c, NULL) != FIDO_OK) {
		fprintf(stderr, "tokend-bench: soft key makeCredential "
		    "failed\n");
		goto out;
	}
	tk_msg_free(&rq);
	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_ENROLL_FINISH)) ==
	    NULL || tk_msg_set_text(rq, TK_KEY_USER, u->name) != 0 ||
	    tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid) != 0 ||
	    tk_msg_set_text(rq, TK_KEY_ALGORITHM, "es256") != 0 ||
	    tk_msg_set_text(rq, TK_KEY_FMT, fido_cred_fmt(c)) != 0 ||
	    tk_msg_set_bytes(rq, TK_KEY_AUTHDATA,
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c)) !=
	    0 || (fido_cred_sig_len(c) > 0 && tk_msg_set_bytes(rq, TK_KEY_SIG,
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c)) != 0) ||
	    (fido_cred_x5c_len(c) > 0 && tk_msg_set_bytes(rq, TK_KEY_X5C,
	    fido_cred_x5c_ptr(c), fido_cred_x5c_len(c)) != 0) ||
	    fkey_call(cl, rq, &an2, "FIDO2_ENROLL_FINISH") != 0)
		goto out;
	if (tk_msg_get_bytes(an2, TK_KEY_CRED_ID, &id, &idlen) != 0 ||
	    idlen > sizeof(u->cred_id) ||
	    (sc = sk_cred_find(fk->k, id, idlen, u->rp_hash)) == NULL ||
	    sc->alg != SK_COSE_ES256) {
		fprintf(stderr, "tokend-bench: enrolled credential not on the "
		    "soft key\n");
		goto out;
	}
	memcpy(u->cred_id, id, idlen);
	u->cred_id_len = idlen;
	u->pkey = sc->key;
	/* above the soft key's counter, which the enrollment stored */
	u->counter = sk_key_counter(fk->k) + 1;
	u->cool_until_ns = 0;
	ret = 0;
out:
	fido_cred_free(&c);
	tk_msg_free(&rq);
	tk_msg_free(&an);
	tk_msg_free(&an2);
	return (ret);
}

int
bench_fkey_enroll(const char *socket, const char *dir, unsigned idx,
    const char *prefix, size_t n, struct bench_fkey **keyp,
    struct bench_fuser *users)
{
	struct bench_fkey *fk;
	struct sk_config *cf;
	tk_client_t *cl = NULL;
	size_t i;
	int r;

	*keyp = NULL;
	if ((fk = calloc(1, sizeof(*fk))) == NULL)
		return (-1);
	(void)snprintf(fk->file, sizeof(fk->file), "%s/key-%u", dir, idx);
	if (sk_key_open(fk->file, &fk->k) != 0) {
		fprintf(stderr, "tokend-bench: soft key %s\n", fk->file);
		free(fk);
		return (-1);
	}
	*keyp = fk;
	cf = sk_key_config(fk->k);
	cf->builtin_uv = true;
	cf->uv_ok = true;
	cf->attestation = SK_ATT_SELF;
	if ((fk->dev = fido_dev_new()) == NULL ||
	    sk_key_attach(fk->k, fk->dev) != 0 ||
	    fido_dev_open(fk->dev, sk_key_path(fk->k)) != FIDO_OK) {
		fprintf(stderr, "tokend-bench: cannot open the soft key\n");
		return (-1);
	}
	if ((r = tk_client_open(socket, BENCH_FIDO2_TIMEOUT_MS, (uid_t)-1,
	    &cl)) != 0) {
		fprintf(stderr, "tokend-bench: %s: %s\n", socket,
		    tk_strerr(r));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		(void)snprintf(users[i].name, sizeof(users[i].name), "%s-%zu",
		    prefix, i);
		if (fkey_enroll_one(cl, fk, &users[i]) != 0) {
			tk_client_close(&cl);
			return (-1);
		}
	}
	tk_client_close(&cl);
	return (0);
}

void
bench_fkey_close(struct bench_fkey **fkp)
{
	struct bench_fkey *fk = *fkp;

	if (fk == NULL)
		return;
	if (fk->dev != NULL) {
		(void)fido_dev_close(fk->dev);
		fido_dev_free(&fk->dev);
	}
	sk_key_close(&fk->k);
	(void)unlink(fk->file);
	free(fk);
	*fkp = NULL;
}

int
bench_fido2_sign(struct bench_fuser *u,
    const unsigned char challenge[BENCH_FIDO2_CHALLENGE],
    unsigned char authdata[BENCH_FIDO2_AUTHDATA],
    unsigned char sig[BENCH_FIDO2_SIG_MAX], size_t *siglen)
{
	unsigned char msg[BENCH_FIDO2_AUTHDATA + BENCH_FIDO2_CHALLENGE];
	EVP_MD_CTX *ctx;
	uint32_t n;
	size_t len = BENCH_FIDO2_SIG_MAX;
	int ret = -1;

	n = ++u->counter;
	memcpy(authdata, u->rp_hash, 32);
	authdata[32] = 0x05;		/* UP | UV */
	authdata[33] = (unsigned char)(n >> 24);
	authdata[34] = (unsigned char)(n >> 16);
	authdata[35] = (unsigned char)(n >> 8);
	authdata[36] = (unsigned char)n;
	memcpy(msg, authdata, BENCH_FIDO2_AUTHDATA);
	memcpy(msg + BENCH_FIDO2_AUTHDATA, challenge, BENCH_FIDO2_CHALLENGE);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    (EVP_PKEY *)u->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &len, msg, sizeof(msg)) == 1) {
		*siglen = len;
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	return (ret);
}
