/*
 * fido2.h -- the FIDO2 factor: FIDO2_BEGIN, find the security key (wait
 * for it up to fido2_wait), ask its PIN when the login needs user
 * verification the key cannot give by itself, get the assertion within
 * a bounded time, FIDO2_FINISH, take tokend's verdict.
 */
#ifndef TK_PAM_FIDO2_H
#define TK_PAM_FIDO2_H

#include <stdbool.h>
#include <stddef.h>

#include "login.h"
#include "outcome.h"

/*
 * Runs the FIDO2 factor for l->user and stores the result in *out
 * (out->factor is TK_FACTOR_FIDO2), in the FIDO2 object that it loads
 * for the call and unloads after it (fido2_load.c).  When that object
 * is missing, unsafe or of another version, out->err says so, the
 * person is told that security keys cannot be used here, and
 * *fallback is set.  The person is told about every
 * failure of the key (unless l->silent); tokend's verdicts are left to
 * login.c.
 *
 * *fallback is set when the failure happened before any assertion
 * reached tokend and the person may be offered the next factor of
 * factors= instead: no key appeared within fido2_wait, the key failed
 * or refused (wrong or blocked PIN, no touch, removed, not registered,
 * no user verification), or FIDO2_BEGIN said the user has no FIDO2
 * credential.  It is never set for a verdict of FIDO2_FINISH, a lockout,
 * throttling, a failed conversation, or trouble with tokend.
 */
void tk_fido2_run(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback);

/*
 * Authenticator data as libfido2 returns it (fido_assert_authdata_ptr)
 * is one CBOR byte string; FIDO2_FINISH carries its content.  Sets *raw
 * and *rawlen to the content inside `cbor' (no copy).  Returns 0, or
 * TK_ERR_PROTO when `cbor' is not exactly one definite byte string of
 * 1..TK_FIDO2_AUTHDATA_MAX bytes.
 */
int tk_fido2_authdata_raw(const unsigned char *cbor, size_t len,
    const unsigned char **raw, size_t *rawlen);

#endif /* TK_PAM_FIDO2_H */
