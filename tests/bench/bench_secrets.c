/*
 * bench_secrets.c -- see bench_secrets.h.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>

#include "bench_secrets.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
parse_line(char *line, struct bench_user *u)
{
	char name[128], hex[2 * BENCH_SECRET_MAX + 2], alg[16];
	unsigned long long cred;
	unsigned digits, period;
	size_t i, n;
	int hi, lo;

	memset(u, 0, sizeof(*u));
	if (sscanf(line, "%127s %llu %129s %15s %u %u", name, &cred, hex, alg,
	    &digits, &period) != 6)
		return (-1);
	n = strlen(hex);
	if (strlen(name) >= BENCH_USER_MAX || n % 2 != 0 || n == 0 ||
	    n / 2 > BENCH_SECRET_MAX || (digits != 6 && digits != 8) ||
	    period == 0 || period > 255)
		return (-1);
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 ||
		    (lo = hexval(hex[2 * i + 1])) < 0)
			return (-1);
		u->secret[i] = (unsigned char)(hi << 4 | lo);
	}
	if (strcmp(alg, "sha1") == 0)
		u->alg = 1;
	else if (strcmp(alg, "sha256") == 0)
		u->alg = 2;
	else if (strcmp(alg, "sha512") == 0)
		u->alg = 3;
	else
		return (-1);
	memcpy(u->name, name, strlen(name) + 1);
	u->cred = cred;
	u->secret_len = (unsigned char)(n / 2);
	u->digits = (unsigned char)digits;
	u->period = (unsigned char)period;
	return (0);
}

int
bench_secrets_load(const char *path, size_t first, size_t max,
    struct bench_user **usersp, size_t *np)
{
	struct bench_user *users = NULL, *grown;
	char line[512];
	size_t n = 0, cap = 0, lineno = 0;
	FILE *f;

	*usersp = NULL;
	*np = 0;
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (lineno++ < first)
			continue;
		if (max > 0 && n == max)
			break;
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			if ((grown = realloc(users, cap * sizeof(*users))) ==
			    NULL) {
				perror("realloc");
				goto fail;
			}
			users = grown;
		}
		if (parse_line(line, &users[n]) != 0) {
			fprintf(stderr, "%s:%zu: malformed line\n", path,
			    lineno);
			goto fail;
		}
		n++;
	}
	(void)fclose(f);
	*usersp = users;
	*np = n;
	return (0);
fail:
	(void)fclose(f);
	free(users);
	return (-1);
}

int
bench_code(const struct bench_user *u, time_t t, char out[BENCH_CODE_MAX])
{
	int flags = u->alg == 2 ? OATH_TOTP_HMAC_SHA256 :
	    u->alg == 3 ? OATH_TOTP_HMAC_SHA512 : 0;

	if (oath_totp_generate2((const char *)u->secret, u->secret_len, t,
	    u->period, 0, u->digits, flags, out) != OATH_OK)
		return (-1);
	return (0);
}

int
bench_wrong_code(const struct bench_user *u, time_t t, unsigned spread,
    char out[BENCH_CODE_MAX])
{
	char near[21][BENCH_CODE_MAX];
	unsigned i, k, n = 0;
	unsigned long c;
	bool taken;

	if (spread > 10)
		return (-1);
	for (i = 0; i <= 2 * spread; i++)
		if (bench_code(u, t + ((time_t)i - (time_t)spread) *
		    u->period, near[n++]) != 0)
			return (-1);
	/* start from the current code + 1: cheap, varied, rarely taken */
	c = strtoul(near[spread], NULL, 10) + 1;
	for (;; c++) {
		if (u->digits == 8)
			(void)snprintf(out, BENCH_CODE_MAX, "%08lu",
			    c % 100000000UL);
		else
			(void)snprintf(out, BENCH_CODE_MAX, "%06lu",
			    c % 1000000UL);
		taken = false;
		for (k = 0; k < n; k++)
			if (strcmp(out, near[k]) == 0)
				taken = true;
		if (!taken)
			return (0);
	}
}

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

void
bench_percentiles(uint64_t *v, size_t n, uint64_t out[4])
{
	size_t p99;

	memset(out, 0, 4 * sizeof(out[0]));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	p99 = (n * 99 + 99) / 100;	/* nearest rank */
	if (p99 > 0)
		p99--;
	out[0] = v[0];
	out[1] = v[n / 2];
	out[2] = v[p99 < n ? p99 : n - 1];
	out[3] = v[n - 1];
}
