/*
 * totp.h -- RFC 6238 codes with liboath, the constant-time window match
 * and the otpauth:// URI.  Pure functions of their arguments: no store,
 * no clock, no logging of any code or secret.
 */
#ifndef TK_TOTP_H
#define TK_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TK_TOTP_PERIOD_DEFAULT	30	/* seconds */
#define TK_TOTP_DIGITS_DEFAULT	6
#define TK_TOTP_DIGITS_MAX	8
#define TK_TOTP_SECRET_MAX	64	/* bytes, for SHA-512 */

/*
 * Secret length in bytes for an algorithm (enum tk_totp_alg): 20 for
 * SHA-1, 32 for SHA-256, 64 for SHA-512 (the HMAC output sizes, as in
 * RFC 6238 Appendix B); 0 for an unknown algorithm.
 */
size_t tk_totp_secret_len(int alg);
/* "sha1", "sha256", "sha512", or NULL for an unknown algorithm. */
const char *tk_totp_alg_name(int alg);
/* Parses an algorithm name into *alg.  Returns 0 or TK_ERR_INVAL. */
int tk_totp_alg_parse(const char *name, int *alg);
/* true for the digit counts we issue and accept (6 and 8). */
bool tk_totp_digits_valid(uint64_t digits);
/* true when `code' is exactly `digits' ASCII digits. */
bool tk_totp_code_wellformed(const char *code, unsigned digits);

/*
 * Computes the code of time step `step' into out (digits + NUL).  The
 * caller wipes out after use.  Returns 0, TK_ERR_INVAL (bad algorithm,
 * digits, period or a step past the end of time) or TK_ERR_CRYPTO.
 */
int tk_totp_code(const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, uint64_t step,
    char out[TK_TOTP_DIGITS_MAX + 1]);

/*
 * Compares `code' with the code of every step in [T - window, T +
 * window], T = now / period, each with sodium_memcmp and without
 * stopping at a match; every candidate is wiped at once.  *matched says
 * whether any step matched and *step is the greatest matching step (0
 * when none).  A code that is not exactly `digits' digits matches
 * nothing.  Returns 0, or TK_ERR_INVAL / TK_ERR_CRYPTO (nothing matched).
 */
int tk_totp_match(const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, int64_t now, unsigned window,
    const char *code, bool *matched, uint64_t *step);

/*
 * Builds otpauth://totp/ISSUER:USER?secret=BASE32&issuer=ISSUER&
 * algorithm=ALG&digits=N&period=P with issuer and user percent-encoded
 * and the secret in unpadded base32.  *uri is malloc'd; the caller
 * frees it with tk_strfreezero().  Returns 0, TK_ERR_INVAL,
 * TK_ERR_TOOBIG (longer than TK_URI_MAX), TK_ERR_CRYPTO or
 * TK_ERR_NOMEM.
 */
int tk_totp_uri(const char *issuer, const char *user,
    const unsigned char *secret, size_t secret_len, int alg,
    unsigned digits, unsigned period, char **uri);

#endif /* TK_TOTP_H */
