/*
 * bench_secrets.h -- the secrets file of tools/make-population, read by
 * the bench programs, and the RFC 6238 codes they compute from it with
 * liboath (independently of tokend's own totp.c).
 *
 * Line format: USER CREDENTIAL-ID HEX-SECRET ALGORITHM DIGITS PERIOD
 */
#ifndef TK_BENCH_SECRETS_H
#define TK_BENCH_SECRETS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_USER_MAX		32
#define BENCH_SECRET_MAX	64
#define BENCH_CODE_MAX		9

struct bench_user {
	char		 name[BENCH_USER_MAX];
	uint64_t	 cred;
	unsigned char	 secret[BENCH_SECRET_MAX];
	unsigned char	 secret_len;
	unsigned char	 alg;		/* 1 sha1, 2 sha256, 3 sha512 */
	unsigned char	 digits;
	unsigned char	 period;
};

/*
 * Reads lines [first, first + max) (max 0: to the end) of `path' into
 * a new array *users (*n entries; free()).  Returns 0 or -1 with a
 * message on stderr.
 */
int bench_secrets_load(const char *path, size_t first, size_t max,
    struct bench_user **users, size_t *n);
/* the code of user u at UNIX time t into out; 0 or -1 */
int bench_code(const struct bench_user *u, time_t t, char out[BENCH_CODE_MAX]);
/*
 * A code of the right length that matches none of the steps within
 * +-`spread' steps of t; 0 or -1.
 */
int bench_wrong_code(const struct bench_user *u, time_t t, unsigned spread,
    char out[BENCH_CODE_MAX]);
/* monotonic time in nanoseconds */
uint64_t bench_now_ns(void);
/* sorts v[0..n) and fills min, median, p99, max (ns) */
void bench_percentiles(uint64_t *v, size_t n, uint64_t out[4]);

#endif /* TK_BENCH_SECRETS_H */
