/*
 * test_fido2_matrix.c -- the FIDO negative matrix (T8 of the security
 * anchors, research/anchors-security.md; WebAuthn L3 7.1 and 7.2, the
 * pam-u2f CVE-2021-31924 class): every way an
 * assertion (FIDO2_FINISH) or an attestation (FIDO2_ENROLL_FINISH) can
 * be wrong, each sent as the daemon receives it (encoded, decoded
 * strictly against the schema, dispatched), and each checked for:
 *  - a status that is not OK (the expected one, exactly),
 *  - nothing stored or changed: the credentials (count, state, counter,
 *    last use, read through the store API) and the challenges (rows,
 *    and only the challenge of the request burnt, when the handler got
 *    that far),
 *  - one audit row with the status and the reason, when a handler ran
 *    (a request that does not decode is answered BAD_REQUEST and counted
 *    by the server, as tokend does it),
 *  - for a login, one more throttle failure.
 *
 * Two sources of test data:
 *  - the software authenticator of tests/softkey through the real
 *    libfido2, for what a real key sends, tampered afterwards;
 *  - a "forged" credential: a key pair made here with OpenSSL and
 *    enrolled through a self attestation built byte by byte, so that
 *    authenticator data that no honest key sends (AT in an assertion,
 *    trailing bytes, UP=0, another RP ID hash) still carries a VALID
 *    signature, and only the property under test is wrong.  A positive
 *    control shows these forged messages are accepted when correct.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fido.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "dispatch.h"
#include "err.h"
#include "fido2.h"
#include "fixture.h"
#include "softkey.h"

#define RP		"tokend"	/* the fixture's [fido2] rp_id */

#define FLAG_UP		0x01u
#define FLAG_UV		0x04u
#define FLAG_AT		0x40u
#define FLAG_ED		0x80u

#define AD_MIN		37	/* rpIdHash, flags, counter */

/* one soft key, plugged in */
struct key {
	sk_key_t	*k;
	fido_dev_t	*dev;
};

/* what a test keeps of an enrolled credential */
struct enrolled_key {
	uint64_t	 id;
	unsigned char	 cred_id[TK_FIDO2_CRED_ID_MAX];
	size_t		 cred_id_len;
};

/* a login challenge as FIDO2_BEGIN gave it */
struct login {
	uint64_t	 id;
	unsigned char	 challenge[TK_FIDO2_CHALLENGE_BYTES];
};

/* an assertion: raw authdata, as libfido2 wraps it, and the signature */
struct assertion {
	unsigned char	 authdata[TK_FIDO2_AUTHDATA_MAX];
	size_t		 authdata_len;
	unsigned char	 cbor[TK_FIDO2_AUTHDATA_MAX];
	size_t		 cbor_len;
	unsigned char	 sig[TK_FIDO2_SIG_MAX];
	size_t		 sig_len;
};

/* a credential whose private key the test holds */
struct forge {
	EVP_PKEY	*pk;
	int		 cose;
	unsigned char	 pub[64];	/* x||y (ES256) or the 32 bytes */
	size_t		 pub_len;
	unsigned char	 cred_id[32];
	uint32_t	 count;
	struct enrolled_key e;
};

/* what one refused request must leave behind */
struct expect {
	enum tk_status	 st;
	const char	*reason;	/* in the audit row; NULL: any */
	bool		 wire;		/* refused by the decoder, no handler */
	bool		 burnt;		/* the request's challenge is used */
	bool		 counted;	/* one more throttle failure */
};

/* the state the store holds, compared around each refused request */
#define SNAP_CREDS	(2 * TK_FIDO2_CREDS_MAX)
struct snap {
	size_t		 n;
	struct {
		char	 user[TK_USER_MAX + 1];
		uint64_t id;
		int	 state;
		uint32_t sign_count;
		int64_t	 last_used;
		size_t	 cred_id_len;
		unsigned char cred_id[TK_FIDO2_CRED_ID_MAX];
	}		 c[SNAP_CREDS];
	uint64_t	 active;	/* tk_store_stats */
	int64_t		 challenges;
	int64_t		 unused;
	int64_t		 audit;
	uint64_t	 bad_requests;
	uint32_t	 failures;
};

static const char *const snap_users[] = { "alice", "bob" };

/* --- the store, read around a request -------------------------------- */

static int64_t
db_count(struct fixture *f, const char *sql)
{
	return (fx_sql_int64(f, sql, 0));
}

static void
used_of(void *arg, int ncols, const char *const *vals, const int *lens)
{
	int *used = arg;

	(void)lens;
	assert_int_equal(ncols, 1);
	assert_non_null(vals[0]);
	assert_true(strcmp(vals[0], "0") == 0 || strcmp(vals[0], "1") == 0);
	*used = vals[0][0] - '0';
}

/* whether challenge `id' exists and was used: -1 none, 0 unused, 1 used */
static int
challenge_used(struct fixture *f, uint64_t id)
{
	char ids[24];
	int used = -1;

	/* as the stores keep ids: signed 64 bits (UINT64_MAX is -1) */
	(void)snprintf(ids, sizeof(ids), "%lld", (long long)id);
	assert_true(fx_sql_each(f, used_of, &used,
	    "SELECT used FROM challenges WHERE id = $1", 1, ids) <= 1);
	return (used);
}

static void
snap_take(struct fixture *f, const char *user, struct snap *s)
{
	struct tk_store_stats stats;
	struct tk_throttle th;
	struct tk_cred *list = NULL;
	size_t n = 0, i, u;

	memset(s, 0, sizeof(*s));
	for (u = 0; u < sizeof(snap_users) / sizeof(snap_users[0]); u++) {
		assert_int_equal(tk_store_cred_list(f->store, snap_users[u],
		    &list, &n), 0);
		for (i = 0; i < n; i++) {
			assert_true(s->n < SNAP_CREDS);
			strcpy(s->c[s->n].user, list[i].user);
			s->c[s->n].id = list[i].id;
			s->c[s->n].state = list[i].state;
			s->c[s->n].sign_count = list[i].sign_count;
			s->c[s->n].last_used = list[i].last_used;
			s->c[s->n].cred_id_len = list[i].cred_id_len;
			if (list[i].cred_id_len > 0)
				memcpy(s->c[s->n].cred_id, list[i].cred_id,
				    list[i].cred_id_len);
			s->n++;
		}
		tk_cred_list_free(&list, n);
	}
	assert_int_equal(tk_store_stats(f->store, &stats), 0);
	s->active = stats.creds;
	memset(&th, 0, sizeof(th));
	assert_int_equal(tk_store_throttle_get(f->store, user, &th), 0);
	s->failures = th.failures;
	s->challenges = db_count(f, "SELECT count(*) FROM challenges");
	s->unused = db_count(f, "SELECT count(*) FROM challenges "
	    "WHERE used = 0");
	s->audit = audit_count(f, NULL, NULL);
	s->bad_requests = f->d.counters.bad_requests;
}

struct texts3 {
	char	*a, *b, *c;
	size_t	 len;
};

static void
copy3(void *arg, int ncols, const char *const *vals, const int *lens)
{
	struct texts3 *t = arg;

	(void)lens;
	assert_int_equal(ncols, 3);
	assert_true(vals[0] != NULL && vals[1] != NULL && vals[2] != NULL);
	(void)snprintf(t->a, t->len, "%s", vals[0]);
	(void)snprintf(t->b, t->len, "%s", vals[1]);
	(void)snprintf(t->c, t->len, "%s", vals[2]);
}

/* the last audit row: event, result, reason */
static void
last_audit(struct fixture *f, char *event, char *result, char *reason,
    size_t len)
{
	struct texts3 t = { event, result, reason, len };

	assert_int_equal(fx_sql_each(f, copy3, &t, "SELECT event, result, "
	    "reason FROM audit ORDER BY seq DESC LIMIT 1", 0), 1);
}

/*
 * The request as the server handles it: encoded, decoded strictly
 * (a body that does not decode is answered by tk_dispatch_error), and
 * dispatched by role.  *decoded says whether a handler could run.
 */
static tk_msg_t *
wire(struct fixture *f, const struct tk_peer *peer, tk_msg_t *rq,
    bool *decoded)
{
	unsigned char *enc = NULL;
	size_t enc_len = 0;
	tk_msg_t *dec = NULL, *an = NULL;
	bool close_after = false;
	int r;

	assert_int_equal(tk_msg_encode(rq, &enc, &enc_len), 0);
	tk_msg_free(&rq);
	r = tk_msg_decode(enc, enc_len, TK_DIR_REQUEST, &dec);
	if (r != 0) {
		f->d.counters.bad_requests++;	/* as tk_conn_process */
		assert_int_equal(tk_dispatch_error(enc, enc_len, r, &an), 0);
		*decoded = false;
	} else {
		assert_int_equal(tk_dispatch(&f->d, peer, dec, &an,
		    &close_after), 0);
		*decoded = true;
	}
	assert_non_null(an);
	tk_msg_free(&dec);
	sodium_memzero(enc, enc_len);
	free(enc);
	/* the answer must be sendable */
	assert_int_equal(tk_msg_encode(an, &enc, &enc_len), 0);
	free(enc);
	return (an);
}

/*
 * Sends `rq' (freed) as `peer' acting on `user' and checks the refusal
 * against *x; `chid' is the challenge the request names (0: none).
 */
static void
refused(struct fixture *f, const char *what, const struct tk_peer *peer,
    const char *user, const char *event, uint64_t chid, tk_msg_t *rq,
    const struct expect *x)
{
	struct snap a, b;
	char ev[256], res[256], why[256];
	const char *stname;
	tk_msg_t *an;
	bool decoded = false;
	size_t i;
	int used_before, used_after;

	snap_take(f, user, &a);
	used_before = chid != 0 ? challenge_used(f, chid) : -1;
	an = wire(f, peer, rq, &decoded);
	snap_take(f, user, &b);
	used_after = chid != 0 ? challenge_used(f, chid) : -1;

	stname = tk_status_name(tk_msg_status(an));
	if (tk_msg_status(an) == TK_ST_OK)
		fail_msg("%s: accepted", what);
	if (tk_msg_status(an) != x->st)
		fail_msg("%s: status %s, expected %s (%s)", what, stname,
		    tk_status_name(x->st), tk_msg_get_text(an, TK_KEY_REASON)
		    != NULL ? tk_msg_get_text(an, TK_KEY_REASON) : "");
	if (decoded == x->wire)
		fail_msg("%s: %s by the decoder", what, decoded ?
		    "expected refused" : "refused");
	tk_msg_free(&an);

	/* nothing stored or changed */
	if (a.n != b.n || a.active != b.active)
		fail_msg("%s: credentials %zu -> %zu", what, a.n, b.n);
	for (i = 0; i < a.n; i++)
		if (strcmp(a.c[i].user, b.c[i].user) != 0 ||
		    a.c[i].id != b.c[i].id ||
		    a.c[i].state != b.c[i].state ||
		    a.c[i].sign_count != b.c[i].sign_count ||
		    a.c[i].last_used != b.c[i].last_used ||
		    a.c[i].cred_id_len != b.c[i].cred_id_len ||
		    memcmp(a.c[i].cred_id, b.c[i].cred_id,
		    a.c[i].cred_id_len) != 0)
			fail_msg("%s: credential %llu changed", what,
			    (unsigned long long)a.c[i].id);
	if (a.challenges != b.challenges)
		fail_msg("%s: challenges %lld -> %lld", what,
		    (long long)a.challenges, (long long)b.challenges);
	if (b.unused != a.unused - (x->burnt ? 1 : 0))
		fail_msg("%s: unused challenges %lld -> %lld", what,
		    (long long)a.unused, (long long)b.unused);
	if (chid != 0 && used_before == 0 &&
	    used_after != (x->burnt ? 1 : 0))
		fail_msg("%s: challenge %llu %s", what,
		    (unsigned long long)chid, used_after == 1 ? "burnt" :
		    "not burnt");
	if (b.failures != a.failures + (x->counted ? 1u : 0u))
		fail_msg("%s: failures %u -> %u", what, a.failures,
		    b.failures);

	/* audited (a handler ran) or counted as a bad request (it did not) */
	if (x->wire) {
		if (b.audit != a.audit ||
		    b.bad_requests != a.bad_requests + 1)
			fail_msg("%s: wire refusal not counted", what);
		return;
	}
	if (b.audit != a.audit + 1)
		fail_msg("%s: %lld audit rows", what,
		    (long long)(b.audit - a.audit));
	last_audit(f, ev, res, why, sizeof(ev));
	if (strcmp(ev, event) != 0 || strcmp(res, stname) != 0)
		fail_msg("%s: audit row %s/%s", what, ev, res);
	if (x->reason != NULL && strstr(why, x->reason) == NULL)
		fail_msg("%s: audit reason \"%s\", expected \"%s\"", what, why,
		    x->reason);
}

/* --- the soft key ------------------------------------------------------ */

static int
setup_fido2(void **state)
{
	struct fixture *f;
	int r;

	tk_fido2_init();
	if ((r = setup(state)) != 0)
		return (r);
	f = *state;
	f->conf.max_failures = 1000;	/* count, never lock */
	f->conf.delay_base = 0;		/* nor delay: one case after another */
	return (0);
}

static void
key_open(struct fixture *f, const char *name, struct key *key)
{
	char path[PATH_MAX];
	struct sk_config *cf;

	join(path, sizeof(path), f->dir, name);
	assert_int_equal(sk_key_open(path, &key->k), 0);
	cf = sk_key_config(key->k);
	cf->builtin_uv = true;
	cf->uv_ok = true;
	cf->attestation = SK_ATT_SELF;
	assert_non_null(key->dev = fido_dev_new());
	assert_int_equal(sk_key_attach(key->k, key->dev), 0);
	assert_int_equal(fido_dev_open(key->dev, sk_key_path(key->k)),
	    FIDO_OK);
}

static void
key_close(struct key *key)
{
	if (key->dev != NULL) {
		(void)fido_dev_close(key->dev);
		fido_dev_free(&key->dev);
	}
	sk_key_close(&key->k);
}

/* FIDO2_ENROLL_BEGIN for `user': challenge id, challenge, user handle */
static void
enroll_begin_fido2(struct fixture *f, const char *user, uint64_t *chid,
    unsigned char ch[TK_FIDO2_CHALLENGE_BYTES],
    unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES])
{
	const unsigned char *p;
	size_t len;
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_ENROLL_BEGIN, user), *an;

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_LABEL, "key"), 0);
	an = run(f, tk_handle_fido2_enroll_begin, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	*chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &p, &len), 0);
	assert_int_equal(len, TK_FIDO2_CHALLENGE_BYTES);
	memcpy(ch, p, len);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &p, &len),
	    0);
	assert_int_equal(len, TK_FIDO2_USER_HANDLE_BYTES);
	memcpy(handle, p, len);
	tk_msg_free(&an);
}

static fido_cred_t *
make_cred(struct key *key, int cose, const char *rp,
    const unsigned char *cdh, const unsigned char *handle)
{
	fido_cred_t *c;

	assert_non_null(c = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c, cose), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c, cdh,
	    TK_FIDO2_CHALLENGE_BYTES), FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c, rp, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c, handle,
	    TK_FIDO2_USER_HANDLE_BYTES, "alice", NULL, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_uv(c, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_dev_make_cred(key->dev, c, NULL), FIDO_OK);
	return (c);
}

/* a FIDO2_ENROLL_FINISH request; NULL/0 leaves a field out */
static tk_msg_t *
enroll_rq(const char *user, uint64_t chid, const char *alg, const char *fmt,
    const unsigned char *ad, size_t ad_len, const unsigned char *sig,
    size_t sig_len, const unsigned char *x5c, size_t x5c_len)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_ENROLL_FINISH, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_ALGORITHM, alg), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_FMT, fmt), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA, ad, ad_len),
	    0);
	if (sig != NULL)
		assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG, sig,
		    sig_len), 0);
	if (x5c != NULL)
		assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_X5C, x5c,
		    x5c_len), 0);
	return (rq);
}

/* the request for credential `c' as libfido2 made it */
static tk_msg_t *
enroll_rq_cred(const char *user, uint64_t chid, const char *alg,
    const fido_cred_t *c)
{
	return (enroll_rq(user, chid, alg, fido_cred_fmt(c),
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c),
	    fido_cred_x5c_len(c) > 0 ? fido_cred_x5c_ptr(c) : NULL,
	    fido_cred_x5c_len(c)));
}

/* sends an enrollment that must pass; fills *e */
static void
enroll_ok(struct fixture *f, const char *user, tk_msg_t *rq,
    struct enrolled_key *e)
{
	const unsigned char *p;
	size_t len;
	tk_msg_t *an;
	bool decoded;

	an = wire(f, &f->admin, rq, &decoded);
	assert_true(decoded);
	if (tk_msg_status(an) != TK_ST_OK)
		fail_msg("enrollment of %s: %s (%s)", user,
		    tk_status_name(tk_msg_status(an)),
		    tk_msg_get_text(an, TK_KEY_REASON));
	memset(e, 0, sizeof(*e));
	e->id = an_uint(an, TK_KEY_CRED);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CRED_ID, &p, &len), 0);
	memcpy(e->cred_id, p, len);
	e->cred_id_len = len;
	tk_msg_free(&an);
}

/* a whole enrollment of a new soft key credential */
static void
enroll_key(struct fixture *f, const char *user, struct key *key, int cose,
    struct enrolled_key *e)
{
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	fido_cred_t *c;
	uint64_t chid;

	enroll_begin_fido2(f, user, &chid, ch, handle);
	c = make_cred(key, cose, RP, ch, handle);
	enroll_ok(f, user, enroll_rq_cred(user, chid, cose == COSE_EDDSA ?
	    "eddsa" : "es256", c), e);
	fido_cred_free(&c);
}

/* FIDO2_BEGIN for `user' (no throttle delay: setup_fido2) */
static void
begin(struct fixture *f, const char *user, struct login *l)
{
	const unsigned char *p;
	size_t len;
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_BEGIN, user), *an;

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	an = run(f, tk_handle_fido2_begin, &f->root, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	l->id = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &p, &len), 0);
	assert_int_equal(len, sizeof(l->challenge));
	memcpy(l->challenge, p, len);
	tk_msg_free(&an);
}

/* strips the CBOR byte string header libfido2 keeps around authdata */
static void
authdata_raw(struct assertion *as)
{
	size_t hdr, n;

	assert_true(as->cbor_len > 2);
	if (as->cbor[0] >= 0x40 && as->cbor[0] <= 0x57) {
		hdr = 1;
		n = as->cbor[0] - 0x40u;
	} else if (as->cbor[0] == 0x58) {
		hdr = 2;
		n = as->cbor[1];
	} else {
		assert_int_equal(as->cbor[0], 0x59);
		hdr = 3;
		n = ((size_t)as->cbor[1] << 8) | as->cbor[2];
	}
	assert_int_equal(n, as->cbor_len - hdr);
	memcpy(as->authdata, as->cbor + hdr, n);
	as->authdata_len = n;
}

/* an assertion by `key' of credential `e' over `cdh' for RP */
static void
get_assert(struct key *key, const struct enrolled_key *e,
    const unsigned char *cdh, struct assertion *as)
{
	fido_assert_t *a;

	memset(as, 0, sizeof(*as));
	assert_non_null(a = fido_assert_new());
	assert_int_equal(fido_assert_set_clientdata_hash(a, cdh,
	    TK_FIDO2_CHALLENGE_BYTES), FIDO_OK);
	assert_int_equal(fido_assert_set_rp(a, RP), FIDO_OK);
	assert_int_equal(fido_assert_allow_cred(a, e->cred_id,
	    e->cred_id_len), FIDO_OK);
	assert_int_equal(fido_assert_set_uv(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(key->dev, a, NULL), FIDO_OK);
	assert_true(fido_assert_authdata_len(a, 0) <= sizeof(as->cbor));
	memcpy(as->cbor, fido_assert_authdata_ptr(a, 0),
	    fido_assert_authdata_len(a, 0));
	as->cbor_len = fido_assert_authdata_len(a, 0);
	authdata_raw(as);
	assert_true(fido_assert_sig_len(a, 0) <= sizeof(as->sig));
	memcpy(as->sig, fido_assert_sig_ptr(a, 0), fido_assert_sig_len(a, 0));
	as->sig_len = fido_assert_sig_len(a, 0);
	fido_assert_free(&a);
}

static tk_msg_t *
finish_rq(const char *user, uint64_t chid, const unsigned char *cred_id,
    size_t cred_id_len, const unsigned char *ad, size_t ad_len,
    const unsigned char *sig, size_t sig_len)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_FINISH, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_CRED_ID, cred_id,
	    cred_id_len), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA, ad, ad_len),
	    0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG, sig, sig_len), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	return (rq);
}

/* FIDO2_FINISH by alice's PAM module (root) that must be refused */
static void
login_refused(struct fixture *f, const char *what, uint64_t chid,
    const unsigned char *cred_id, size_t cred_id_len,
    const unsigned char *ad, size_t ad_len, const unsigned char *sig,
    size_t sig_len, const struct expect *x)
{
	refused(f, what, &f->root, "alice", "fido2_verify", chid,
	    finish_rq("alice", chid, cred_id, cred_id_len, ad, ad_len, sig,
	    sig_len), x);
}

/* FIDO2_FINISH that must pass */
static void
login_ok(struct fixture *f, const char *what, uint64_t chid,
    const struct enrolled_key *e, const unsigned char *ad, size_t ad_len,
    const unsigned char *sig, size_t sig_len)
{
	tk_msg_t *an;
	bool decoded;

	an = wire(f, &f->root, finish_rq("alice", chid, e->cred_id,
	    e->cred_id_len, ad, ad_len, sig, sig_len), &decoded);
	if (tk_msg_status(an) != TK_ST_OK)
		fail_msg("%s: %s (%s)", what, tk_status_name(tk_msg_status(an)),
		    tk_msg_get_text(an, TK_KEY_REASON));
	assert_int_equal(an_uint(an, TK_KEY_CRED), e->id);
	tk_msg_free(&an);
}

/* the expectations that come back most */
static const struct expect X_MALFORMED = {	/* before the challenge */
	TK_ST_WRONG, "malformed assertion", false, false, true
};
static const struct expect X_AUTHDATA = {
	TK_ST_WRONG, "authenticator data malformed", false, true, true
};
static const struct expect X_RP_FLAGS = {
	TK_ST_WRONG, "relying party or flags", false, true, true
};
static const struct expect X_BADSIG = {
	TK_ST_WRONG, "bad signature", false, true, true
};
static const struct expect X_UNKNOWN_CRED = {
	TK_ST_WRONG, "unknown credential", false, true, true
};

/* --- forged credentials ------------------------------------------------ */

static void
forge_new(int cose, struct forge *fg)
{
	unsigned char pt[65];
	size_t len = 0;

	memset(fg, 0, sizeof(*fg));
	fg->cose = cose;
	randombytes_buf(fg->cred_id, sizeof(fg->cred_id));
	if (cose == COSE_ES256) {
		assert_non_null(fg->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256"));
		assert_int_equal(EVP_PKEY_get_octet_string_param(fg->pk,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len), 1);
		assert_int_equal(len, 65);
		assert_int_equal(pt[0], 0x04);
		memcpy(fg->pub, pt + 1, 64);
		fg->pub_len = 64;
	} else {
		assert_int_equal(cose, COSE_EDDSA);
		assert_non_null(fg->pk = EVP_PKEY_Q_keygen(NULL, NULL,
		    "ED25519"));
		len = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(fg->pk, fg->pub,
		    &len), 1);
		assert_int_equal(len, 32);
		fg->pub_len = 32;
	}
}

static void
forge_free(struct forge *fg)
{
	EVP_PKEY_free(fg->pk);
	fg->pk = NULL;
}

/* the key's signature over ad || cdh: DER ECDSA-SHA256 or Ed25519 */
static void
forge_sign(const struct forge *fg, const unsigned char *ad, size_t ad_len,
    const unsigned char *cdh, unsigned char *sig, size_t *sig_len)
{
	unsigned char msg[TK_FIDO2_AUTHDATA_MAX + TK_FIDO2_CHALLENGE_BYTES];
	EVP_MD_CTX *ctx;
	size_t len = TK_FIDO2_SIG_MAX;

	assert_true(ad_len <= TK_FIDO2_AUTHDATA_MAX);
	memcpy(msg, ad, ad_len);
	memcpy(msg + ad_len, cdh, TK_FIDO2_CHALLENGE_BYTES);
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, fg->cose == COSE_ES256 ?
	    EVP_sha256() : NULL, NULL, fg->pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, msg,
	    ad_len + TK_FIDO2_CHALLENGE_BYTES), 1);
	EVP_MD_CTX_free(ctx);
	*sig_len = len;
}

/* rpIdHash(rp) || flags || counter into ad; returns the length (37) */
static size_t
forge_head(const char *rp, unsigned flags, uint32_t count, unsigned char *ad)
{
	crypto_hash_sha256(ad, (const unsigned char *)rp, strlen(rp));
	ad[32] = (unsigned char)flags;
	ad[33] = (unsigned char)(count >> 24);
	ad[34] = (unsigned char)(count >> 16);
	ad[35] = (unsigned char)(count >> 8);
	ad[36] = (unsigned char)count;
	return (AD_MIN);
}

/* the COSE_Key of the forged key at p; returns its length */
static size_t
forge_cose(const struct forge *fg, unsigned char *p)
{
	static const unsigned char es256[] = {
		0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20
	};
	static const unsigned char eddsa[] = {
		0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20
	};
	size_t n;

	if (fg->cose == COSE_ES256) {
		memcpy(p, es256, sizeof(es256));
		n = sizeof(es256);
		memcpy(p + n, fg->pub, 32);
		n += 32;
		p[n++] = 0x22;
		p[n++] = 0x58;
		p[n++] = 0x20;
		memcpy(p + n, fg->pub + 32, 32);
		return (n + 32);
	}
	memcpy(p, eddsa, sizeof(eddsa));
	n = sizeof(eddsa);
	memcpy(p + n, fg->pub, 32);
	return (n + 32);
}

/* the authenticator data of a registration of the forged credential */
static size_t
forge_reg_authdata(const struct forge *fg, unsigned flags,
    const unsigned char aaguid[16], unsigned char *ad)
{
	size_t n = forge_head(RP, flags, 0, ad);

	memcpy(ad + n, aaguid, 16);
	n += 16;
	ad[n++] = 0;
	ad[n++] = sizeof(fg->cred_id);
	memcpy(ad + n, fg->cred_id, sizeof(fg->cred_id));
	n += sizeof(fg->cred_id);
	return (n + forge_cose(fg, ad + n));
}

/* a "packed" self attestation request of the forged credential */
static tk_msg_t *
forge_enroll_rq(const struct forge *fg, const char *user, uint64_t chid,
    const unsigned char *ch, const unsigned char *ad, size_t ad_len)
{
	unsigned char sig[TK_FIDO2_SIG_MAX];
	size_t sig_len;

	forge_sign(fg, ad, ad_len, ch, sig, &sig_len);
	return (enroll_rq(user, chid, fg->cose == COSE_ES256 ? "es256" :
	    "eddsa", "packed", ad, ad_len, sig, sig_len, NULL, 0));
}

/* enrolls the forged credential for `user' */
static void
forge_enroll(struct fixture *f, const char *user, struct forge *fg)
{
	static const unsigned char aaguid[16] = { 0x66, 0x6f, 0x72, 0x67 };
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	unsigned char ad[TK_FIDO2_AUTHDATA_MAX];
	uint64_t chid;
	size_t n;

	enroll_begin_fido2(f, user, &chid, ch, handle);
	n = forge_reg_authdata(fg, FLAG_UP | FLAG_UV | FLAG_AT, aaguid, ad);
	enroll_ok(f, user, forge_enroll_rq(fg, user, chid, ch, ad, n),
	    &fg->e);
	assert_int_equal(fg->e.cred_id_len, sizeof(fg->cred_id));
	assert_memory_equal(fg->e.cred_id, fg->cred_id, sizeof(fg->cred_id));
}

/*
 * A forged assertion over `cdh': head for `rp' with `flags' and the
 * next counter, then `extra' bytes; signed over all of it.
 */
static void
forge_assert(struct forge *fg, const char *rp, unsigned flags,
    const unsigned char *extra, size_t extra_len, const unsigned char *cdh,
    struct assertion *as)
{
	memset(as, 0, sizeof(*as));
	as->authdata_len = forge_head(rp, flags, ++fg->count, as->authdata);
	if (extra_len > 0)
		memcpy(as->authdata + as->authdata_len, extra, extra_len);
	as->authdata_len += extra_len;
	forge_sign(fg, as->authdata, as->authdata_len, cdh, as->sig,
	    &as->sig_len);
}

/* --- the tests ---------------------------------------------------------- */

/*
 * The forged messages are right when nothing is wrong with them: the
 * negative cases below fail for their defect, not for the forgery.
 */
static void
test_forge_positive_control(void **state)
{
	struct fixture *f = *state;
	struct forge es, ed;
	struct assertion as;
	struct login l;
	/* an extension map the verifier may ignore: {"credProtect": 1} */
	static const unsigned char ext[] = {
		0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r', 'o', 't', 'e', 'c',
		't', 0x01
	};

	forge_new(COSE_ES256, &es);
	forge_new(COSE_EDDSA, &ed);
	forge_enroll(f, "alice", &es);
	forge_enroll(f, "alice", &ed);
	begin(f, "alice", &l);
	forge_assert(&es, RP, FLAG_UP | FLAG_UV, NULL, 0, l.challenge, &as);
	login_ok(f, "forged es256", l.id, &es.e, as.authdata, as.authdata_len,
	    as.sig, as.sig_len);
	begin(f, "alice", &l);
	forge_assert(&ed, RP, FLAG_UP | FLAG_UV, NULL, 0, l.challenge, &as);
	login_ok(f, "forged eddsa", l.id, &ed.e, as.authdata, as.authdata_len,
	    as.sig, as.sig_len);
	/* extensions present and flagged: well-formed, accepted */
	begin(f, "alice", &l);
	forge_assert(&es, RP, FLAG_UP | FLAG_UV | FLAG_ED, ext, sizeof(ext),
	    l.challenge, &as);
	login_ok(f, "forged es256 with extensions", l.id, &es.e, as.authdata,
	    as.authdata_len, as.sig, as.sig_len);
	assert_int_equal(audit_count(f, "fido2_verify", "ok"), 3);
	forge_free(&es);
	forge_free(&ed);
}

/* authenticator data: length, encoding, flags, RP ID hash (7.2 F4-F6) */
static void
test_login_authdata(void **state)
{
	struct fixture *f = *state;
	static const unsigned char junk[] = { 0xde, 0xad, 0xbe, 0xef };
	unsigned char zero[AD_MIN];
	struct enrolled_key e;
	struct assertion as, bad;
	struct forge fg;
	struct login l;
	struct key key;

	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	forge_new(COSE_ES256, &fg);
	forge_enroll(f, "alice", &fg);

	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	login_refused(f, "authdata empty", l.id, e.cred_id, e.cred_id_len,
	    as.authdata, 0, as.sig, as.sig_len, &X_MALFORMED);
	/* not burnt by a malformed request: the next one burns it */
	login_refused(f, "authdata 1 byte", l.id, e.cred_id, e.cred_id_len,
	    as.authdata, 1, as.sig, as.sig_len, &X_AUTHDATA);

	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	login_refused(f, "authdata 36 bytes", l.id, e.cred_id, e.cred_id_len,
	    as.authdata, AD_MIN - 1, as.sig, as.sig_len, &X_AUTHDATA);

	/* the CBOR byte string libfido2 keeps, sent as is */
	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	{
		static const struct expect x = {
			TK_ST_WRONG, NULL, false, true, true
		};

		login_refused(f, "authdata CBOR-wrapped", l.id, e.cred_id,
		    e.cred_id_len, as.cbor, as.cbor_len, as.sig, as.sig_len,
		    &x);
	}

	/* trailing junk after a real key's authdata */
	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	bad = as;
	memcpy(bad.authdata + bad.authdata_len, junk, sizeof(junk));
	bad.authdata_len += sizeof(junk);
	login_refused(f, "authdata + junk (soft key)", l.id, e.cred_id,
	    e.cred_id_len, bad.authdata, bad.authdata_len, bad.sig,
	    bad.sig_len, &X_AUTHDATA);
	/* and signed with it: only the junk is wrong */
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP | FLAG_UV, junk, sizeof(junk),
	    l.challenge, &as);
	login_refused(f, "authdata + junk (signed)", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_AUTHDATA);

	/* ED set, no extensions: a real key's data flipped, then signed */
	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	bad = as;
	bad.authdata[32] |= FLAG_ED;
	login_refused(f, "ED without extensions (soft key)", l.id, e.cred_id,
	    e.cred_id_len, bad.authdata, bad.authdata_len, bad.sig,
	    bad.sig_len, &X_AUTHDATA);
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP | FLAG_UV | FLAG_ED, NULL, 0,
	    l.challenge, &as);
	login_refused(f, "ED without extensions (signed)", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_AUTHDATA);

	/* AT in an assertion: no attested credential data belongs there */
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP | FLAG_UV | FLAG_AT, NULL, 0,
	    l.challenge, &as);
	login_refused(f, "AT in an assertion (signed)", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_AUTHDATA);
	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	bad = as;
	bad.authdata[32] |= FLAG_AT;
	login_refused(f, "AT in an assertion (soft key)", l.id, e.cred_id,
	    e.cred_id_len, bad.authdata, bad.authdata_len, bad.sig,
	    bad.sig_len, &X_AUTHDATA);

	/* the RP ID hash of another RP, and all zero, validly signed */
	begin(f, "alice", &l);
	forge_assert(&fg, "other", FLAG_UP | FLAG_UV, NULL, 0, l.challenge,
	    &as);
	login_refused(f, "rpIdHash of another RP", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_RP_FLAGS);
	begin(f, "alice", &l);
	memset(zero, 0, sizeof(zero));
	zero[32] = FLAG_UP | FLAG_UV;
	zero[36] = (unsigned char)++fg.count;
	forge_sign(&fg, zero, sizeof(zero), l.challenge, as.sig, &as.sig_len);
	login_refused(f, "rpIdHash all zero", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, zero, sizeof(zero), as.sig, as.sig_len,
	    &X_RP_FLAGS);

	/* the credentials still work */
	begin(f, "alice", &l);
	get_assert(&key, &e, l.challenge, &as);
	login_ok(f, "soft key after", l.id, &e, as.authdata, as.authdata_len,
	    as.sig, as.sig_len);
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP | FLAG_UV, NULL, 0, l.challenge, &as);
	login_ok(f, "forged after", l.id, &fg.e, as.authdata, as.authdata_len,
	    as.sig, as.sig_len);
	forge_free(&fg);
	key_close(&key);
}

/* UP always, UV when required, and only then (7.2 F5) */
static void
test_login_up_uv(void **state)
{
	struct fixture *f = *state;
	static const char *const lax[] = { "discouraged", "preferred" };
	static const struct expect x_up = {
		TK_ST_WRONG, "user presence missing", false, true, true
	};
	static const struct expect x_uv = {
		TK_ST_WRONG, "user verification missing", false, true, true
	};
	struct assertion as;
	struct forge fg;
	struct login l;
	char err[256];
	size_t i;

	forge_new(COSE_EDDSA, &fg);
	forge_enroll(f, "alice", &fg);
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UV, NULL, 0, l.challenge, &as);
	login_refused(f, "UP=0", l.id, fg.e.cred_id, fg.e.cred_id_len,
	    as.authdata, as.authdata_len, as.sig, as.sig_len, &x_up);
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP, NULL, 0, l.challenge, &as);
	login_refused(f, "UV=0, required", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &x_uv);
	for (i = 0; i < sizeof(lax) / sizeof(lax[0]); i++) {
		assert_int_equal(tk_conf_set(&f->conf, "fido2",
		    "user_verification", lax[i], err, sizeof(err)), 0);
		begin(f, "alice", &l);
		forge_assert(&fg, RP, FLAG_UP, NULL, 0, l.challenge, &as);
		login_ok(f, lax[i], l.id, &fg.e, as.authdata, as.authdata_len,
		    as.sig, as.sig_len);
		/* UP is still needed */
		begin(f, "alice", &l);
		forge_assert(&fg, RP, FLAG_UV, NULL, 0, l.challenge, &as);
		login_refused(f, "UP=0, UV not required", l.id, fg.e.cred_id,
		    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
		    as.sig_len, &x_up);
	}
	/* required again: the challenge carries the policy of its BEGIN */
	assert_int_equal(tk_conf_set(&f->conf, "fido2", "user_verification",
	    "required", err, sizeof(err)), 0);
	begin(f, "alice", &l);
	forge_assert(&fg, RP, FLAG_UP, NULL, 0, l.challenge, &as);
	login_refused(f, "UV=0, required again", l.id, fg.e.cred_id,
	    fg.e.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &x_uv);
	forge_free(&fg);
}

/* the signature: encoding, data, key, algorithm (7.2 F7) */
static void
test_login_signature(void **state)
{
	struct fixture *f = *state;
	unsigned char other[TK_FIDO2_CHALLENGE_BYTES];
	struct enrolled_key e1, e2, ed;
	struct assertion as, bad;
	struct login l;
	struct key k1, k2;
	size_t rl, sl;

	key_open(f, "key1", &k1);
	key_open(f, "key2", &k2);
	enroll_key(f, "alice", &k1, COSE_ES256, &e1);
	enroll_key(f, "alice", &k2, COSE_ES256, &e2);
	enroll_key(f, "alice", &k1, COSE_EDDSA, &ed);

	begin(f, "alice", &l);
	get_assert(&k1, &e1, l.challenge, &as);
	login_refused(f, "signature empty", l.id, e1.cred_id, e1.cred_id_len,
	    as.authdata, as.authdata_len, as.sig, 0, &X_MALFORMED);
	login_refused(f, "signature 1 byte", l.id, e1.cred_id,
	    e1.cred_id_len, as.authdata, as.authdata_len, as.sig, 1,
	    &X_BADSIG);

	begin(f, "alice", &l);
	get_assert(&k1, &e1, l.challenge, &as);
	login_refused(f, "signature truncated DER", l.id, e1.cred_id,
	    e1.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len - 5, &X_BADSIG);

	/* a valid signature, over the data of another challenge */
	begin(f, "alice", &l);
	randombytes_buf(other, sizeof(other));
	get_assert(&k1, &e1, other, &as);
	login_refused(f, "signature over other data", l.id, e1.cred_id,
	    e1.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_BADSIG);

	/* the right data, signed by alice's other key */
	begin(f, "alice", &l);
	get_assert(&k2, &e2, l.challenge, &as);
	login_refused(f, "signature by another key of the user", l.id,
	    e1.cred_id, e1.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_BADSIG);

	/* one bit of r, one bit of s: 30 L 02 rl r.. 02 sl s.. */
	begin(f, "alice", &l);
	get_assert(&k1, &e1, l.challenge, &as);
	assert_int_equal(as.sig[0], 0x30);
	assert_int_equal(as.sig[2], 0x02);
	rl = as.sig[3];
	assert_int_equal(as.sig[4 + rl], 0x02);
	sl = as.sig[5 + rl];
	assert_int_equal(6 + rl + sl, as.sig_len);
	bad = as;
	bad.sig[4 + rl / 2] ^= 0x10;
	login_refused(f, "bit flip in r", l.id, e1.cred_id, e1.cred_id_len,
	    bad.authdata, bad.authdata_len, bad.sig, bad.sig_len, &X_BADSIG);
	begin(f, "alice", &l);
	get_assert(&k1, &e1, l.challenge, &as);
	rl = as.sig[3];
	sl = as.sig[5 + rl];
	bad = as;
	bad.sig[6 + rl + sl / 2] ^= 0x10;
	login_refused(f, "bit flip in s", l.id, e1.cred_id, e1.cred_id_len,
	    bad.authdata, bad.authdata_len, bad.sig, bad.sig_len, &X_BADSIG);

	/* an EdDSA signature (same key, same data) for the ES256 credential */
	begin(f, "alice", &l);
	get_assert(&k1, &ed, l.challenge, &as);
	assert_int_equal(as.sig_len, 64);
	login_refused(f, "EdDSA signature for an ES256 credential", l.id,
	    e1.cred_id, e1.cred_id_len, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_BADSIG);

	/* the credentials still work */
	begin(f, "alice", &l);
	get_assert(&k1, &e1, l.challenge, &as);
	login_ok(f, "after", l.id, &e1, as.authdata, as.authdata_len, as.sig,
	    as.sig_len);
	key_close(&k1);
	key_close(&k2);
}

/* the credential id (7.2 F2) */
static void
test_login_cred_id(void **state)
{
	struct fixture *f = *state;
	unsigned char junk[TK_FIDO2_CRED_ID_MAX], longer[TK_FIDO2_CRED_ID_MAX];
	struct enrolled_key e, eb;
	struct assertion as;
	struct login l;
	struct key ka, kb;

	key_open(f, "keya", &ka);
	key_open(f, "keyb", &kb);
	enroll_key(f, "alice", &ka, COSE_ES256, &e);
	enroll_key(f, "bob", &kb, COSE_ES256, &eb);

	begin(f, "alice", &l);
	get_assert(&ka, &e, l.challenge, &as);
	login_refused(f, "cred id empty", l.id, e.cred_id, 0, as.authdata,
	    as.authdata_len, as.sig, as.sig_len, &X_MALFORMED);
	randombytes_buf(junk, sizeof(junk));
	login_refused(f, "cred id 1024 bytes of junk", l.id, junk,
	    sizeof(junk), as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &X_UNKNOWN_CRED);

	/* bob's credential, signed by bob's key over alice's challenge */
	begin(f, "alice", &l);
	get_assert(&kb, &eb, l.challenge, &as);
	login_refused(f, "cred id of another user", l.id, eb.cred_id,
	    eb.cred_id_len, as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &X_UNKNOWN_CRED);

	begin(f, "alice", &l);
	get_assert(&ka, &e, l.challenge, &as);
	assert_true(e.cred_id_len < sizeof(longer));
	memcpy(longer, e.cred_id, e.cred_id_len);
	longer[e.cred_id_len] = 0x00;
	login_refused(f, "cred id with a trailing byte", l.id, longer,
	    e.cred_id_len + 1, as.authdata, as.authdata_len, as.sig,
	    as.sig_len, &X_UNKNOWN_CRED);
	key_close(&ka);
	key_close(&kb);
}

/* the challenge id (F1: the stored challenge, its user and purpose) */
static void
test_login_challenge_id(void **state)
{
	struct fixture *f = *state;
	static const struct expect x_nochal = {
		TK_ST_WRONG, "no such challenge", false, false, true
	};
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	struct enrolled_key e, eb;
	struct assertion as;
	struct login l, lb;
	struct key ka, kb;
	uint64_t echid;

	key_open(f, "keya", &ka);
	key_open(f, "keyb", &kb);
	enroll_key(f, "alice", &ka, COSE_ES256, &e);
	enroll_key(f, "bob", &kb, COSE_ES256, &eb);

	begin(f, "alice", &l);
	get_assert(&ka, &e, l.challenge, &as);
	login_refused(f, "challenge id 0", 0, e.cred_id, e.cred_id_len,
	    as.authdata, as.authdata_len, as.sig, as.sig_len, &X_MALFORMED);
	login_refused(f, "challenge id 2^64-1", UINT64_MAX, e.cred_id,
	    e.cred_id_len, as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &X_MALFORMED);
	login_refused(f, "challenge id 2^63-1", INT64_MAX, e.cred_id,
	    e.cred_id_len, as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &x_nochal);

	/* an enrollment challenge of alice's: another purpose */
	enroll_begin_fido2(f, "alice", &echid, ch, handle);
	begin(f, "alice", &l);
	get_assert(&ka, &e, ch, &as);
	login_refused(f, "enrollment challenge", echid, e.cred_id,
	    e.cred_id_len, as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &x_nochal);
	assert_int_equal(challenge_used(f, echid), 0);

	/* bob's login challenge, answered with alice's key */
	begin(f, "bob", &lb);
	begin(f, "alice", &l);
	get_assert(&ka, &e, lb.challenge, &as);
	login_refused(f, "another user's login challenge", lb.id, e.cred_id,
	    e.cred_id_len, as.authdata, as.authdata_len, as.sig, as.sig_len,
	    &x_nochal);
	/* bob can still log in on his challenge */
	{
		struct assertion asb;
		tk_msg_t *an;
		bool decoded;

		get_assert(&kb, &eb, lb.challenge, &asb);
		an = wire(f, &f->root, finish_rq("bob", lb.id, eb.cred_id,
		    eb.cred_id_len, asb.authdata, asb.authdata_len, asb.sig,
		    asb.sig_len), &decoded);
		assert_int_equal(tk_msg_status(an), TK_ST_OK);
		tk_msg_free(&an);
	}

	/* and alice's own challenge, untouched by all this, still works */
	get_assert(&ka, &e, l.challenge, &as);
	login_ok(f, "after", l.id, &e, as.authdata, as.authdata_len, as.sig,
	    as.sig_len);
	key_close(&ka);
	key_close(&kb);
}

/* --- enrollment (7.1) --------------------------------------------------- */

/* FIDO2_ENROLL_FINISH by the admin that must be refused */
static void
enroll_refused(struct fixture *f, const char *what, const char *user,
    uint64_t chid, tk_msg_t *rq, const struct expect *x)
{
	refused(f, what, &f->admin, user, "fido2_enroll", chid, rq, x);
}

static const struct expect X_E_WRONG = {	/* any reason */
	TK_ST_WRONG, NULL, false, true, false
};
static const struct expect X_E_AUTHDATA = {
	TK_ST_WRONG, "authenticator data malformed", false, true, false
};

static void
test_enroll_fmt(void **state)
{
	struct fixture *f = *state;
	static const char *const fmts[] = { "tpm", "fido-u2f", "", "apple",
	    "android-key", "Packed", "packed " };
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	struct key key;
	fido_cred_t *c;
	uint64_t chid;
	size_t i;

	key_open(f, "key1", &key);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char what[64];
		tk_msg_t *rq;

		enroll_begin_fido2(f, "alice", &chid, ch, handle);
		c = make_cred(&key, COSE_ES256, RP, ch, handle);
		(void)snprintf(what, sizeof(what), "fmt \"%s\"", fmts[i]);
		rq = enroll_rq("alice", chid, "es256", fmts[i],
		    fido_cred_authdata_raw_ptr(c),
		    fido_cred_authdata_raw_len(c), fido_cred_sig_ptr(c),
		    fido_cred_sig_len(c), NULL, 0);
		enroll_refused(f, what, "alice", chid, rq, &X_E_WRONG);
		fido_cred_free(&c);
	}
	/* basic attestation relabelled fido-u2f: a packed statement */
	sk_key_config(key.k)->attestation = SK_ATT_BASIC;
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	assert_true(fido_cred_x5c_len(c) > 0);
	enroll_refused(f, "fmt fido-u2f, packed basic statement", "alice",
	    chid, enroll_rq("alice", chid, "es256", "fido-u2f",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), fido_cred_x5c_ptr(c),
	    fido_cred_x5c_len(c)), &X_E_WRONG);
	fido_cred_free(&c);
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 0);
	key_close(&key);
}

static void
test_enroll_authdata(void **state)
{
	struct fixture *f = *state;
	static const unsigned char aaguid[16] = { 0x66, 0x6f, 0x72, 0x67 };
	static const unsigned char junk[] = { 0xde, 0xad, 0xbe, 0xef };
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	unsigned char ad[TK_FIDO2_AUTHDATA_MAX];
	struct forge fg;
	struct key key;
	fido_cred_t *c;
	uint64_t chid;
	size_t n;

	key_open(f, "key1", &key);
	forge_new(COSE_ES256, &fg);

	/* ALGORITHM says eddsa, the attested key is ES256 */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_refused(f, "eddsa for an ES256 key", "alice", chid,
	    enroll_rq_cred("alice", chid, "eddsa", c), &X_E_AUTHDATA);
	fido_cred_free(&c);
	/* and the other way round */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_EDDSA, RP, ch, handle);
	enroll_refused(f, "es256 for an EdDSA key", "alice", chid,
	    enroll_rq_cred("alice", chid, "es256", c), &X_E_AUTHDATA);
	fido_cred_free(&c);

	/* a real key's data with AT cleared */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	n = fido_cred_authdata_raw_len(c);
	memcpy(ad, fido_cred_authdata_raw_ptr(c), n);
	ad[32] &= (unsigned char)~FLAG_AT;
	enroll_refused(f, "AT cleared (soft key)", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed", ad, n,
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), NULL, 0), &X_E_WRONG);
	/* truncated inside the COSE key */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	enroll_refused(f, "truncated in the COSE key (soft key)", "alice",
	    chid, enroll_rq("alice", chid, "es256", "packed", ad, n - 10,
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), NULL, 0),
	    &X_E_AUTHDATA);
	fido_cred_free(&c);

	/* the same, validly signed: only the structure is wrong */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV, aaguid, ad);
	enroll_refused(f, "AT cleared, data present (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_WRONG);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_head(RP, FLAG_UP | FLAG_UV, 0, ad);
	enroll_refused(f, "no attested credential data (signed)", "alice",
	    chid, forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_WRONG);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_head(RP, FLAG_UP | FLAG_UV | FLAG_AT, 0, ad);
	enroll_refused(f, "AT set, no attested data (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_AUTHDATA);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV | FLAG_AT, aaguid, ad);
	enroll_refused(f, "truncated in the COSE key (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n - 10),
	    &X_E_AUTHDATA);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV | FLAG_AT, aaguid, ad);
	memcpy(ad + n, junk, sizeof(junk));
	enroll_refused(f, "junk after the COSE key (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n + sizeof(junk)),
	    &X_E_AUTHDATA);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV | FLAG_AT | FLAG_ED,
	    aaguid, ad);
	enroll_refused(f, "ED without extensions (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_AUTHDATA);
	/* UP=0 at registration (7.1) */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UV | FLAG_AT, aaguid, ad);
	enroll_refused(f, "UP=0 at registration (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_WRONG);
	/* the RP ID hash of another RP */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV | FLAG_AT, aaguid, ad);
	crypto_hash_sha256(ad, (const unsigned char *)"other", 5);
	enroll_refused(f, "rpIdHash of another RP (signed)", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &X_E_WRONG);

	/* positive control: the same forged registration, well-formed */
	forge_enroll(f, "alice", &fg);
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 1);
	forge_free(&fg);
	key_close(&key);
}

static void
test_enroll_sig_x5c(void **state)
{
	struct fixture *f = *state;
	static const unsigned char junk_der[] = {
		0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00, 0xde, 0xad
	};
	static const struct expect x_nosig = {
		TK_ST_WRONG, "attestation signature missing", false, true,
		false
	};
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES], ch2[sizeof(ch)];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	struct key key, key2;
	fido_cred_t *c, *c2;
	uint64_t chid, chid2;

	key_open(f, "key1", &key);
	key_open(f, "key2", &key2);

	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_refused(f, "packed without sig", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    NULL, 0, NULL, 0), &x_nosig);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	enroll_refused(f, "packed with an empty sig", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), 0, NULL, 0), &x_nosig);
	fido_cred_free(&c);

	/* a self attestation with a junk certificate added */
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_refused(f, "x5c junk DER", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), junk_der,
	    sizeof(junk_der)), &X_E_WRONG);
	fido_cred_free(&c);

	/* basic attestation whose certificate is another key's */
	sk_key_config(key.k)->attestation = SK_ATT_BASIC;
	sk_key_config(key2.k)->attestation = SK_ATT_BASIC;
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_begin_fido2(f, "alice", &chid2, ch2, handle);
	c2 = make_cred(&key2, COSE_ES256, RP, ch2, handle);
	assert_true(fido_cred_x5c_len(c) > 0 && fido_cred_x5c_len(c2) > 0);
	assert_false(fido_cred_x5c_len(c) == fido_cred_x5c_len(c2) &&
	    memcmp(fido_cred_x5c_ptr(c), fido_cred_x5c_ptr(c2),
	    fido_cred_x5c_len(c)) == 0);
	enroll_refused(f, "x5c of another key", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), fido_cred_x5c_ptr(c2),
	    fido_cred_x5c_len(c2)), &X_E_WRONG);
	/* a self attestation's signature with a certificate added */
	sk_key_config(key.k)->attestation = SK_ATT_SELF;
	fido_cred_free(&c);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_refused(f, "self signature, basic x5c", "alice", chid,
	    enroll_rq("alice", chid, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c),
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c), fido_cred_x5c_ptr(c2),
	    fido_cred_x5c_len(c2)), &X_E_WRONG);
	/* a basic attestation's statement without its certificate */
	enroll_refused(f, "basic signature, no x5c", "alice", chid2,
	    enroll_rq("alice", chid2, "es256", "packed",
	    fido_cred_authdata_raw_ptr(c2), fido_cred_authdata_raw_len(c2),
	    fido_cred_sig_ptr(c2), fido_cred_sig_len(c2), NULL, 0),
	    &X_E_WRONG);
	fido_cred_free(&c);
	fido_cred_free(&c2);
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 0);
	key_close(&key);
	key_close(&key2);
}

/* F9: a credential id is registered once, for anyone */
static void
test_enroll_duplicate(void **state)
{
	struct fixture *f = *state;
	static const unsigned char aaguid[16] = { 0x66, 0x6f, 0x72, 0x67 };
	static const struct expect x_exists = {
		TK_ST_EXISTS, "credential id already registered", false, true,
		false
	};
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES], ch1[sizeof(ch)];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	unsigned char ad[TK_FIDO2_AUTHDATA_MAX];
	struct enrolled_key e;
	struct forge fg;
	struct key key;
	fido_cred_t *c;
	uint64_t chid, chid1;
	size_t n;

	/* a real key's FINISH replayed on a fresh challenge */
	key_open(f, "key1", &key);
	enroll_begin_fido2(f, "alice", &chid1, ch1, handle);
	c = make_cred(&key, COSE_ES256, RP, ch1, handle);
	enroll_ok(f, "alice", enroll_rq_cred("alice", chid1, "es256", c), &e);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	enroll_refused(f, "replayed FINISH, fresh challenge", "alice", chid,
	    enroll_rq_cred("alice", chid, "es256", c), &X_E_WRONG);
	enroll_begin_fido2(f, "bob", &chid, ch, handle);
	enroll_refused(f, "replayed FINISH, for bob", "bob", chid,
	    enroll_rq_cred("bob", chid, "es256", c), &X_E_WRONG);
	/* on its own, burnt challenge */
	{
		static const struct expect x = {
			TK_ST_REPLAY, NULL, false, false, false
		};

		enroll_refused(f, "replayed FINISH, same challenge", "alice",
		    chid1, enroll_rq_cred("alice", chid1, "es256", c), &x);
	}
	fido_cred_free(&c);

	/* the same credential id, validly attested over a fresh challenge */
	forge_new(COSE_ES256, &fg);
	forge_enroll(f, "alice", &fg);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	n = forge_reg_authdata(&fg, FLAG_UP | FLAG_UV | FLAG_AT, aaguid, ad);
	enroll_refused(f, "same credential id again", "alice", chid,
	    forge_enroll_rq(&fg, "alice", chid, ch, ad, n), &x_exists);
	enroll_begin_fido2(f, "bob", &chid, ch, handle);
	enroll_refused(f, "same credential id for bob", "bob", chid,
	    forge_enroll_rq(&fg, "bob", chid, ch, ad, n), &x_exists);
	/* the same id with another key behind it */
	{
		struct forge fg2;

		forge_new(COSE_ES256, &fg2);
		memcpy(fg2.cred_id, fg.cred_id, sizeof(fg.cred_id));
		enroll_begin_fido2(f, "bob", &chid, ch, handle);
		n = forge_reg_authdata(&fg2, FLAG_UP | FLAG_UV | FLAG_AT,
		    aaguid, ad);
		enroll_refused(f, "same credential id, another key", "bob",
		    chid, forge_enroll_rq(&fg2, "bob", chid, ch, ad, n),
		    &x_exists);
		forge_free(&fg2);
	}
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 2);
	forge_free(&fg);
	key_close(&key);
}

static void
test_enroll_aaguid(void **state)
{
	struct fixture *f = *state;
	static const struct expect x = {
		TK_ST_NOT_ALLOWED, "key model not allowed", false, true, false
	};
	unsigned char ch[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES];
	struct key key;
	fido_cred_t *c;
	char err[256];
	uint64_t chid;

	key_open(f, "key1", &key);
	assert_int_equal(tk_conf_set(&f->conf, "fido2", "allowed_aaguids",
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", err, sizeof(err)), 0);
	enroll_begin_fido2(f, "alice", &chid, ch, handle);
	c = make_cred(&key, COSE_ES256, RP, ch, handle);
	enroll_refused(f, "aaguid not allowed", "alice", chid,
	    enroll_rq_cred("alice", chid, "es256", c), &x);
	fido_cred_free(&c);
	key_close(&key);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_fido2, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_forge_positive_control),
		T(test_login_authdata),
		T(test_login_up_uv),
		T(test_login_signature),
		T(test_login_cred_id),
		T(test_login_challenge_id),
		T(test_enroll_fmt),
		T(test_enroll_authdata),
		T(test_enroll_sig_x5c),
		T(test_enroll_duplicate),
		T(test_enroll_aaguid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
