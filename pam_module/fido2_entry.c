/*
 * fido2_entry.c -- the entry point of the FIDO2 object (fido2_api.h).
 * The object has its own copy of the common code, so its log sink,
 * which pam_tokend.so set for this PAM handle, is set again here, and
 * cleared on the way out.
 */
#include "config.h"

#include "fido2_api.h"
#include "i18n.h"
#include "pamlog.h"

static void
tk_fido2_entry_run(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback)
{
	tk_pamlog_begin(l->pamh, l->conf->debug);
	tk_i18n_init();
	tk_fido2_login(l, out, fallback);
	tk_pamlog_end();
}

/* the object's only exported symbol (fido2_export.sym) */
extern const struct tk_pam_fido2_api tk_pam_fido2_api;
const struct tk_pam_fido2_api tk_pam_fido2_api = {
	.abi = TK_PAM_FIDO2_ABI,
	.version = PACKAGE_VERSION,
	.login_size = sizeof(struct tk_login),
	.conf_size = sizeof(struct tk_conf),
	.outcome_size = sizeof(struct tk_pam_outcome),
	.run = tk_fido2_entry_run,
};
