/*
 * fido2_api.h -- the one entry point of the FIDO2 object
 * (tokend_fido2.so), which pam_tokend.so loads only when a login tries
 * the FIDO2 factor (fido2_load.c), so that a TOTP login never loads
 * libfido2, libcrypto and libudev.
 *
 * The object exports one symbol, TK_PAM_FIDO2_SYMBOL, a struct
 * tk_pam_fido2_api.  The loader reads `abi' first and refuses any value
 * but TK_PAM_FIDO2_ABI (an object left over from another version), and
 * then refuses an object whose package version or whose sizes of the
 * structures passed across (struct tk_login, struct tk_conf, struct
 * tk_pam_outcome) differ from its own: the two files come from one
 * build and are installed together.  Change TK_PAM_FIDO2_ABI with any
 * change to this file; `abi' stays the first member.
 */
#ifndef TK_PAM_FIDO2_API_H
#define TK_PAM_FIDO2_API_H

#include <stdbool.h>
#include <stddef.h>

#include "login.h"
#include "outcome.h"

#define TK_PAM_FIDO2_ABI	2
#define TK_PAM_FIDO2_SYMBOL	"tk_pam_fido2_api"
#define TK_PAM_FIDO2_OBJECT	"tokend_fido2.so"

struct tk_pam_fido2_api {
	unsigned	 abi;		/* TK_PAM_FIDO2_ABI, first */
	const char	*version;	/* PACKAGE_VERSION */
	size_t		 login_size;	/* sizeof(struct tk_login) */
	size_t		 conf_size;	/* sizeof(struct tk_conf) */
	size_t		 outcome_size;	/* sizeof(struct tk_pam_outcome) */
	/* tk_fido2_run() of fido2.h, run inside the object */
	void		(*run)(const struct tk_login *,
			    struct tk_pam_outcome *, bool *);
};

/* The FIDO2 factor itself (fido2.c), behind the object's entry point. */
void tk_fido2_login(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback);

#endif /* TK_PAM_FIDO2_API_H */
