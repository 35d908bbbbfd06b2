/*
 * totp.h -- the TOTP factor: prompt for a code, check its shape, send
 * TOTP_VERIFY with the login context, take tokend's verdict.
 */
#ifndef TK_PAM_TOTP_H
#define TK_PAM_TOTP_H

#include "login.h"
#include "outcome.h"

/*
 * Returns 0 when `code' has the shape of a TOTP code (1..TK_CODE_MAX
 * ASCII digits and nothing else) or of a recovery code
 * (tk_totp_recovery_shape).  Returns TK_PAM_ERR_INPUT for NULL, empty,
 * over-long or other input.  Says nothing about whether the code is
 * right: only tokend knows.
 */
int tk_totp_code_check(const char *code);
/*
 * Returns 0 when `code' has the shape of a recovery code: 12 letters or
 * digits (not u), either case, or the same as xxxx-xxxx-xxxx; else
 * TK_PAM_ERR_INPUT.
 */
int tk_totp_recovery_shape(const char *code);

/*
 * Asks for a code and has tokend verify it; stores the result in *out.
 * The typed code is wiped as soon as it is copied into the request,
 * and the request when it has been sent.
 */
void tk_totp_run(const struct tk_login *l, struct tk_pam_outcome *out);

#endif /* TK_PAM_TOTP_H */
