/*
 * fido2_mock.c -- stand-ins for the FIDO2 object (tokend_fido2.so) for
 * fido2_object.sh, built four times: with MOCK_ABI, MOCK_VERSION and
 * MOCK_LOGIN_SIZE as fido2_api.h has them (fido2_mock.so, the control),
 * and with each of the three changed (fido2_badabi.so, fido2_badver.so,
 * fido2_badsize.so).  Each one's run() lets the login pass without any
 * key or tokend: pam_tokend.so must refuse the three mismatched ones
 * before running any of their code, so a login through one of them that
 * passes is a hole.  Test code only, never installed.
 */
#include "config.h"

#include "conf.h"
#include "fido2_api.h"

#ifndef MOCK_ABI
#define MOCK_ABI	TK_PAM_FIDO2_ABI
#endif
#ifndef MOCK_VERSION
#define MOCK_VERSION	PACKAGE_VERSION
#endif
#ifndef MOCK_LOGIN_SIZE
#define MOCK_LOGIN_SIZE	sizeof(struct tk_login)
#endif

static void
mock_run(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback)
{
	(void)l;
	out->err = 0;
	out->status = TK_ST_OK;
	out->factor = TK_FACTOR_FIDO2;
	*fallback = false;
}

extern const struct tk_pam_fido2_api tk_pam_fido2_api;
const struct tk_pam_fido2_api tk_pam_fido2_api = {
	.abi = MOCK_ABI,
	.version = MOCK_VERSION,
	.login_size = MOCK_LOGIN_SIZE,
	.conf_size = sizeof(struct tk_conf),
	.outcome_size = sizeof(struct tk_pam_outcome),
	.run = mock_run,
};
