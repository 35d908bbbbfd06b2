/*
 * fido2_api.h -- the one entry point of the FIDO2 object
 * (tokend_fido2.so), which pam_tokend.so loads only when a login tries
 * the FIDO2 factor (fido2_load.c), so that a TOTP login never loads
 * libfido2, libcrypto and libudev.
 *
 * The object exports one symbol, TK_PAM_FIDO2_SYMBOL, a struct
 * tk_pam_fido2_api whose `abi' must equal TK_PAM_FIDO2_ABI: the loader
 * refuses any other (an object left over from another version).  Change
 * the number with any change to this file.
 */
#ifndef TK_PAM_FIDO2_API_H
#define TK_PAM_FIDO2_API_H

#include <stdbool.h>

#include "login.h"
#include "outcome.h"

#define TK_PAM_FIDO2_ABI	1
#define TK_PAM_FIDO2_SYMBOL	"tk_pam_fido2_api"
#define TK_PAM_FIDO2_OBJECT	"tokend_fido2.so"

struct tk_pam_fido2_api {
	unsigned	 abi;		/* TK_PAM_FIDO2_ABI */
	/* tk_fido2_run() of fido2.h, run inside the object */
	void		(*run)(const struct tk_login *,
			    struct tk_pam_outcome *, bool *);
};

/* The FIDO2 factor itself (fido2.c), behind the object's entry point. */
void tk_fido2_login(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback);

#endif /* TK_PAM_FIDO2_API_H */
