/*
 * test_seal.c -- the master key file checks, key ids, subkey derivation
 * and sealing: round trips, and every way a blob must fail to open
 * (wrong key, moved to another user or credential, any flipped bit,
 * truncation).  Golden values were computed independently (Python
 * hashlib) from the layouts documented in masterkey.c and seal.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "log.h"
#include "proto.h"
#include "seal.h"
#include "testdir.h"

#define NOBODY_UID	65534	/* an owner that is not us, for root runs */
#define WATCHDOG_SEC	300	/* the whole program, seconds */
#define ERR_LEN		256
#define NONCE_BYTES	24
#define TAG_BYTES	16

/* a TOTP secret: 20 bytes (RFC 6238's SHA-1 test key) */
static const unsigned char secret[] = "12345678901234567890";
#define SECRET_LEN	(sizeof(secret) - 1)

static const unsigned char golden_key[TK_MASTER_KEY_BYTES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

struct fx {
	char		 dir[TK_TESTDIR_PATH_MAX];
	char		 path[TK_TESTDIR_PATH_MAX];	/* key file */
	char		 err[ERR_LEN];
	tk_master_key_t	*k;
	tk_master_key_t	*k2;
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if (tk_testdir_make(f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return (-1);
	}
	tk_testdir_join(f->path, sizeof(f->path), f->dir, "master.key");
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tk_master_key_free(&f->k);
	tk_master_key_free(&f->k2);
	tk_testdir_remove(f->dir);
	free(f);
	return (0);
}

static void
write_file(const char *path, const unsigned char *buf, size_t len,
    mode_t mode)
{
	int fd;

	(void)unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* a fresh random key file at path, loaded into *kp */
static void
new_key(struct fx *f, const char *path, tk_master_key_t **kp)
{
	unsigned char key[TK_MASTER_KEY_BYTES];

	randombytes_buf(key, sizeof(key));
	write_file(path, key, sizeof(key), 0400);
	sodium_memzero(key, sizeof(key));
	assert_int_equal(tk_master_key_load(path, kp, f->err,
	    sizeof(f->err)), 0);
	assert_non_null(*kp);
	assert_string_equal(f->err, "");
}

/* loading `path' fails with `want', an error naming the file and `why' */
static void
load_fails(struct fx *f, const char *path, int want, const char *why)
{
	tk_master_key_t *k = NULL;

	f->err[0] = '\0';
	assert_int_equal(tk_master_key_load(path, &k, f->err,
	    sizeof(f->err)), want);
	assert_null(k);
	assert_non_null(strstr(f->err, path));
	if (strstr(f->err, why) == NULL) {
		print_error("error \"%s\" lacks \"%s\"\n", f->err, why);
		fail();
	}
}

/* ---------------------------------------------------------------- */
/* the key file */

static void
test_key_load_and_id(void **state)
{
	struct fx *f = *state;

	/* key id = first 4 bytes of BLAKE2b-256(key), big-endian */
	write_file(f->path, golden_key, sizeof(golden_key), 0400);
	assert_int_equal(tk_master_key_load(f->path, &f->k, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(tk_master_key_id(f->k), 0xcb2f5160);
	/* 0600 is fine too: only group and other bits are refused */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(tk_master_key_load(f->path, &f->k2, NULL, 0), 0);
	assert_int_equal(tk_master_key_id(f->k2), 0xcb2f5160);
	tk_master_key_free(&f->k2);
	assert_null(f->k2);
	tk_master_key_free(&f->k2);	/* NULL-safe */
	tk_master_key_free(NULL);
	assert_int_equal(tk_master_key_id(NULL), 0);
}

static void
test_key_missing(void **state)
{
	struct fx *f = *state;

	load_fails(f, f->path, TK_ERR_NOTFOUND, "no such file");
}

static void
test_key_wrong_size(void **state)
{
	struct fx *f = *state;
	unsigned char buf[TK_MASTER_KEY_BYTES + 1];

	memset(buf, 7, sizeof(buf));
	write_file(f->path, buf, TK_MASTER_KEY_BYTES - 1, 0400);
	load_fails(f, f->path, TK_ERR_INVAL, "31 bytes, not 32");
	write_file(f->path, buf, TK_MASTER_KEY_BYTES + 1, 0400);
	load_fails(f, f->path, TK_ERR_INVAL, "33 bytes, not 32");
	write_file(f->path, buf, 0, 0400);
	load_fails(f, f->path, TK_ERR_INVAL, "0 bytes, not 32");
}

static void
test_key_symlink(void **state)
{
	struct fx *f = *state;
	char link[TK_TESTDIR_PATH_MAX];

	write_file(f->path, golden_key, sizeof(golden_key), 0400);
	tk_testdir_join(link, sizeof(link), f->dir, "link.key");
	assert_int_equal(symlink(f->path, link), 0);
	load_fails(f, link, TK_ERR_PERM, "symbolic link");
}

static void
test_key_group_or_other_access(void **state)
{
	struct fx *f = *state;
	static const mode_t bad[] = { 0440, 0404, 0410, 0401, 0420, 0402,
	    0444, 0640 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(f->path, golden_key, sizeof(golden_key), bad[i]);
		load_fails(f, f->path, TK_ERR_PERM, "group or others");
	}
}

static void
test_key_wrong_owner(void **state)
{
	struct fx *f = *state;

	if (geteuid() != 0)
		skip();		/* only root can give a file away */
	write_file(f->path, golden_key, sizeof(golden_key), 0400);
	assert_int_equal(chown(f->path, NOBODY_UID, NOBODY_UID), 0);
	load_fails(f, f->path, TK_ERR_PERM, "owned by uid 65534");
}

static void
test_key_not_regular(void **state)
{
	struct fx *f = *state;
	char fifo[TK_TESTDIR_PATH_MAX];

	assert_int_equal(mkdir(f->path, 0700), 0);
	load_fails(f, f->path, TK_ERR_PERM, "not a regular file");
	/* a FIFO must be refused, not waited on */
	tk_testdir_join(fifo, sizeof(fifo), f->dir, "fifo.key");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	load_fails(f, fifo, TK_ERR_PERM, "not a regular file");
}

/* ---------------------------------------------------------------- */
/* subkeys */

static void
test_derive_golden(void **state)
{
	struct fx *f = *state;
	unsigned char out[TK_AUDIT_KEY_BYTES], want[TK_AUDIT_KEY_BYTES];
	size_t len = 0;

	/* BLAKE2b(key, salt = LE64(id) || 0^8, personal = ctx || 0^8) */
	write_file(f->path, golden_key, sizeof(golden_key), 0400);
	assert_int_equal(tk_master_key_load(f->path, &f->k, NULL, 0), 0);
	assert_int_equal(tk_master_key_derive(f->k, 1, "tkaudit1", out), 0);
	assert_int_equal(sodium_hex2bin(want, sizeof(want),
	    "199fd1985ba308e293f26121d5c92e28"
	    "74acf371359562d68fbf858ff3cabbb8", 64, NULL, &len, NULL), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_derive_distinct(void **state)
{
	struct fx *f = *state;
	unsigned char a[TK_AUDIT_KEY_BYTES], b[TK_AUDIT_KEY_BYTES];
	unsigned char c[TK_AUDIT_KEY_BYTES], d[TK_AUDIT_KEY_BYTES];
	unsigned char e[TK_AUDIT_KEY_BYTES];
	char f2[TK_TESTDIR_PATH_MAX];

	new_key(f, f->path, &f->k);
	tk_testdir_join(f2, sizeof(f2), f->dir, "other.key");
	new_key(f, f2, &f->k2);
	assert_int_equal(tk_master_key_derive(f->k, 1, "tkaudit1", a), 0);
	assert_int_equal(tk_master_key_derive(f->k, 1, "tkaudit1", b), 0);
	assert_memory_equal(a, b, sizeof(a));		/* deterministic */
	assert_int_equal(tk_master_key_derive(f->k, 1, "tkother1", c), 0);
	assert_memory_not_equal(a, c, sizeof(a));	/* context */
	assert_int_equal(tk_master_key_derive(f->k, 2, "tkaudit1", d), 0);
	assert_memory_not_equal(a, d, sizeof(a));	/* subkey id */
	assert_int_equal(tk_master_key_derive(f->k2, 1, "tkaudit1", e), 0);
	assert_memory_not_equal(a, e, sizeof(a));	/* master key */
}

static void
test_derive_bad_context(void **state)
{
	struct fx *f = *state;
	static const char shortctx[8] = "audit";	/* NUL-padded */
	unsigned char out[TK_AUDIT_KEY_BYTES];

	new_key(f, f->path, &f->k);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(tk_master_key_derive(f->k, 1, shortctx, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_master_key_derive(f->k, 1, NULL, out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_master_key_derive(NULL, 1, "tkaudit1", out),
	    TK_ERR_INVAL);
	/* nothing usable is left in the output on failure */
	assert_true(sodium_is_zero(out, sizeof(out)));
}

/* ---------------------------------------------------------------- */
/* sealing */

static void
seal_alice(struct fx *f, unsigned char **blob, size_t *blob_len)
{
	assert_int_equal(tk_seal(f->k, "alice", 7, secret, SECRET_LEN, blob,
	    blob_len), 0);
	assert_non_null(*blob);
	assert_int_equal(*blob_len, NONCE_BYTES + SECRET_LEN + TAG_BYTES);
}

/* opening must fail with TK_ERR_CRYPTO and leave nothing behind */
static void
unseal_fails(const tk_master_key_t *k, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len)
{
	unsigned char *plain = (unsigned char *)(uintptr_t)1;
	size_t plain_len = 1;

	assert_int_equal(tk_unseal(k, key_id, user, cred, blob, blob_len,
	    &plain, &plain_len), TK_ERR_CRYPTO);
	assert_null(plain);
	assert_int_equal(plain_len, 0);
}

static void
test_seal_round_trip(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL, *blob2 = NULL, *plain = NULL;
	size_t blob_len = 0, blob2_len = 0, plain_len = 0;

	new_key(f, f->path, &f->k);
	seal_alice(f, &blob, &blob_len);
	/* the secret does not appear in the blob */
	assert_memory_not_equal(blob + NONCE_BYTES, secret, SECRET_LEN);
	assert_int_equal(tk_unseal(f->k, tk_master_key_id(f->k), "alice", 7,
	    blob, blob_len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, SECRET_LEN);
	assert_memory_equal(plain, secret, SECRET_LEN);
	tk_unseal_free(plain, plain_len);
	tk_unseal_free(NULL, 0);
	/* a fresh random nonce each time */
	seal_alice(f, &blob2, &blob2_len);
	assert_memory_not_equal(blob, blob2, NONCE_BYTES);
	assert_memory_not_equal(blob + NONCE_BYTES, blob2 + NONCE_BYTES,
	    blob_len - NONCE_BYTES);
	free(blob);
	free(blob2);
}

/* the associated data is exactly the layout seal.c documents */
static void
test_seal_ad_layout(void **state)
{
	struct fx *f = *state;
	static const unsigned char tag[] = "tokend-seal-v1";
	unsigned char ad[64], out[SECRET_LEN], *p = ad;
	unsigned char *blob = NULL;
	unsigned long long out_len = 0;
	size_t blob_len = 0;
	uint32_t id;

	write_file(f->path, golden_key, sizeof(golden_key), 0400);
	assert_int_equal(tk_master_key_load(f->path, &f->k, NULL, 0), 0);
	id = tk_master_key_id(f->k);
	seal_alice(f, &blob, &blob_len);
	*p++ = 0; *p++ = 0; *p++ = 0; *p++ = sizeof(tag);
	memcpy(p, tag, sizeof(tag));		/* NUL included */
	p += sizeof(tag);
	*p++ = 0; *p++ = 0; *p++ = 0; *p++ = 5;
	memcpy(p, "alice", 5);
	p += 5;
	memset(p, 0, 7);
	p[7] = 7;				/* cred 7, big-endian */
	p += 8;
	*p++ = id >> 24; *p++ = id >> 16; *p++ = id >> 8; *p++ = id;
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out,
	    &out_len, NULL, blob + NONCE_BYTES, blob_len - NONCE_BYTES, ad,
	    (unsigned long long)(p - ad), blob, golden_key), 0);
	assert_int_equal(out_len, SECRET_LEN);
	assert_memory_equal(out, secret, SECRET_LEN);
	sodium_memzero(out, sizeof(out));
	free(blob);
}

static void
test_seal_wrong_key(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	char other[TK_TESTDIR_PATH_MAX];

	new_key(f, f->path, &f->k);
	tk_testdir_join(other, sizeof(other), f->dir, "other.key");
	new_key(f, other, &f->k2);
	assert_int_not_equal(tk_master_key_id(f->k), tk_master_key_id(f->k2));
	seal_alice(f, &blob, &blob_len);
	/* the other key, under either id */
	unseal_fails(f->k2, tk_master_key_id(f->k2), "alice", 7, blob,
	    blob_len);
	unseal_fails(f->k2, tk_master_key_id(f->k), "alice", 7, blob,
	    blob_len);
	/* the right key with a stored key id that was altered */
	unseal_fails(f->k, tk_master_key_id(f->k) ^ 1, "alice", 7, blob,
	    blob_len);
	free(blob);
}

static void
test_seal_moved(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	uint32_t id;

	new_key(f, f->path, &f->k);
	id = tk_master_key_id(f->k);
	seal_alice(f, &blob, &blob_len);
	unseal_fails(f->k, id, "bob", 7, blob, blob_len);
	unseal_fails(f->k, id, "alic", 7, blob, blob_len);
	unseal_fails(f->k, id, "alicea", 7, blob, blob_len);
	unseal_fails(f->k, id, "Alice", 7, blob, blob_len);
	unseal_fails(f->k, id, "alice", 8, blob, blob_len);
	unseal_fails(f->k, id, "alice", 7 + (1ULL << 32), blob, blob_len);
	unseal_fails(f->k, id, "alice", 0, blob, blob_len);
	free(blob);
}

static void
test_seal_flipped_bits(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL;
	size_t blob_len = 0, i;
	int bit;
	uint32_t id;

	new_key(f, f->path, &f->k);
	id = tk_master_key_id(f->k);
	seal_alice(f, &blob, &blob_len);
	/* every bit of nonce, ciphertext and tag */
	for (i = 0; i < blob_len; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob[i] ^= (unsigned char)(1u << bit);
			unseal_fails(f->k, id, "alice", 7, blob, blob_len);
			blob[i] ^= (unsigned char)(1u << bit);
		}
	}
	free(blob);
}

static void
test_seal_truncated(void **state)
{
	struct fx *f = *state;
	unsigned char *blob = NULL, *longer = NULL;
	size_t blob_len = 0;
	uint32_t id;

	new_key(f, f->path, &f->k);
	id = tk_master_key_id(f->k);
	seal_alice(f, &blob, &blob_len);
	unseal_fails(f->k, id, "alice", 7, blob, blob_len - 1);
	unseal_fails(f->k, id, "alice", 7, blob, NONCE_BYTES + TAG_BYTES);
	unseal_fails(f->k, id, "alice", 7, blob, NONCE_BYTES);
	unseal_fails(f->k, id, "alice", 7, blob, 0);
	/* and one byte appended */
	assert_non_null(longer = calloc(1, blob_len + 1));
	memcpy(longer, blob, blob_len);
	unseal_fails(f->k, id, "alice", 7, longer, blob_len + 1);
	free(longer);
	free(blob);
}

static void
test_seal_bad_arguments(void **state)
{
	struct fx *f = *state;
	char longuser[TK_USER_MAX + 2];
	unsigned char big[1025], *blob = NULL, *plain = NULL;
	size_t blob_len = 0, plain_len = 0;

	new_key(f, f->path, &f->k);
	memset(longuser, 'u', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	memset(big, 1, sizeof(big));
	assert_int_equal(tk_seal(f->k, "alice", 7, secret, 0, &blob,
	    &blob_len), TK_ERR_INVAL);
	assert_int_equal(tk_seal(f->k, "", 7, secret, SECRET_LEN, &blob,
	    &blob_len), TK_ERR_INVAL);
	assert_int_equal(tk_seal(f->k, longuser, 7, secret, SECRET_LEN,
	    &blob, &blob_len), TK_ERR_INVAL);
	assert_int_equal(tk_seal(f->k, NULL, 7, secret, SECRET_LEN, &blob,
	    &blob_len), TK_ERR_INVAL);
	assert_int_equal(tk_seal(NULL, "alice", 7, secret, SECRET_LEN, &blob,
	    &blob_len), TK_ERR_INVAL);
	assert_int_equal(tk_seal(f->k, "alice", 7, big, sizeof(big), &blob,
	    &blob_len), TK_ERR_INVAL);
	assert_null(blob);
	assert_int_equal(blob_len, 0);
	/* the longest user name still works, the longest secret too */
	longuser[TK_USER_MAX] = '\0';
	assert_int_equal(tk_seal(f->k, longuser, 7, big, sizeof(big) - 1,
	    &blob, &blob_len), 0);
	assert_int_equal(tk_unseal(f->k, tk_master_key_id(f->k), longuser, 7,
	    blob, blob_len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, sizeof(big) - 1);
	tk_unseal_free(plain, plain_len);
	assert_int_equal(tk_unseal(f->k, tk_master_key_id(f->k), NULL, 7,
	    blob, blob_len, &plain, &plain_len), TK_ERR_INVAL);
	free(blob);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_key_load_and_id),
		T(test_key_missing),
		T(test_key_wrong_size),
		T(test_key_symlink),
		T(test_key_group_or_other_access),
		T(test_key_wrong_owner),
		T(test_key_not_regular),
		T(test_derive_golden),
		T(test_derive_distinct),
		T(test_derive_bad_context),
		T(test_seal_round_trip),
		T(test_seal_ad_layout),
		T(test_seal_wrong_key),
		T(test_seal_moved),
		T(test_seal_flipped_bits),
		T(test_seal_truncated),
		T(test_seal_bad_arguments),
	};

	if (sodium_init() < 0)
		return (1);
	/* a hang (a FIFO opened without O_NONBLOCK, a lost lock) fails */
	alarm(WATCHDOG_SEC);
	tk_log_to_stderr("test_seal");
	return (cmocka_run_group_tests_name("seal", tests, NULL, NULL));
}
