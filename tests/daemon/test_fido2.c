/*
 * test_fido2.c -- tokend's FIDO2 handlers (h_fido2.c, fido2.c) against a
 * real store, with attestations and assertions made by the real libfido2
 * talking to the software authenticator of tests/softkey: enrollment
 * (self and basic attestation, ES256 and EdDSA, "none" refused, AAGUID
 * policy, UV policy, duplicate ids, challenge states), login (replay,
 * expiry, another user's or RP's credential, tampering, cloned keys and
 * reinstatement, keys without a counter, revocation, throttling), and
 * the audit row of every answer.
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

#include "err.h"
#include "fido2.h"
#include "fixture.h"
#include "softkey.h"

#define RP		"tokend"	/* the fixture's [fido2] rp_id */

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

/* an assertion as the PAM module would send it */
struct assertion {
	unsigned char	 authdata[TK_FIDO2_AUTHDATA_MAX];
	size_t		 authdata_len;
	unsigned char	 sig[TK_FIDO2_SIG_MAX];
	size_t		 sig_len;
	uint32_t	 count;
};

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

static int
setup_fido2(void **state)
{
	tk_fido2_init();
	return (setup(state));
}

/* --- enrollment ------------------------------------------------------- */

static tk_msg_t *
enroll_begin_fido2(struct fixture *f, const char *user, const char *uv)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_ENROLL_BEGIN, user);

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_LABEL, "yubikey"), 0);
	if (uv != NULL)
		assert_int_equal(tk_msg_set_text(rq, TK_KEY_UV, uv), 0);
	return (run(f, tk_handle_fido2_enroll_begin, &f->admin, rq));
}

/* a credential made on `key' for `rp' over challenge `cdh' */
static fido_cred_t *
make_cred(struct key *key, int cose, const char *rp,
    const unsigned char *cdh, const unsigned char *handle, fido_opt_t uv)
{
	fido_cred_t *c;

	assert_non_null(c = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c, cose), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c, cdh,
	    TK_FIDO2_CHALLENGE_BYTES), FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c, rp, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c, handle,
	    TK_FIDO2_USER_HANDLE_BYTES, "alice", NULL, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_uv(c, uv), FIDO_OK);
	assert_int_equal(fido_dev_make_cred(key->dev, c, NULL), FIDO_OK);
	return (c);
}

/* FIDO2_ENROLL_FINISH of credential `c' on challenge `chid' */
static tk_msg_t *
enroll_finish(struct fixture *f, const char *user, uint64_t chid,
    const char *alg, const fido_cred_t *c)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_ENROLL_FINISH, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_ALGORITHM, alg), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_FMT, fido_cred_fmt(c)),
	    0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA,
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c)), 0);
	if (fido_cred_sig_len(c) > 0)
		assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG,
		    fido_cred_sig_ptr(c), fido_cred_sig_len(c)), 0);
	if (fido_cred_x5c_len(c) > 0)
		assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_X5C,
		    fido_cred_x5c_ptr(c), fido_cred_x5c_len(c)), 0);
	return (run(f, tk_handle_fido2_enroll_finish, &f->admin, rq));
}

/*
 * A whole enrollment of a credential of `cose' on `key' for `user';
 * returns the FINISH status, and *e on success.
 */
static enum tk_status
enroll_key_as(struct fixture *f, const char *user, struct key *key, int cose,
    const char *uv, struct enrolled_key *e)
{
	const unsigned char *ch, *handle, *p;
	size_t len, hlen;
	fido_cred_t *c;
	tk_msg_t *an;
	uint64_t chid;
	enum tk_status st;

	an = enroll_begin_fido2(f, user, uv);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(len, TK_FIDO2_CHALLENGE_BYTES);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &hlen), 0);
	assert_int_equal(hlen, TK_FIDO2_USER_HANDLE_BYTES);
	c = make_cred(key, cose, RP, ch, handle, uv != NULL &&
	    strcmp(uv, "required") != 0 ? FIDO_OPT_OMIT : FIDO_OPT_TRUE);
	tk_msg_free(&an);
	an = enroll_finish(f, user, chid, cose == COSE_EDDSA ? "eddsa" :
	    "es256", c);
	st = tk_msg_status(an);
	if (st == TK_ST_OK && e != NULL) {
		memset(e, 0, sizeof(*e));
		e->id = an_uint(an, TK_KEY_CRED);
		assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CRED_ID, &p,
		    &len), 0);
		assert_int_equal(len, fido_cred_id_len(c));
		assert_memory_equal(p, fido_cred_id_ptr(c), len);
		memcpy(e->cred_id, p, len);
		e->cred_id_len = len;
		assert_int_equal(tk_msg_get_bytes(an, TK_KEY_AAGUID, &p,
		    &len), 0);
		assert_int_equal(len, 16);
		assert_memory_equal(p, sk_key_config(key->k)->aaguid, 16);
		assert_string_equal(tk_msg_get_text(an, TK_KEY_ALGORITHM),
		    cose == COSE_EDDSA ? "eddsa" : "es256");
		assert_string_equal(tk_msg_get_text(an, TK_KEY_FMT),
		    fido_cred_fmt(c));
		assert_string_equal(tk_msg_get_text(an, TK_KEY_STATE),
		    "active");
	}
	fido_cred_free(&c);
	tk_msg_free(&an);
	return (st);
}

static void
enroll_key(struct fixture *f, const char *user, struct key *key, int cose,
    struct enrolled_key *e)
{
	assert_int_equal(enroll_key_as(f, user, key, cose, NULL, e),
	    TK_ST_OK);
}

/* --- login ------------------------------------------------------------ */

static tk_msg_t *
begin_as(struct fixture *f, const char *user)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_BEGIN, user);

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_TTY, "tty1"), 0);
	return (run(f, tk_handle_fido2_begin, &f->root, rq));
}

/* FIDO2_BEGIN that must give a challenge */
static void
begin(struct fixture *f, const char *user, struct login *l)
{
	const unsigned char *p;
	size_t len;
	tk_msg_t *an = begin_as(f, user);

	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	l->id = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &p, &len), 0);
	assert_int_equal(len, sizeof(l->challenge));
	memcpy(l->challenge, p, len);
	tk_msg_free(&an);
}

/* strips the CBOR byte string header libfido2 keeps around authdata */
static void
authdata_raw(const unsigned char *cbor, size_t len, struct assertion *as)
{
	size_t hdr, n;

	assert_true(len > 1);
	if (cbor[0] >= 0x40 && cbor[0] <= 0x57) {
		hdr = 1;
		n = cbor[0] - 0x40u;
	} else if (cbor[0] == 0x58) {
		hdr = 2;
		n = cbor[1];
	} else {
		assert_int_equal(cbor[0], 0x59);
		hdr = 3;
		n = ((size_t)cbor[1] << 8) | cbor[2];
	}
	assert_int_equal(n, len - hdr);
	assert_true(n <= sizeof(as->authdata));
	memcpy(as->authdata, cbor + hdr, n);
	as->authdata_len = n;
}

/* an assertion by `key' of credential `e' for `rp' over `challenge' */
static void
get_assert(struct key *key, const struct enrolled_key *e, const char *rp,
    const unsigned char *challenge, struct assertion *as)
{
	fido_assert_t *a;

	memset(as, 0, sizeof(*as));
	assert_non_null(a = fido_assert_new());
	assert_int_equal(fido_assert_set_clientdata_hash(a, challenge,
	    TK_FIDO2_CHALLENGE_BYTES), FIDO_OK);
	assert_int_equal(fido_assert_set_rp(a, rp), FIDO_OK);
	assert_int_equal(fido_assert_allow_cred(a, e->cred_id,
	    e->cred_id_len), FIDO_OK);
	assert_int_equal(fido_assert_set_uv(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(key->dev, a, NULL), FIDO_OK);
	authdata_raw(fido_assert_authdata_ptr(a, 0),
	    fido_assert_authdata_len(a, 0), as);
	assert_true(fido_assert_sig_len(a, 0) <= sizeof(as->sig));
	memcpy(as->sig, fido_assert_sig_ptr(a, 0), fido_assert_sig_len(a, 0));
	as->sig_len = fido_assert_sig_len(a, 0);
	as->count = fido_assert_sigcount(a, 0);
	fido_assert_free(&a);
}

static tk_msg_t *
finish_as(struct fixture *f, const char *user, uint64_t chid,
    const struct enrolled_key *e, const struct assertion *as)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_FINISH, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_CRED_ID, e->cred_id,
	    e->cred_id_len), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA, as->authdata,
	    as->authdata_len), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG, as->sig,
	    as->sig_len), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	return (run(f, tk_handle_fido2_finish, &f->root, rq));
}

/* FIDO2_FINISH; returns the status, *failures when present */
static enum tk_status
finish(struct fixture *f, const char *user, uint64_t chid,
    const struct enrolled_key *e, const struct assertion *as,
    uint64_t *failures)
{
	tk_msg_t *an = finish_as(f, user, chid, e, as);
	enum tk_status st = tk_msg_status(an);

	if (failures != NULL) {
		*failures = UINT64_MAX;
		(void)tk_msg_get_uint(an, TK_KEY_FAILURES, failures);
	}
	if (st == TK_ST_OK) {
		assert_int_equal(an_uint(an, TK_KEY_SIGN_COUNT), as->count);
		assert_true(an_uint(an, TK_KEY_CRED) > 0);
	}
	tk_msg_free(&an);
	return (st);
}

/* BEGIN, an assertion by `key', FINISH: the status */
static enum tk_status
login(struct fixture *f, const char *user, struct key *key,
    const struct enrolled_key *e)
{
	struct assertion as;
	struct login l;

	begin(f, user, &l);
	get_assert(key, e, RP, l.challenge, &as);
	return (finish(f, user, l.id, e, &as, NULL));
}

static int
cred_state(struct fixture *f, const char *user, uint64_t id)
{
	struct tk_cred c;
	int state;

	assert_int_equal(tk_store_cred_get(f->store, user, id, &c), 0);
	state = c.state;
	tk_cred_clear(&c);
	return (state);
}

static tk_msg_t *
reinstate(struct fixture *f, const char *user, uint64_t id)
{
	tk_msg_t *rq = rq_new(TK_MSG_CRED_REINSTATE, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, id), 0);
	return (run(f, tk_handle_cred_reinstate, &f->admin, rq));
}

static enum tk_status
reinstate_st(struct fixture *f, const char *user, uint64_t id)
{
	tk_msg_t *an = reinstate(f, user, id);
	enum tk_status st = tk_msg_status(an);

	if (st == TK_ST_OK)
		assert_string_equal(tk_msg_get_text(an, TK_KEY_STATE),
		    "active");
	tk_msg_free(&an);
	return (st);
}

/* the count `sql' returns, read straight from the database */
static int64_t
db_count(struct fixture *f, const char *sql)
{
	return (fx_sql_int64(f, sql, 0));
}

/* --- enrollment tests ------------------------------------------------- */

static void
check_enroll(void **state, int cose, int att)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct key key;
	const tk_msg_t *rec;
	const unsigned char *p;
	size_t len;
	tk_msg_t *an;
	uint64_t factors, failures;
	bool locked;

	key_open(f, "key1", &key);
	sk_key_config(key.k)->attestation = att;
	enroll_key(f, "alice", &key, cose, &e);
	assert_true(e.id > 0);
	assert_int_equal(cred_state(f, "alice", e.id), TK_CRED_ACTIVE);

	/* USER_STATUS has the factor; CRED_LIST the record */
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_FIDO2);
	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, "alice"));
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 1);
	rec = tk_msg_record(an, TK_KEY_CREDS, 0);
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_KIND), "fido2");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_STATE), "active");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_LABEL), "yubikey");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_ALGORITHM),
	    cose == COSE_EDDSA ? "eddsa" : "es256");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_FMT), "packed");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_UV), "required");
	assert_int_equal(tk_msg_get_bytes(rec, TK_KEY_AAGUID, &p, &len), 0);
	assert_memory_equal(p, sk_key_config(key.k)->aaguid, 16);
	assert_false(tk_msg_has(rec, TK_KEY_CRED_ID));
	tk_msg_free(&an);

	/* the next enrollment excludes it */
	an = enroll_begin_fido2(f, "alice", NULL);
	assert_int_equal(tk_msg_count(an, TK_KEY_CRED_IDS), 1);
	rec = tk_msg_record(an, TK_KEY_CRED_IDS, 0);
	assert_int_equal(tk_msg_get_bytes(rec, TK_KEY_CRED_ID, &p, &len), 0);
	assert_int_equal(len, e.cred_id_len);
	assert_memory_equal(p, e.cred_id, len);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_RP_ID), RP);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_ALGORITHMS),
	    "es256,eddsa,rs256");
	assert_string_equal(tk_msg_get_text(an, TK_KEY_UV), "required");
	assert_int_equal(an_uint(an, TK_KEY_EXPIRES), T0 + 300);
	tk_msg_free(&an);

	/* and it logs in */
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	assert_int_equal(audit_count(f, "fido2_enroll_begin", "ok"), 2);
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 1);
	assert_int_equal(audit_count(f, "fido2_challenge", "ok"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "ok"), 1);
	key_close(&key);
}

static void
test_enroll_es256_self(void **state)
{
	check_enroll(state, COSE_ES256, SK_ATT_SELF);
}

static void
test_enroll_es256_basic(void **state)
{
	check_enroll(state, COSE_ES256, SK_ATT_BASIC);
}

static void
test_enroll_eddsa_self(void **state)
{
	check_enroll(state, COSE_EDDSA, SK_ATT_SELF);
}

static void
test_enroll_eddsa_basic(void **state)
{
	check_enroll(state, COSE_EDDSA, SK_ATT_BASIC);
}

static void
test_enroll_none_refused(void **state)
{
	struct fixture *f = *state;
	struct key key;

	key_open(f, "key1", &key);
	sk_key_config(key.k)->attestation = SK_ATT_NONE;
	assert_int_equal(enroll_key_as(f, "alice", &key, COSE_ES256, NULL,
	    NULL), TK_ST_NOT_ALLOWED);
	assert_int_equal(audit_containing(f, "attestation format none "
	    "refused"), 1);
	assert_int_equal(audit_count(f, "fido2_enroll", "not_allowed"), 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM credentials"), 0);
	key_close(&key);
}

static void
test_enroll_aaguid_policy(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct key key;
	char err[256];

	key_open(f, "key1", &key);
	assert_int_equal(sk_key_set_option(key.k, "aaguid",
	    "11111111-2222-3333-4444-555555555555"), 0);
	/* another model only: refused, and the audit names the model */
	assert_int_equal(tk_conf_set(&f->conf, "fido2", "allowed_aaguids",
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", err, sizeof(err)), 0);
	assert_int_equal(enroll_key_as(f, "alice", &key, COSE_ES256, NULL,
	    NULL), TK_ST_NOT_ALLOWED);
	assert_int_equal(audit_containing(f,
	    "AAGUID 11111111-2222-3333-4444-555555555555"), 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM credentials"), 0);
	/* listed: accepted */
	assert_int_equal(tk_conf_set(&f->conf, "fido2", "allowed_aaguids",
	    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee,"
	    "11111111-2222-3333-4444-555555555555", err, sizeof(err)), 0);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	key_close(&key);
}

static void
test_enroll_uv_policy(void **state)
{
	struct fixture *f = *state;
	struct key key;

	key_open(f, "key1", &key);
	sk_key_config(key.k)->builtin_uv = false;
	/* required (the default), made without UV: refused */
	assert_int_equal(enroll_key_as(f, "alice", &key, COSE_ES256,
	    "preferred", NULL), TK_ST_OK);
	{
		const unsigned char *ch, *handle;
		size_t len;
		fido_cred_t *c;
		tk_msg_t *an = enroll_begin_fido2(f, "bob", NULL);
		uint64_t chid = an_uint(an, TK_KEY_CHALLENGE_ID);

		assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch,
		    &len), 0);
		assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE,
		    &handle, &len), 0);
		c = make_cred(&key, COSE_ES256, RP, ch, handle, FIDO_OPT_OMIT);
		assert_int_equal(fido_cred_flags(c) & TK_FIDO2_FLAG_UV, 0);
		tk_msg_free(&an);
		an = enroll_finish(f, "bob", chid, "es256", c);
		assert_int_equal(tk_msg_status(an), TK_ST_NOT_ALLOWED);
		tk_msg_free(&an);
		fido_cred_free(&c);
	}
	assert_int_equal(audit_containing(f, "user verification required"),
	    1);
	/* a bad UV word is a bad request */
	{
		tk_msg_t *an = enroll_begin_fido2(f, "bob", "sometimes");

		assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
		tk_msg_free(&an);
	}
	assert_int_equal(audit_count(f, "fido2_enroll_begin", "bad_request"),
	    1);
	key_close(&key);
}

static void
test_enroll_duplicate_id(void **state)
{
	struct fixture *f = *state;
	const unsigned char *ch, *handle;
	struct tk_cred c;
	struct key key;
	size_t len;
	fido_cred_t *fc;
	tk_msg_t *an;
	uint64_t chid;

	key_open(f, "key1", &key);
	an = enroll_begin_fido2(f, "bob", NULL);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &len), 0);
	fc = make_cred(&key, COSE_ES256, RP, ch, handle, FIDO_OPT_TRUE);
	tk_msg_free(&an);
	/* meanwhile carol registered the very same credential id */
	memset(&c, 0, sizeof(c));
	strcpy(c.user, "carol");
	c.kind = TK_CRED_FIDO2;
	c.state = TK_CRED_ACTIVE;
	c.created = T0;
	c.algorithm = TK_FIDO2_ES256;
	c.cred_id = (unsigned char *)(uintptr_t)fido_cred_id_ptr(fc);
	c.cred_id_len = fido_cred_id_len(fc);
	c.pubkey = (unsigned char *)(uintptr_t)fido_cred_pubkey_ptr(fc);
	c.pubkey_len = fido_cred_pubkey_len(fc);
	strcpy(c.fmt, "packed");
	assert_int_equal(tk_store_begin(f->store), 0);
	assert_int_equal(tk_store_cred_insert(f->store, &c), 0);
	assert_int_equal(tk_store_commit(f->store), 0);

	an = enroll_finish(f, "bob", chid, "es256", fc);
	assert_int_equal(tk_msg_status(an), TK_ST_EXISTS);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "fido2_enroll", "exists"), 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM credentials "
	    "WHERE \"user\" = 'bob'"), 0);
	fido_cred_free(&fc);
	key_close(&key);
}

static void
test_enroll_challenge_states(void **state)
{
	struct fixture *f = *state;
	const unsigned char *ch, *handle;
	struct key key;
	size_t len;
	fido_cred_t *c;
	tk_msg_t *an;
	uint64_t chid;

	key_open(f, "key1", &key);
	an = enroll_begin_fido2(f, "alice", NULL);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &len), 0);
	c = make_cred(&key, COSE_ES256, RP, ch, handle, FIDO_OPT_TRUE);
	tk_msg_free(&an);

	/* bad input changes nothing: the challenge is still there */
	an = enroll_finish(f, "alice", chid, "dsa", c);
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	/* another user's challenge, an unknown one */
	an = enroll_finish(f, "mallory", chid + 1000, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
	an = enroll_finish(f, "alice", chid, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	tk_msg_free(&an);
	/* used */
	an = enroll_finish(f, "alice", chid, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_REPLAY);
	tk_msg_free(&an);
	fido_cred_free(&c);

	/* a challenge of another user burns and finds nothing */
	an = enroll_begin_fido2(f, "bob", NULL);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &len), 0);
	c = make_cred(&key, COSE_ES256, RP, ch, handle, FIDO_OPT_TRUE);
	tk_msg_free(&an);
	an = enroll_finish(f, "alice", chid, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
	fido_cred_free(&c);

	/* expired: enroll_ttl later */
	an = enroll_begin_fido2(f, "bob", NULL);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &len), 0);
	c = make_cred(&key, COSE_ES256, RP, ch, handle, FIDO_OPT_TRUE);
	tk_msg_free(&an);
	f->now += 300;
	an = enroll_finish(f, "bob", chid, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_EXPIRED);
	tk_msg_free(&an);
	fido_cred_free(&c);

	/* a credential made for another relying party */
	an = enroll_begin_fido2(f, "bob", NULL);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &len), 0);
	c = make_cred(&key, COSE_ES256, "other", ch, handle, FIDO_OPT_TRUE);
	tk_msg_free(&an);
	an = enroll_finish(f, "bob", chid, "es256", c);
	assert_int_equal(tk_msg_status(an), TK_ST_WRONG);
	tk_msg_free(&an);
	fido_cred_free(&c);

	assert_int_equal(audit_count(f, "fido2_enroll", NULL), 7);
	assert_int_equal(audit_count(f, "fido2_enroll", "ok"), 1);
	assert_int_equal(audit_count(f, "fido2_enroll", "replay"), 1);
	assert_int_equal(audit_count(f, "fido2_enroll", "not_found"), 2);
	assert_int_equal(audit_count(f, "fido2_enroll", "expired"), 1);
	assert_int_equal(audit_count(f, "fido2_enroll", "wrong"), 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM credentials"), 1);
	key_close(&key);
}

static void
test_enroll_limit(void **state)
{
	struct fixture *f = *state;
	unsigned char id[8], pk[64];
	struct tk_cred c;
	tk_msg_t *an;
	unsigned i;

	memset(pk, 7, sizeof(pk));
	assert_int_equal(tk_store_begin(f->store), 0);
	for (i = 0; i < TK_FIDO2_CREDS_MAX; i++) {
		memset(&c, 0, sizeof(c));
		memset(id, (int)i, sizeof(id));
		strcpy(c.user, "alice");
		c.kind = TK_CRED_FIDO2;
		c.state = TK_CRED_ACTIVE;
		c.algorithm = TK_FIDO2_ES256;
		c.cred_id = id;
		c.cred_id_len = sizeof(id);
		c.pubkey = pk;
		c.pubkey_len = sizeof(pk);
		strcpy(c.fmt, "packed");
		assert_int_equal(tk_store_cred_insert(f->store, &c), 0);
	}
	assert_int_equal(tk_store_commit(f->store), 0);
	an = enroll_begin_fido2(f, "alice", NULL);
	assert_int_equal(tk_msg_status(an), TK_ST_EXISTS);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "fido2_enroll_begin", "exists"), 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 0);
}

/* --- login tests ------------------------------------------------------ */

static void
test_login_begin(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e1, e2;
	struct key key;
	tk_msg_t *an;
	bool up = false;

	/* unknown user and user without a key: the same answer */
	an = begin_as(f, "nobody");
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_ENROLLED);
	tk_msg_free(&an);
	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e1);
	enroll_key(f, "alice", &key, COSE_EDDSA, &e2);
	an = begin_as(f, "alice");
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_RP_ID), RP);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_UV), "required");
	assert_int_equal(tk_msg_get_bool(an, TK_KEY_UP, &up), 0);
	assert_true(up);
	assert_int_equal(an_uint(an, TK_KEY_EXPIRES), T0 + 60);
	assert_int_equal(tk_msg_count(an, TK_KEY_CRED_IDS), 2);
	tk_msg_free(&an);
	/* suspended and revoked credentials are not offered */
	assert_int_equal(tk_store_begin(f->store), 0);
	assert_int_equal(tk_store_cred_set_state(f->store, "alice", e1.id,
	    TK_CRED_SUSPENDED), 0);
	assert_int_equal(tk_store_commit(f->store), 0);
	an = begin_as(f, "alice");
	assert_int_equal(tk_msg_count(an, TK_KEY_CRED_IDS), 1);
	tk_msg_free(&an);
	assert_int_equal(tk_store_begin(f->store), 0);
	assert_int_equal(tk_store_cred_set_state(f->store, "alice", e2.id,
	    TK_CRED_REVOKED), 0);
	assert_int_equal(tk_store_commit(f->store), 0);
	an = begin_as(f, "alice");
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_ENROLLED);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "fido2_challenge", "not_enrolled"),
	    2);
	assert_int_equal(audit_count(f, "fido2_challenge", "ok"), 2);
	key_close(&key);
}

static void
test_login_replay_and_expiry(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as;
	struct login l;
	struct key key;
	uint64_t failures;

	f->conf.max_failures = 10;
	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	assert_int_equal(finish(f, "alice", l.id, &e, &as, NULL), TK_ST_OK);
	/* the same assertion again: the challenge is burnt */
	assert_int_equal(finish(f, "alice", l.id, &e, &as, &failures),
	    TK_ST_REPLAY);
	assert_int_equal(failures, 1);
	/* an unknown challenge: a failure */
	f->now += 60;
	assert_int_equal(finish(f, "alice", l.id + 1000, &e, &as, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 2);
	/* expired: not a failure, and burnt */
	f->now += 60;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	f->now += 60;
	assert_int_equal(finish(f, "alice", l.id, &e, &as, &failures),
	    TK_ST_EXPIRED);
	assert_int_equal(failures, 2);
	f->now -= 30;
	assert_int_equal(finish(f, "alice", l.id, &e, &as, &failures),
	    TK_ST_REPLAY);
	assert_int_equal(failures, 3);
	assert_int_equal(audit_count(f, "fido2_verify", "ok"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "replay"), 2);
	assert_int_equal(audit_count(f, "fido2_verify", "wrong"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "expired"), 1);
	key_close(&key);
}

static void
test_login_other_user_or_rp(void **state)
{
	struct fixture *f = *state;
	const unsigned char handle[TK_FIDO2_USER_HANDLE_BYTES] = { 1 };
	struct enrolled_key ea, eb, eo;
	struct assertion as;
	struct tk_cred c;
	struct login l;
	struct key ka, kb;
	fido_cred_t *fc;
	uint64_t failures;

	key_open(f, "keya", &ka);
	key_open(f, "keyb", &kb);
	enroll_key(f, "alice", &ka, COSE_ES256, &ea);
	enroll_key(f, "bob", &kb, COSE_ES256, &eb);
	/* alice's key on bob's challenge */
	begin(f, "bob", &l);
	get_assert(&ka, &ea, RP, l.challenge, &as);
	assert_int_equal(finish(f, "bob", l.id, &ea, &as, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 1);
	assert_int_equal(audit_containing(f, "unknown credential"), 1);

	/* a credential of relying party "other", stored for bob anyway */
	fc = make_cred(&kb, COSE_ES256, "other", handle, handle,
	    FIDO_OPT_TRUE);
	memset(&c, 0, sizeof(c));
	strcpy(c.user, "bob");
	c.kind = TK_CRED_FIDO2;
	c.state = TK_CRED_ACTIVE;
	c.algorithm = TK_FIDO2_ES256;
	c.cred_id = (unsigned char *)(uintptr_t)fido_cred_id_ptr(fc);
	c.cred_id_len = fido_cred_id_len(fc);
	c.pubkey = (unsigned char *)(uintptr_t)fido_cred_pubkey_ptr(fc);
	c.pubkey_len = fido_cred_pubkey_len(fc);
	strcpy(c.fmt, "packed");
	assert_int_equal(tk_store_begin(f->store), 0);
	assert_int_equal(tk_store_cred_insert(f->store, &c), 0);
	assert_int_equal(tk_store_commit(f->store), 0);
	memset(&eo, 0, sizeof(eo));
	memcpy(eo.cred_id, c.cred_id, c.cred_id_len);
	eo.cred_id_len = c.cred_id_len;
	eo.id = c.id;
	fido_cred_free(&fc);
	f->now += 60;
	begin(f, "bob", &l);
	get_assert(&kb, &eo, "other", l.challenge, &as);
	assert_int_equal(finish(f, "bob", l.id, &eo, &as, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 2);
	assert_int_equal(audit_containing(f, "relying party or flags"), 1);
	key_close(&ka);
	key_close(&kb);
}

static void
test_login_tampered(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as, bad;
	struct login l;
	struct key key;
	uint64_t failures;

	f->conf.max_failures = 10;
	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_EDDSA, &e);
	/* one good assertion, then one byte of it flipped */
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.authdata[bad.authdata_len - 1] ^= 0x01;	/* the counter */
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 1);
	/* the good one cannot follow on the burnt challenge */
	f->now += 60;
	assert_int_equal(finish(f, "alice", l.id, &e, &as, NULL),
	    TK_ST_REPLAY);

	f->now += 60;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.sig[3] ^= 0x80;
	f->now += 5;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, NULL),
	    TK_ST_WRONG);
	assert_int_equal(audit_containing(f, "bad signature"), 2);

	/* the RP ID hash */
	f->now += 60;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.authdata[0] ^= 0x01;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 4);
	assert_int_equal(audit_containing(f, "relying party or flags"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "wrong"), 3);
	key_close(&key);
}

static void
test_login_flags(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as, bad;
	struct login l;
	struct key key;

	f->conf.max_failures = 10;
	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.authdata[32] &= (unsigned char)~TK_FIDO2_FLAG_UP;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, NULL),
	    TK_ST_WRONG);
	assert_int_equal(audit_containing(f, "user presence missing"), 1);
	f->now += 60;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.authdata[32] &= (unsigned char)~TK_FIDO2_FLAG_UV;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, NULL),
	    TK_ST_WRONG);
	assert_int_equal(audit_containing(f, "user verification missing"), 1);
	/* a success resets the failures */
	f->now += 60;
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	{
		uint64_t factors, failures;
		bool locked;

		user_status(f, "alice", &factors, &locked, &failures);
		assert_int_equal(failures, 0);
		assert_false(locked);
	}
	key_close(&key);
}

static void
test_clone_suspends(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e, e2;
	struct assertion as;
	struct login l;
	struct key key, key2;
	const tk_msg_t *rec;
	tk_msg_t *an;
	uint64_t factors, failures;
	bool locked;

	f->conf.max_failures = 10;
	key_open(f, "key1", &key);
	key_open(f, "key2", &key2);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	enroll_key(f, "alice", &key2, COSE_EDDSA, &e2);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);

	/* the same counter again: suspended */
	sk_key_config(key.k)->counter = SK_COUNTER_REPEAT;
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_SUSPENDED);
	assert_int_equal(cred_state(f, "alice", e.id), TK_CRED_SUSPENDED);
	assert_int_equal(audit_containing(f, "possible cloned key"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "suspended"), 1);
	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, "alice"));
	rec = tk_msg_record(an, TK_KEY_CREDS, 0);
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_STATE), "suspended");
	tk_msg_free(&an);
	/* a suspended key is refused even with a good counter */
	sk_key_config(key.k)->counter = SK_COUNTER_NORMAL;
	f->now += 60;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	assert_int_equal(finish(f, "alice", l.id, &e, &as, &failures),
	    TK_ST_SUSPENDED);
	assert_int_equal(failures, 2);
	/* the other key still works, and is the only factor left */
	f->now += 60;
	assert_int_equal(login(f, "alice", &key2, &e2), TK_ST_OK);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_FIDO2);

	/* reinstated: the next counter must be above the stored one */
	assert_int_equal(reinstate_st(f, "alice", e.id), TK_ST_OK);
	assert_int_equal(reinstate_st(f, "alice", e.id), TK_ST_BAD_REQUEST);
	assert_int_equal(cred_state(f, "alice", e.id), TK_CRED_ACTIVE);
	assert_int_equal(audit_count(f, "reinstate", "ok"), 1);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	/* a counter that goes back: suspended again */
	assert_int_equal(sk_key_set_counter(key.k, 1000), 0);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	sk_key_config(key.k)->counter = SK_COUNTER_LOWER;
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_SUSPENDED);
	assert_int_equal(reinstate_st(f, "alice", e.id), TK_ST_OK);
	sk_key_config(key.k)->counter = SK_COUNTER_NORMAL;
	assert_int_equal(sk_key_set_counter(key.k, 2000), 0);
	f->now += 60;
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	key_close(&key);
	key_close(&key2);
}

static void
test_counter_zero(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct key key;

	key_open(f, "key1", &key);
	sk_key_config(key.k)->counter = SK_COUNTER_ZERO;
	assert_int_equal(sk_key_set_counter(key.k, 0), 0);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	assert_int_equal(cred_state(f, "alice", e.id), TK_CRED_ACTIVE);
	key_close(&key);
}

static void
test_revoked_and_reinstate_errors(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e, t;
	struct assertion as;
	struct login l;
	struct key key;
	struct enrolled totp;
	tk_msg_t *rq, *an;

	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	enroll_key(f, "alice", &key, COSE_ES256, &t);
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	/* revoked between BEGIN and FINISH: refused */
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, e.id), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	tk_msg_free(&an);
	assert_int_equal(finish(f, "alice", l.id, &e, &as, NULL),
	    TK_ST_WRONG);
	assert_int_equal(audit_containing(f, "credential not active"), 1);

	assert_int_equal(reinstate_st(f, "alice", e.id), TK_ST_NOT_FOUND);
	assert_int_equal(reinstate_st(f, "alice", t.id), TK_ST_BAD_REQUEST);
	assert_int_equal(reinstate_st(f, "alice", 9999), TK_ST_NOT_FOUND);
	assert_int_equal(reinstate_st(f, "bob", t.id), TK_ST_NOT_FOUND);
	enroll_active(f, "alice", 6, NULL, &totp);
	assert_int_equal(reinstate_st(f, "alice", totp.id),
	    TK_ST_BAD_REQUEST);
	assert_int_equal(audit_count(f, "reinstate", NULL), 5);
	key_close(&key);
}

static void
test_throttle_and_lock(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as, bad;
	struct login l;
	struct key key;
	tk_msg_t *an;
	uint64_t failures;

	key_open(f, "key1", &key);
	enroll_key(f, "alice", &key, COSE_ES256, &e);
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.sig[5] ^= 1;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 1);
	/* too soon after it: BEGIN and FINISH are throttled, not counted */
	an = begin_as(f, "alice");
	assert_int_equal(tk_msg_status(an), TK_ST_THROTTLED);
	assert_int_equal(an_uint(an, TK_KEY_RETRY_AFTER), 1);
	tk_msg_free(&an);
	assert_int_equal(finish(f, "alice", l.id, &e, &as, &failures),
	    TK_ST_THROTTLED);
	f->now += 10;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.sig[5] ^= 1;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 2);
	f->now += 10;
	begin(f, "alice", &l);
	get_assert(&key, &e, RP, l.challenge, &as);
	bad = as;
	bad.sig[5] ^= 1;
	assert_int_equal(finish(f, "alice", l.id, &e, &bad, &failures),
	    TK_ST_LOCKED);
	assert_int_equal(failures, 3);
	/* locked: no challenge, and a good assertion does not pass */
	f->now += 1000;
	an = begin_as(f, "alice");
	assert_int_equal(tk_msg_status(an), TK_ST_LOCKED);
	tk_msg_free(&an);
	assert_int_equal(finish(f, "alice", l.id, &e, &as, NULL),
	    TK_ST_LOCKED);
	/* unlocked, the key works again */
	an = run(f, tk_handle_user_unlock, &f->admin,
	    rq_new(TK_MSG_USER_UNLOCK, "alice"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	tk_msg_free(&an);
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK);
	assert_int_equal(audit_count(f, "fido2_verify", "throttled"), 1);
	assert_int_equal(audit_count(f, "fido2_challenge", "throttled"), 1);
	assert_int_equal(audit_count(f, "fido2_challenge", "locked"), 1);
	assert_int_equal(audit_count(f, "fido2_verify", "locked"), 2);
	key_close(&key);
}

/* every FIDO2 answer above left its row; this checks the sweep too */
static void
test_every_answer_audited(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct key key;
	uint64_t n = 0;
	int64_t before, after;

	key_open(f, "key1", &key);
	before = audit_count(f, NULL, NULL);
	enroll_key(f, "alice", &key, COSE_ES256, &e);		/* 2 rows */
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK); /* 2 rows */
	assert_int_equal(login(f, "alice", &key, &e), TK_ST_OK); /* 2 rows */
	after = audit_count(f, NULL, NULL);
	assert_int_equal(after - before, 6);
	/* the periodic sweep deletes challenges once expired */
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 3);
	assert_int_equal(tk_handle_expire_pending(&f->d, &n), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 3);
	f->now += 60;
	assert_int_equal(tk_handle_expire_pending(&f->d, &n), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 1);
	f->now += 240;
	assert_int_equal(tk_handle_expire_pending(&f->d, &n), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 0);
	/* the audit chain is intact */
	{
		uint64_t count = 0, bad = 1;

		assert_int_equal(tk_store_audit_verify(f->store, &count,
		    &bad), 0);
		assert_int_equal(bad, 0);
		assert_int_equal(count, (uint64_t)audit_count(f, NULL, NULL));
	}
	key_close(&key);
}

/* the store failing: nothing answered but INTERNAL, nothing kept */
static void
test_clock_broken(void **state)
{
	struct fixture *f = *state;
	tk_msg_t *an = NULL, *rq;

	f->clock_broken = true;
	rq = rq_new(TK_MSG_FIDO2_BEGIN, "alice");
	assert_int_not_equal(tk_handle_fido2_begin(&f->d, &f->root, rq, &an),
	    0);
	assert_null(an);
	tk_msg_free(&rq);
	rq = rq_new(TK_MSG_FIDO2_ENROLL_BEGIN, "alice");
	assert_int_not_equal(tk_handle_fido2_enroll_begin(&f->d, &f->admin,
	    rq, &an), 0);
	assert_null(an);
	tk_msg_free(&rq);
	f->clock_broken = false;
	assert_int_equal(db_count(f, "SELECT count(*) FROM challenges"), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_fido2, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enroll_es256_self),
		T(test_enroll_es256_basic),
		T(test_enroll_eddsa_self),
		T(test_enroll_eddsa_basic),
		T(test_enroll_none_refused),
		T(test_enroll_aaguid_policy),
		T(test_enroll_uv_policy),
		T(test_enroll_duplicate_id),
		T(test_enroll_challenge_states),
		T(test_enroll_limit),
		T(test_login_begin),
		T(test_login_replay_and_expiry),
		T(test_login_other_user_or_rp),
		T(test_login_tampered),
		T(test_login_flags),
		T(test_clone_suspends),
		T(test_counter_zero),
		T(test_revoked_and_reinstate_errors),
		T(test_throttle_and_lock),
		T(test_every_answer_audited),
		T(test_clock_broken),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
