/*
 * fixture.c -- see fixture.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include <liboath/oath.h>
#include <sodium.h>

#include "err.h"
#include "fixture.h"

static int
fake_clock(void *arg, int64_t *now)
{
	struct fixture *f = arg;

	if (f->clock_broken)
		return (TK_ERR_IO);
	*now = f->now;
	return (0);
}

void
join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

static void
peer_set(struct tk_peer *p, uid_t uid, enum tk_role role, const char *user)
{
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->gid = uid;
	p->pid = 4242;
	p->role = role;
	assert_true(strlen(user) < sizeof(p->user));
	strcpy(p->user, user);
}

int
setup(void **state)
{
	unsigned char raw[TK_MASTER_KEY_BYTES], audit_key[TK_AUDIT_KEY_BYTES];
	char err[256];
	const char *tmp;
	struct fixture *f;
	int fd;

	assert_true(sodium_init() >= 0);
	assert_int_equal(oath_init(), OATH_OK);
	assert_non_null(f = calloc(1, sizeof(*f)));
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	join(f->dir, sizeof(f->dir), tmp, "tk-handlers.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	join(f->db, sizeof(f->db), f->dir, "tokend.db");
	join(f->keypath, sizeof(f->keypath), f->dir, "master.key");

	randombytes_buf(raw, sizeof(raw));
	fd = open(f->keypath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, raw, sizeof(raw)), (ssize_t)sizeof(raw));
	assert_int_equal(close(fd), 0);
	sodium_memzero(raw, sizeof(raw));
	assert_int_equal(tk_master_key_load(f->keypath, &f->key, err,
	    sizeof(err)), 0);
	assert_int_equal(tk_master_key_derive(f->key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key), 0);
	assert_int_equal(tk_store_open_sqlite(f->db, audit_key,
	    sizeof(audit_key), &f->store), 0);

	assert_int_equal(tk_conf_init(&f->conf), 0);
	f->conf.totp_window = 1;
	f->conf.max_failures = 3;
	f->conf.delay_base = 1;
	f->conf.delay_max = 30;
	f->conf.totp_pending_ttl = 900;

	assert_int_equal(tk_daemon_init(&f->d, &f->conf, f->store, f->key),
	    0);
	f->now = T0;
	tk_daemon_set_clock(&f->d, fake_clock, f);
	assert_int_equal(f->d.started, T0);

	peer_set(&f->root, 0, TK_ROLE_ROOT, "root");
	peer_set(&f->admin, 1001, TK_ROLE_ADMIN, "carol");
	peer_set(&f->alice, 1002, TK_ROLE_SELF, "alice");
	*state = f;
	return (0);
}

int
teardown(void **state)
{
	struct fixture *f = *state;

	tk_store_close(&f->store);
	tk_master_key_free(&f->key);
	tk_conf_clear(&f->conf);
	(void)nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return (0);
}

/* --- requests --------------------------------------------------------- */

tk_msg_t *
rq_new(uint32_t type, const char *user)
{
	tk_msg_t *m;

	assert_non_null(m = tk_msg_new(TK_DIR_REQUEST, type));
	if (user != NULL)
		assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, user), 0);
	return (m);
}

/* Runs a handler and checks its answer is well-formed for the wire. */
tk_msg_t *
run(struct fixture *f, tk_handler_fn_t *h, const struct tk_peer *peer,
    tk_msg_t *rq)
{
	unsigned char *enc = NULL;
	size_t enc_len = 0;
	tk_msg_t *an = NULL;

	assert_int_equal(h(&f->d, peer, rq, &an), 0);
	assert_non_null(an);
	assert_int_equal(tk_msg_type(an), tk_msg_type(rq));
	assert_int_equal(tk_msg_encode(an, &enc, &enc_len), 0);
	sodium_memzero(enc, enc_len);
	free(enc);
	tk_msg_free(&rq);
	return (an);
}

uint64_t
an_uint(const tk_msg_t *an, enum tk_key key)
{
	uint64_t v = 0;

	assert_int_equal(tk_msg_get_uint(an, key, &v), 0);
	return (v);
}

void
code_at(const struct enrolled *e, uint64_t step, char out[CODE_MAX])
{
	int flags = e->alg == TK_TOTP_SHA256 ? OATH_TOTP_HMAC_SHA256 :
	    e->alg == TK_TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512 : 0;

	assert_int_equal(oath_totp_generate2((const char *)e->secret,
	    e->secret_len, (time_t)(step * PERIOD), PERIOD, 0, e->digits,
	    flags, out), OATH_OK);
}
