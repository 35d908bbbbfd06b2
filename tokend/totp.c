/*
 * totp.c -- RFC 6238 with liboath, the window match and the otpauth URI.
 *
 * The replay rule (a step must be greater than the last accepted one)
 * is not here: it lives in h_totp.c and in the store.  This file only
 * says which steps a code matches.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "err.h"
#include "proto.h"
#include "store.h"
#include "totp.h"
#include "wipe.h"

#define TK_TOTP_WINDOW_MAX	10	/* steps either side (conf.h range) */

static int oath_ready;

static int
tk_totp_init(void)
{
	/* single-threaded daemon: a plain flag is enough */
	if (!oath_ready) {
		if (oath_init() != OATH_OK)
			return (TK_ERR_CRYPTO);
		oath_ready = 1;
	}
	return (0);
}

size_t
tk_totp_secret_len(int alg)
{
	switch (alg) {
	case TK_TOTP_SHA1:	return (20);
	case TK_TOTP_SHA256:	return (32);
	case TK_TOTP_SHA512:	return (64);
	}
	return (0);
}

const char *
tk_totp_alg_name(int alg)
{
	switch (alg) {
	case TK_TOTP_SHA1:	return ("sha1");
	case TK_TOTP_SHA256:	return ("sha256");
	case TK_TOTP_SHA512:	return ("sha512");
	}
	return (NULL);
}

int
tk_totp_alg_parse(const char *name, int *alg)
{
	static const int algs[] = { TK_TOTP_SHA1, TK_TOTP_SHA256,
	    TK_TOTP_SHA512 };
	size_t i;

	*alg = 0;
	if (name == NULL)
		return (TK_ERR_INVAL);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(name, tk_totp_alg_name(algs[i])) == 0) {
			*alg = algs[i];
			return (0);
		}
	return (TK_ERR_INVAL);
}

bool
tk_totp_digits_valid(uint64_t digits)
{
	return (digits == 6 || digits == 8);
}

bool
tk_totp_code_wellformed(const char *code, unsigned digits)
{
	unsigned i;

	if (code == NULL)
		return (false);
	for (i = 0; i < digits; i++)
		if (code[i] < '0' || code[i] > '9')
			return (false);	/* also stops at the NUL */
	return (code[digits] == '\0');
}

static int
tk_totp_flags(int alg, int *flags)
{
	switch (alg) {
	case TK_TOTP_SHA1:
		*flags = 0;
		return (0);
	case TK_TOTP_SHA256:
		*flags = OATH_TOTP_HMAC_SHA256;
		return (0);
	case TK_TOTP_SHA512:
		*flags = OATH_TOTP_HMAC_SHA512;
		return (0);
	}
	return (TK_ERR_INVAL);
}

int
tk_totp_code(const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, uint64_t step,
    char out[TK_TOTP_DIGITS_MAX + 1])
{
	int flags, r;

	memset(out, 0, TK_TOTP_DIGITS_MAX + 1);
	if (secret == NULL || secret_len == 0 ||
	    !tk_totp_digits_valid(digits) || period == 0 ||
	    (r = tk_totp_flags(alg, &flags)) != 0)
		return (TK_ERR_INVAL);
	/* liboath takes a time, not a step: the step's first second */
	if (step > (uint64_t)INT64_MAX / period)
		return (TK_ERR_INVAL);
	if ((r = tk_totp_init()) != 0)
		return (r);
	if (oath_totp_generate2((const char *)secret, secret_len,
	    (time_t)(step * period), period, 0, digits, flags, out) !=
	    OATH_OK) {
		tk_memzero(out, TK_TOTP_DIGITS_MAX + 1);
		return (TK_ERR_CRYPTO);
	}
	return (0);
}

int
tk_totp_match(const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, int64_t now, unsigned window,
    const char *code, bool *matched, uint64_t *step)
{
	char cand[TK_TOTP_DIGITS_MAX + 1];
	uint64_t t, s, lo, hi, best, mask;
	int r, any;

	*matched = false;
	*step = 0;
	if (period == 0 || now < 0 || window > TK_TOTP_WINDOW_MAX ||
	    !tk_totp_digits_valid(digits))
		return (TK_ERR_INVAL);
	if (!tk_totp_code_wellformed(code, digits))
		return (0);	/* a malformed code matches nothing */
	t = (uint64_t)now / period;
	lo = t > window ? t - window : 0;
	hi = t + window;
	best = 0;
	any = 0;
	for (s = lo; s <= hi; s++) {
		if ((r = tk_totp_code(secret, secret_len, alg, digits, period,
		    s, cand)) != 0) {
			tk_memzero(cand, sizeof(cand));
			return (r);
		}
		/* all-ones when equal; steps rise, so the last match wins */
		mask = (uint64_t)0 - (uint64_t)(sodium_memcmp(cand, code,
		    digits) == 0);
		tk_memzero(cand, sizeof(cand));
		best = (best & ~mask) | (s & mask);
		any |= (int)(mask & 1);
	}
	*matched = any != 0;
	*step = best;
	return (0);
}

/* RFC 3986 unreserved characters stay, everything else is %XX */
static int
tk_totp_put_pct(char *buf, size_t size, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (size - *pos < 2)
				return (TK_ERR_TOOBIG);
			buf[(*pos)++] = (char)c;
		} else {
			if (size - *pos < 4)
				return (TK_ERR_TOOBIG);
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 0x0f];
		}
	}
	buf[*pos] = '\0';
	return (0);
}

static int
tk_totp_put(char *buf, size_t size, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (size - *pos <= n)
		return (TK_ERR_TOOBIG);
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
	return (0);
}

int
tk_totp_uri(const char *issuer, const char *user,
    const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, char **uri)
{
	char *buf = NULL, *b32 = NULL, *alg_up = NULL;
	char tail[64];
	size_t b32_len = 0, pos = 0, size = TK_URI_MAX + 1, i;
	const char *alg_name;
	int n, r;

	*uri = NULL;
	if (issuer == NULL || user == NULL || secret == NULL ||
	    secret_len == 0 || (alg_name = tk_totp_alg_name(alg)) == NULL ||
	    !tk_totp_digits_valid(digits) || period == 0) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_totp_init()) != 0)
		goto fail;
	if (oath_base32_encode((const char *)secret, secret_len, &b32,
	    &b32_len) != OATH_OK || b32 == NULL) {
		b32 = NULL;
		r = TK_ERR_CRYPTO;
		goto fail;
	}
	/* authenticator apps expect the unpadded form */
	while (b32_len > 0 && b32[b32_len - 1] == '=')
		b32[--b32_len] = '\0';
	if ((alg_up = strdup(alg_name)) == NULL ||
	    (buf = calloc(1, size)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; alg_up[i] != '\0'; i++)
		if (alg_up[i] >= 'a' && alg_up[i] <= 'z')
			alg_up[i] = (char)(alg_up[i] - 'a' + 'A');
	n = snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%u&period=%u",
	    alg_up, digits, period);
	if (n < 0 || (size_t)n >= sizeof(tail)) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_totp_put(buf, size, &pos, "otpauth://totp/")) != 0 ||
	    (r = tk_totp_put_pct(buf, size, &pos, issuer)) != 0 ||
	    (r = tk_totp_put(buf, size, &pos, ":")) != 0 ||
	    (r = tk_totp_put_pct(buf, size, &pos, user)) != 0 ||
	    (r = tk_totp_put(buf, size, &pos, "?secret=")) != 0 ||
	    (r = tk_totp_put(buf, size, &pos, b32)) != 0 ||
	    (r = tk_totp_put(buf, size, &pos, "&issuer=")) != 0 ||
	    (r = tk_totp_put_pct(buf, size, &pos, issuer)) != 0 ||
	    (r = tk_totp_put(buf, size, &pos, tail)) != 0)
		goto fail;
	*uri = buf;
	buf = NULL;

	r = 0; /* success */
fail:
	tk_freezero(b32, b32_len);
	tk_freezero(buf, size);
	free(alg_up);
	return (r);
}
