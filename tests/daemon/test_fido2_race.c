/*
 * test_fido2_race.c -- T5 (issue 8) for FIDO2: one valid assertion for
 * one login challenge, made by the software authenticator of
 * tests/softkey through the real libfido2, submitted 1,000 times as the
 * same FIDO2_FINISH is accepted exactly once.
 *
 *  - sequentially through tk_handle_fido2_finish: 1 ok and 999 replays
 *    (the user is unlocked by an admin whenever the replays counted as
 *    failures are one short of max_failures, so every refusal is seen
 *    as a replay, not as a lock), the audit trail has exactly one ok
 *    fido2_verify and 999 replays, the credential's counter is that of
 *    the one assertion, and the audit chain verifies;
 *  - at once, by 10 forked processes of 100 submissions each, each
 *    process with its own connection to the same database (SQLite, or
 *    PostgreSQL under tests/pg/daemon.sh, as a second tokend or
 *    tokenadm would have), all released by one pipe:
 *    exactly one ok among the 1,000; the others replay, or locked once
 *    max_failures = 100 replays are counted; nothing else (no internal
 *    error: the store makes the processes take turns); one ok row in
 *    the audit trail, and the chain verifies.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <fido.h>
#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "fido2.h"
#include "fixture.h"
#include "softkey.h"

#define RP		"tokend"	/* the fixture's [fido2] rp_id */
#define SUBMISSIONS	1000
#define PROCS		10

struct key {
	sk_key_t	*k;
	fido_dev_t	*dev;
};

struct enrolled_key {
	uint64_t	 id;
	unsigned char	 cred_id[TK_FIDO2_CRED_ID_MAX];
	size_t		 cred_id_len;
};

struct assertion {
	unsigned char	 authdata[TK_FIDO2_AUTHDATA_MAX];
	size_t		 authdata_len;
	unsigned char	 sig[TK_FIDO2_SIG_MAX];
	size_t		 sig_len;
	uint32_t	 count;
};

static void
key_open(struct fixture *f, struct key *key)
{
	char path[PATH_MAX];
	struct sk_config *cf;

	join(path, sizeof(path), f->dir, "key1");
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

/* enrolls an ES256 credential of `key' for alice */
static void
enroll_key(struct fixture *f, struct key *key, struct enrolled_key *e)
{
	const unsigned char *ch, *handle, *p;
	size_t len, hlen;
	fido_cred_t *c;
	tk_msg_t *an, *rq;
	uint64_t chid;

	rq = rq_new(TK_MSG_FIDO2_ENROLL_BEGIN, "alice");
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_LABEL, "yubikey"), 0);
	an = run(f, tk_handle_fido2_enroll_begin, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	chid = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &ch, &len), 0);
	assert_int_equal(len, TK_FIDO2_CHALLENGE_BYTES);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_USER_HANDLE, &handle,
	    &hlen), 0);
	assert_non_null(c = fido_cred_new());
	assert_int_equal(fido_cred_set_type(c, COSE_ES256), FIDO_OK);
	assert_int_equal(fido_cred_set_clientdata_hash(c, ch, len), FIDO_OK);
	assert_int_equal(fido_cred_set_rp(c, RP, NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_user(c, handle, hlen, "alice", NULL,
	    NULL), FIDO_OK);
	assert_int_equal(fido_cred_set_uv(c, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_dev_make_cred(key->dev, c, NULL), FIDO_OK);
	tk_msg_free(&an);

	rq = rq_new(TK_MSG_FIDO2_ENROLL_FINISH, "alice");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_ALGORITHM, "es256"), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_FMT, fido_cred_fmt(c)),
	    0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA,
	    fido_cred_authdata_raw_ptr(c), fido_cred_authdata_raw_len(c)), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG,
	    fido_cred_sig_ptr(c), fido_cred_sig_len(c)), 0);
	if (fido_cred_x5c_len(c) > 0)
		assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_X5C,
		    fido_cred_x5c_ptr(c), fido_cred_x5c_len(c)), 0);
	an = run(f, tk_handle_fido2_enroll_finish, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	memset(e, 0, sizeof(*e));
	e->id = an_uint(an, TK_KEY_CRED);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CRED_ID, &p, &len), 0);
	assert_true(len <= sizeof(e->cred_id));
	memcpy(e->cred_id, p, len);
	e->cred_id_len = len;
	tk_msg_free(&an);
	fido_cred_free(&c);
}

/* FIDO2_BEGIN for alice: the challenge id and the challenge */
static uint64_t
begin(struct fixture *f, unsigned char challenge[TK_FIDO2_CHALLENGE_BYTES])
{
	const unsigned char *p;
	size_t len;
	uint64_t id;
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_BEGIN, "alice"), *an;

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	an = run(f, tk_handle_fido2_begin, &f->root, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	id = an_uint(an, TK_KEY_CHALLENGE_ID);
	assert_int_equal(tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &p, &len), 0);
	assert_int_equal(len, TK_FIDO2_CHALLENGE_BYTES);
	memcpy(challenge, p, len);
	tk_msg_free(&an);
	return (id);
}

/* the key's assertion of e over `challenge', as the PAM module sends it */
static void
get_assert(struct key *key, const struct enrolled_key *e,
    const unsigned char *challenge, struct assertion *as)
{
	const unsigned char *cbor;
	fido_assert_t *a;
	size_t len, hdr, n;

	memset(as, 0, sizeof(*as));
	assert_non_null(a = fido_assert_new());
	assert_int_equal(fido_assert_set_clientdata_hash(a, challenge,
	    TK_FIDO2_CHALLENGE_BYTES), FIDO_OK);
	assert_int_equal(fido_assert_set_rp(a, RP), FIDO_OK);
	assert_int_equal(fido_assert_allow_cred(a, e->cred_id,
	    e->cred_id_len), FIDO_OK);
	assert_int_equal(fido_assert_set_uv(a, FIDO_OPT_TRUE), FIDO_OK);
	assert_int_equal(fido_dev_get_assert(key->dev, a, NULL), FIDO_OK);
	/* authdata without the CBOR byte string header libfido2 keeps */
	cbor = fido_assert_authdata_ptr(a, 0);
	len = fido_assert_authdata_len(a, 0);
	assert_true(len > 2);
	if (cbor[0] >= 0x40 && cbor[0] <= 0x57) {
		hdr = 1;
		n = cbor[0] - 0x40u;
	} else {
		assert_int_equal(cbor[0], 0x58);
		hdr = 2;
		n = cbor[1];
	}
	assert_int_equal(n, len - hdr);
	assert_true(n <= sizeof(as->authdata));
	memcpy(as->authdata, cbor + hdr, n);
	as->authdata_len = n;
	assert_true(fido_assert_sig_len(a, 0) <= sizeof(as->sig));
	memcpy(as->sig, fido_assert_sig_ptr(a, 0), fido_assert_sig_len(a, 0));
	as->sig_len = fido_assert_sig_len(a, 0);
	as->count = fido_assert_sigcount(a, 0);
	fido_assert_free(&a);
}

/* one FIDO2_FINISH of the assertion through daemon d: its status */
static enum tk_status
finish_on(struct tk_daemon *d, const struct tk_peer *peer, uint64_t chid,
    const struct enrolled_key *e, const struct assertion *as,
    uint64_t *failures)
{
	tk_msg_t *rq = rq_new(TK_MSG_FIDO2_FINISH, "alice"), *an = NULL;
	enum tk_status st;

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_CRED_ID, e->cred_id,
	    e->cred_id_len), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_AUTHDATA, as->authdata,
	    as->authdata_len), 0);
	assert_int_equal(tk_msg_set_bytes(rq, TK_KEY_SIG, as->sig,
	    as->sig_len), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "t5-fido2"), 0);
	if (tk_handle_fido2_finish(d, peer, rq, &an) != 0 || an == NULL) {
		tk_msg_free(&rq);
		return (TK_ST_INTERNAL);
	}
	st = tk_msg_status(an);
	if (failures != NULL) {
		*failures = UINT64_MAX;
		(void)tk_msg_get_uint(an, TK_KEY_FAILURES, failures);
	}
	tk_msg_free(&an);
	tk_msg_free(&rq);
	return (st);
}

static int64_t
fido2_rows(struct fixture *f, const char *result)
{
	return (audit_count(f, "fido2_verify", result));
}

static int64_t
fido2_rows_all(struct fixture *f)
{
	return (audit_count(f, "fido2_verify", NULL));
}

static void
chain_verifies(struct fixture *f)
{
	uint64_t count = 0, bad = 0;

	assert_int_equal(tk_store_audit_verify(f->store, &count, &bad), 0);
	assert_int_equal(bad, 0);
	assert_true(count > 0);
}

static uint32_t
sign_count(struct fixture *f, uint64_t id)
{
	struct tk_cred c;
	uint32_t n;

	assert_int_equal(tk_store_cred_get(f->store, "alice", id, &c), 0);
	n = c.sign_count;
	tk_cred_clear(&c);
	return (n);
}

static int
setup_race(void **state)
{
	struct fixture *f;

	tk_fido2_init();
	if (setup(state) != 0)
		return (-1);
	f = *state;
	f->conf.max_failures = 100;	/* the most tokend.conf allows */
	f->conf.delay_base = 0;		/* no wait between replays */
	return (0);
}

/* --- sequential: 1 ok, 999 replays ----------------------------------- */

static void
test_same_finish_1000_sequential(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as;
	struct key key;
	unsigned char challenge[TK_FIDO2_CHALLENGE_BYTES];
	uint64_t chid, failures;
	unsigned i, ok = 0, replay = 0, other = 0, unlocks = 0;
	enum tk_status st;
	tk_msg_t *an;

	key_open(f, &key);
	enroll_key(f, &key, &e);
	chid = begin(f, challenge);
	get_assert(&key, &e, challenge, &as);
	assert_int_equal(fido2_rows_all(f), 0);

	for (i = 0; i < SUBMISSIONS; i++) {
		st = finish_on(&f->d, &f->root, chid, &e, &as, &failures);
		if (st == TK_ST_OK)
			ok++;
		else if (st == TK_ST_REPLAY)
			replay++;
		else
			other++;
		/* never a lock: unlock one replay before max_failures */
		if (st == TK_ST_REPLAY && failures + 1 >= f->conf.max_failures) {
			an = run(f, tk_handle_user_unlock, &f->admin,
			    rq_new(TK_MSG_USER_UNLOCK, "alice"));
			assert_int_equal(tk_msg_status(an), TK_ST_OK);
			tk_msg_free(&an);
			unlocks++;
		}
		f->now += i % 50 == 0;	/* time goes on, inside the expiry */
	}
	print_message("# sequential: ok %u, replay %u, other %u, %u unlocks\n",
	    ok, replay, other, unlocks);
	assert_int_equal(ok, 1);
	assert_int_equal(replay, SUBMISSIONS - 1);
	assert_int_equal(other, 0);
	assert_int_equal(unlocks, (SUBMISSIONS - 1) / 99);
	/* the audit trail agrees, row for row */
	assert_int_equal(fido2_rows(f, "ok"), 1);
	assert_int_equal(fido2_rows(f, "replay"), SUBMISSIONS - 1);
	assert_int_equal(fido2_rows_all(f), SUBMISSIONS);
	/* the one success moved the counter to the assertion's */
	assert_int_equal(sign_count(f, e.id), as.count);
	/* and the challenge stays burnt after all that */
	assert_int_equal(finish_on(&f->d, &f->root, chid, &e, &as, NULL),
	    TK_ST_REPLAY);
	chain_verifies(f);
	key_close(&key);
}

/* --- parallel: 10 processes x 100 at once ---------------------------- */

/* one forked submitter: its own store connection and daemon */
static void
child(struct fixture *f, int go, int out, uint64_t chid,
    const struct enrolled_key *e, const struct assertion *as)
{
	unsigned counts[TK_ST_END + 1];
	struct tk_daemon d;
	tk_store_t *store = NULL;
	char c;
	unsigned i;
	enum tk_status st;
	ssize_t n;

	memset(counts, 0, sizeof(counts));
	if (fx_store_open(f, &store) != 0 ||
	    tk_daemon_init(&d, &f->conf, store, f->key) != 0)
		_exit(3);
	tk_daemon_set_clock(&d, f->d.clock, f->d.clock_arg);
	do {
		n = read(go, &c, 1);	/* the start: the pipe's close */
	} while (n == -1 && errno == EINTR);
	for (i = 0; i < SUBMISSIONS / PROCS; i++) {
		st = finish_on(&d, &f->root, chid, e, as, NULL);
		counts[(unsigned)st < TK_ST_END ? (unsigned)st :
		    TK_ST_END]++;
	}
	if (write(out, counts, sizeof(counts)) != (ssize_t)sizeof(counts))
		_exit(4);
	tk_store_close(&store);
	_exit(0);
}

static void
test_same_finish_1000_parallel(void **state)
{
	struct fixture *f = *state;
	struct enrolled_key e;
	struct assertion as;
	struct key key;
	unsigned char challenge[TK_FIDO2_CHALLENGE_BYTES];
	unsigned counts[TK_ST_END + 1], total[TK_ST_END + 1];
	int go[2], out[2], status;
	pid_t pids[PROCS];
	uint64_t chid;
	unsigned i, j, sum = 0;
	struct tk_throttle th;

	key_open(f, &key);
	enroll_key(f, &key, &e);
	chid = begin(f, challenge);
	get_assert(&key, &e, challenge, &as);

	memset(total, 0, sizeof(total));
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(go[1]);
			close(out[0]);
			child(f, go[0], out[1], chid, &e, &as);
		}
	}
	close(go[0]);
	close(out[1]);
	usleep(200 * 1000);	/* every child has its store open */
	close(go[1]);		/* go */
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(read(out[0], counts, sizeof(counts)),
		    (ssize_t)sizeof(counts));
		for (j = 0; j < TK_ST_END + 1; j++)
			total[j] += counts[j];
	}
	close(out[0]);
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (j = 0; j < TK_ST_END + 1; j++)
		sum += total[j];
	print_message("# parallel: ok %u, replay %u, locked %u, other %u\n",
	    total[TK_ST_OK], total[TK_ST_REPLAY], total[TK_ST_LOCKED],
	    sum - total[TK_ST_OK] - total[TK_ST_REPLAY] -
	    total[TK_ST_LOCKED]);
	assert_int_equal(sum, SUBMISSIONS);
	assert_int_equal(total[TK_ST_OK], 1);
	assert_int_equal(total[TK_ST_REPLAY] + total[TK_ST_LOCKED],
	    SUBMISSIONS - 1);
	/* replays are failures: the 100th locks, 99 or 100 before it */
	assert_true(total[TK_ST_REPLAY] >= 99 && total[TK_ST_REPLAY] <= 199);
	assert_int_equal(fido2_rows(f, "ok"), 1);
	assert_int_equal(fido2_rows(f, "ok") + fido2_rows(f, "replay") +
	    fido2_rows(f, "locked"), SUBMISSIONS);
	assert_int_equal(fido2_rows_all(f), SUBMISSIONS);
	assert_int_equal(sign_count(f, e.id), as.count);
	assert_int_equal(tk_store_throttle_get(f->store, "alice", &th), 0);
	assert_int_equal(th.failures, 100);
	assert_true(th.locked);
	chain_verifies(f);
	key_close(&key);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_race, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_same_finish_1000_sequential),
		T(test_same_finish_1000_parallel),
	};

	/* tmpfs: 2,000 commits with synchronous = FULL stay quick */
	if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0)
		(void)setenv("TMPDIR", "/dev/shm", 1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
