/*
 * fido2.h -- FIDO2 verification in tokend: turns the bytes of an
 * attestation or an assertion, as they came over the wire, into
 * libfido2 objects and verifies them.  Pure functions of the data:
 * nothing here touches a device, the store or the clock.
 *
 * The 32-byte challenge tokend issued IS the client data hash the key
 * signed (the PAM module and tokenadm pass it to libfido2 as such).
 */
#ifndef TK_FIDO2_H
#define TK_FIDO2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* authenticator data flags (WebAuthn) */
#define TK_FIDO2_FLAG_UP	0x01u	/* user present (touch) */
#define TK_FIDO2_FLAG_UV	0x04u	/* user verified (PIN, biometric) */

/* the allowed algorithms, in order of preference (ALGORITHMS) */
#define TK_FIDO2_ALGORITHMS	"es256,eddsa,rs256"

enum tk_fido2_verdict {
	TK_FIDO2_OK = 0,	/* verified */
	TK_FIDO2_BAD = 1,	/* does not verify: signature, RP ID hash,
				   flags, encoding or algorithm wrong */
	TK_FIDO2_REFUSED = 2	/* verifies or not, policy refuses it:
				   attestation format "none", or no user
				   verification where it is required */
};

/* an attestation as FIDO2_ENROLL_FINISH carries it (borrowed bytes) */
struct tk_fido2_attestation {
	int			 alg;		/* enum tk_fido2_alg */
	const char		*fmt;		/* "packed", ... */
	const unsigned char	*authdata;	/* raw, not CBOR-wrapped */
	size_t			 authdata_len;
	const unsigned char	*sig;		/* NULL: none sent */
	size_t			 sig_len;
	const unsigned char	*x5c;		/* NULL: self attestation */
	size_t			 x5c_len;
};

/* an assertion as FIDO2_FINISH carries it (borrowed bytes) */
struct tk_fido2_assertion {
	const unsigned char	*authdata;	/* raw, not CBOR-wrapped */
	size_t			 authdata_len;
	const unsigned char	*sig;
	size_t			 sig_len;
};

/* Initialises libfido2 once per process (fido_init). */
void tk_fido2_init(void);

/* "es256", "eddsa", "rs256" <-> enum tk_fido2_alg; parse: 0 or TK_ERR_INVAL */
int tk_fido2_alg_parse(const char *name, int *alg);
const char *tk_fido2_alg_name(int alg);		/* NULL when unknown */
/* "required", "preferred", "discouraged" <-> enum tk_fido2_uv */
int tk_fido2_uv_parse(const char *name, int *uv);
const char *tk_fido2_uv_name(int uv);		/* NULL when unknown */

/*
 * Verifies attestation `att' of a new credential for relying party
 * `rp_id' over client data hash `cdh': fido_cred_verify() when it holds
 * an attestation certificate, fido_cred_verify_self() when not; format
 * "none" is refused before anything else.  With `uv_required' a
 * credential made without user verification is refused.  On
 * TK_FIDO2_OK fills the FIDO2 fields of *c (cred_id and pubkey
 * malloc'd, owned by *c; aaguid, fmt, flags, sign_count, algorithm).
 * Returns 0 with *verdict and *why (a static English reason, NULL for
 * OK), or TK_ERR_NOMEM / TK_ERR_INVAL (no verdict could be reached).
 */
int tk_fido2_verify_attestation(const char *rp_id,
    const unsigned char cdh[TK_FIDO2_CHALLENGE_BYTES],
    const struct tk_fido2_attestation *att, bool uv_required,
    struct tk_cred *c, enum tk_fido2_verdict *verdict, const char **why);

/*
 * Verifies assertion `as' made by FIDO2 credential `c' (its stored
 * public key and algorithm) for `rp_id' over client data hash `cdh'
 * as libfido2's fido_assert_verify() would (fido2.c, invariant 7):
 * signature, RP ID hash, user presence, user verification when
 * `uv_required', no unrequested extension; the signature is checked
 * with OpenSSL and a key cached per credential (fido2_keycache.h).
 * The signature counter is NOT checked here (the store's clone check
 * does it): *sign_count is the counter the assertion holds.  Returns 0
 * with *verdict (OK or BAD) and *why, or TK_ERR_NOMEM / TK_ERR_INVAL.
 */
int tk_fido2_verify_assertion(const char *rp_id,
    const unsigned char cdh[TK_FIDO2_CHALLENGE_BYTES],
    const struct tk_cred *c, const struct tk_fido2_assertion *as,
    bool uv_required, enum tk_fido2_verdict *verdict, const char **why,
    uint32_t *sign_count);

#endif /* TK_FIDO2_H */
