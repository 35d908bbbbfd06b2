/*
 * test_pam.c -- unit tests of pam_tokend.so's code (libpamtokend):
 * module options, the outcome -> PAM code table, code and user checks,
 * the conversation, and whole pam_sm_authenticate runs against faked,
 * a scripted tokend.  Loading the module through libpam's stack is the
 * job of tests/pam.
 */
#include "config.h"

#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "args.h"
#include "conf.h"
#include "conv.h"
#include "err.h"
#include "faked.h"
#include "login.h"
#include "outcome.h"
#include "totp.h"
#include "wipe.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* --- the fake conversation --- */

enum conv_mode {
	CONV_ANSWER,		/* answer prompts with cv.answer */
	CONV_NULL_TEXT,		/* success, but a NULL text (Ctrl-D) */
	CONV_NULL_RESP,		/* success, but no response array */
	CONV_FAIL		/* PAM_CONV_ERR */
};

static struct {
	enum conv_mode	 mode;
	const char	*answer;	/* echo-off prompts */
	const char	*login;		/* echo-on prompts (user name) */
	int		 prompts;	/* echo-off prompts seen */
	int		 infos;
	int		 errors;
	char		 prompt[128];
	char		 error[256];
} cv;

static int
fake_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (cv.mode == CONV_FAIL)
		return (PAM_CONV_ERR);
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return (PAM_BUF_ERR);
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			cv.prompts++;
			snprintf(cv.prompt, sizeof(cv.prompt), "%s",
			    msg[i]->msg);
			if (cv.mode == CONV_ANSWER && cv.answer != NULL)
				r[i].resp = strdup(cv.answer);
			break;
		case PAM_PROMPT_ECHO_ON:
			if (cv.login != NULL)
				r[i].resp = strdup(cv.login);
			break;
		case PAM_ERROR_MSG:
			cv.errors++;
			snprintf(cv.error, sizeof(cv.error), "%s", msg[i]->msg);
			break;
		case PAM_TEXT_INFO:
			cv.infos++;
			break;
		}
	}
	if (cv.mode == CONV_NULL_RESP) {
		free(r);
		return (PAM_SUCCESS);
	}
	*resp = r;
	return (PAM_SUCCESS);
}

/* --- fixtures --- */

static struct faked fd_;
static char confdir[64];
static char conffile[160];
static char cfgarg[200];
static char sockarg[200];

static void
conv_reset(void)
{
	memset(&cv, 0, sizeof(cv));
	cv.mode = CONV_ANSWER;
	cv.answer = "123456";
	cv.login = "alice";
}

static int
write_file(const char *path, const char *text)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		return (-1);
	fputs(text, fp);
	return (fclose(fp));
}

static int
group_setup(void **state)
{
	struct passwd *pw;
	char text[512];

	if (faked_start(&fd_) != 0)
		return (-1);
	if ((pw = getpwuid(geteuid())) == NULL)
		return (-1);
	snprintf(confdir, sizeof(confdir), "%s", fd_.dir);
	snprintf(conffile, sizeof(conffile), "%s/tokend.conf", fd_.dir);
	snprintf(text, sizeof(text), "[tokend]\nsocket = %s\nuser = %s\n"
	    "[pam]\ntimeout = 7\n", fd_.socket, pw->pw_name);
	if (write_file(conffile, text) != 0 || chmod(conffile, 0600) != 0)
		return (-1);
	snprintf(cfgarg, sizeof(cfgarg), "config=%s", conffile);
	snprintf(sockarg, sizeof(sockarg), "socket=%s", fd_.socket);
	snprintf(text, sizeof(text), "%s/tokend-test", fd_.dir);
	if (write_file(text, "auth required pam_permit.so\n") != 0)
		return (-1);
	return (0);
}

static int
group_teardown(void **state)
{
	char path[200];

	unlink(conffile);
	snprintf(path, sizeof(path), "%s/tokend-test", fd_.dir);
	unlink(path);
	faked_stop(&fd_);
	return (0);
}

static int
case_setup(void **state)
{
	faked_reset(&fd_);
	conv_reset();
	return (0);
}

/* Runs pam_sm_authenticate for `user' with the given arguments. */
static int
run_auth(const char *user, int flags, int argc, const char **argv)
{
	struct pam_conv conv = { fake_conv, NULL };
	pam_handle_t *pamh = NULL;
	int rc;

	assert_int_equal(pam_start_confdir("tokend-test", user, &conv,
	    confdir, &pamh), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_TTY, "tty7"), PAM_SUCCESS);
	rc = pam_sm_authenticate(pamh, flags, argc, argv);
	pam_end(pamh, rc);
	return (rc);
}

/* the module's usual arguments: config= and nothing else */
static int
run_default(void)
{
	const char *argv[] = { cfgarg };

	return (run_auth("alice", 0, 1, argv));
}

/* --- options --- */

static int
parse(struct tk_conf *c, int argc, const char **argv)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	return (tk_args_parse(c, argc, argv, err, sizeof(err)));
}

static void
args_every_option(void **state)
{
	struct tk_conf c;
	const char *argv[] = { cfgarg, "socket=/run/other/socket",
	    "timeout=5", "factors=totp", "nullok", "cue", "debug" };

	assert_int_equal(parse(&c, NITEMS(argv), argv), 0);
	assert_string_equal(c.socket, "/run/other/socket");
	assert_int_equal(c.timeout, 5);
	assert_string_equal(c.factors, "totp");
	assert_true(c.nullok);
	assert_true(c.cue);
	assert_true(c.debug);
	tk_conf_clear(&c);
}

static void
args_file_then_overrides(void **state)
{
	struct tk_conf c;
	const char *file_only[] = { cfgarg };
	const char *override[] = { "timeout=3", cfgarg };

	/* the file's values ... */
	assert_int_equal(parse(&c, NITEMS(file_only), file_only), 0);
	assert_string_equal(c.socket, fd_.socket);
	assert_int_equal(c.timeout, 7);
	assert_false(c.nullok);
	assert_false(c.cue);
	assert_false(c.debug);
	tk_conf_clear(&c);
	/* ... lose to arguments, wherever config= stands */
	assert_int_equal(parse(&c, NITEMS(override), override), 0);
	assert_int_equal(c.timeout, 3);
	tk_conf_clear(&c);
}

static void
args_refused(void **state)
{
	static const char *const bad[] = {
		"nulok", "foo=bar", "nullok=1", "debug=yes", "cue=", "",
		"timeout=", "timeout=abc", "timeout=0", "timeout=99999",
		"timeout=-1", "timeout=5s", "factors=", "factors=sms",
		"factors=totp,,totp", "socket=", "socket=relative/path",
		"config=", "config=/nonexistent/tokend.conf", "=x", "NULLOK",
	};
	struct tk_conf c;
	const char *argv[2];
	size_t i;

	for (i = 0; i < NITEMS(bad); i++) {
		argv[0] = cfgarg;
		argv[1] = bad[i];
		if (strncmp(bad[i], "config=", 7) == 0)
			argv[0] = bad[i];
		if (parse(&c, strncmp(bad[i], "config=", 7) == 0 ? 1 : 2,
		    argv) != TK_ERR_CONFIG)
			fail_msg("option \"%s\" was accepted", bad[i]);
		tk_conf_clear(&c);
	}
	/* config= twice */
	argv[0] = cfgarg;
	argv[1] = cfgarg;
	assert_int_equal(parse(&c, 2, argv), TK_ERR_CONFIG);
	tk_conf_clear(&c);
	/* a NULL argument */
	argv[0] = cfgarg;
	argv[1] = NULL;
	assert_int_equal(parse(&c, 2, argv), TK_ERR_CONFIG);
	tk_conf_clear(&c);
}

/* --- the outcome -> PAM code table --- */

static int
code_of(int err, enum tk_status st, bool nullok)
{
	struct tk_pam_outcome o = TK_PAM_OUTCOME_INIT;

	o.err = err;
	o.status = st;
	return (tk_pam_code(&o, nullok));
}

static void
map_errors(void **state)
{
	static const struct {
		int	err;
		int	pam;
	} table[] = {
		{ TK_ERR_NOMEM, PAM_BUF_ERR },
		{ TK_ERR_INVAL, PAM_SERVICE_ERR },
		{ TK_ERR_IO, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_TIMEOUT, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_CLOSED, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_PROTO, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_TOOBIG, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_CONNECT, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_UNTRUSTED, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_VERSION, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_ABSENT, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_CONFIG, PAM_SERVICE_ERR },
		{ TK_ERR_STORE, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_CRYPTO, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_PERM, PAM_SERVICE_ERR },
		{ TK_ERR_EXISTS, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_NOTFOUND, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_REPLAY, PAM_AUTHINFO_UNAVAIL },
		{ TK_ERR_FULL, PAM_AUTHINFO_UNAVAIL },
		{ TK_PAM_ERR_CONV, PAM_CONV_ERR },
		{ TK_PAM_ERR_INPUT, PAM_AUTH_ERR },
		{ TK_PAM_ERR_USER, PAM_USER_UNKNOWN },
		{ -99, PAM_AUTHINFO_UNAVAIL },
		{ 1, PAM_AUTHINFO_UNAVAIL },
	};
	size_t i;
	int st, nullok, rc;

	/* every TK_ERR_* is in the table */
	assert_int_equal(TK_ERR_FULL, -19);
	for (i = 0; i < NITEMS(table); i++)
		for (st = 0; st <= TK_ST_END; st++)
			for (nullok = 0; nullok <= 1; nullok++) {
				rc = code_of(table[i].err, (enum tk_status)st,
				    nullok);
				if (rc != table[i].pam)
					fail_msg("error %d status %d: %d, "
					    "expected %d", table[i].err, st,
					    rc, table[i].pam);
				assert_int_not_equal(rc, PAM_SUCCESS);
				assert_int_not_equal(rc, PAM_IGNORE);
			}
}

static void
map_statuses(void **state)
{
	static const struct {
		enum tk_status	st;
		int		pam;		/* without nullok */
		int		pam_nullok;
	} table[] = {
		{ TK_ST_OK, PAM_SUCCESS, PAM_SUCCESS },
		{ TK_ST_WRONG, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_REPLAY, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_LOCKED, PAM_MAXTRIES, PAM_MAXTRIES },
		{ TK_ST_NOT_ENROLLED, PAM_AUTH_ERR, PAM_IGNORE },
		{ TK_ST_THROTTLED, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_DENIED, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_BAD_REQUEST, PAM_AUTHINFO_UNAVAIL,
		    PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_NOT_FOUND, PAM_AUTHINFO_UNAVAIL,
		    PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_EXISTS, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_INTERNAL, PAM_AUTHINFO_UNAVAIL,
		    PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_VERSION, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_EXPIRED, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		/* granted passes only through login.c's GRANT_USE step */
		{ TK_ST_GRANTED, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_END, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ (enum tk_status)999, PAM_AUTHINFO_UNAVAIL,
		    PAM_AUTHINFO_UNAVAIL },
	};
	size_t i;

	assert_int_equal(TK_ST_END, 14);
	for (i = 0; i < NITEMS(table); i++) {
		assert_int_equal(code_of(0, table[i].st, false), table[i].pam);
		assert_int_equal(code_of(0, table[i].st, true),
		    table[i].pam_nullok);
	}
}

static void
map_initial_state_fails(void **state)
{
	struct tk_pam_outcome o = TK_PAM_OUTCOME_INIT;

	assert_int_equal(tk_pam_code(&o, false), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(tk_pam_code(&o, true), PAM_AUTHINFO_UNAVAIL);
}

/* --- input checks --- */

static void
code_shapes(void **state)
{
	char longest[TK_CODE_MAX + 1], over[TK_CODE_MAX + 2];
	static const char *const bad[] = {
		"", "12a456", " 123456", "123456 ", "123456\n", "-12345",
		"+123456", "12 3456", "\xef\xbc\x91\xef\xbc\x92", "0x1234",
	};
	static const char *const recovery_ok[] = {
		"abcd-efgh-jkmn", "ABCD-EFGH-JKMN", "abcdefghjkmn",
		"0il0-1234-zzzz", "123456789012",
	};
	static const char *const recovery_bad[] = {
		"abcd-efgh-jkm", "abcd-efgh-jkmnp", "abcdefghjkm",
		"abcd_efgh_jkmn", "abcde-fghj-kmn", "abcd-efgh-jkmu",
		"abcd efgh jkmn", "abcd-efgh-jkm\n", "abcd--efghjkm",
		"abcd-efgh-jkm!",
	};
	size_t i;

	memset(longest, '7', TK_CODE_MAX);
	longest[TK_CODE_MAX] = '\0';
	memset(over, '7', TK_CODE_MAX + 1);
	over[TK_CODE_MAX + 1] = '\0';
	assert_int_equal(tk_totp_code_check("123456"), 0);
	assert_int_equal(tk_totp_code_check("00000000"), 0);
	assert_int_equal(tk_totp_code_check(longest), 0);
	assert_int_equal(tk_totp_code_check(NULL), TK_PAM_ERR_INPUT);
	assert_int_equal(tk_totp_code_check(over), TK_PAM_ERR_INPUT);
	for (i = 0; i < NITEMS(bad); i++)
		if (tk_totp_code_check(bad[i]) != TK_PAM_ERR_INPUT)
			fail_msg("code \"%s\" accepted", bad[i]);
	/* recovery codes: 12 letters or digits, or xxxx-xxxx-xxxx */
	for (i = 0; i < NITEMS(recovery_ok); i++)
		if (tk_totp_code_check(recovery_ok[i]) != 0)
			fail_msg("recovery code \"%s\" refused",
			    recovery_ok[i]);
	for (i = 0; i < NITEMS(recovery_bad); i++)
		if (tk_totp_code_check(recovery_bad[i]) != TK_PAM_ERR_INPUT)
			fail_msg("\"%s\" accepted", recovery_bad[i]);
}

static void
user_shapes(void **state)
{
	char longest[TK_USER_MAX + 1], over[TK_USER_MAX + 2];

	memset(longest, 'u', TK_USER_MAX);
	longest[TK_USER_MAX] = '\0';
	memset(over, 'u', TK_USER_MAX + 1);
	over[TK_USER_MAX + 1] = '\0';
	assert_int_equal(tk_login_check_user("alice"), 0);
	assert_int_equal(tk_login_check_user(longest), 0);
	assert_int_equal(tk_login_check_user(NULL), TK_PAM_ERR_USER);
	assert_int_equal(tk_login_check_user(""), TK_PAM_ERR_USER);
	assert_int_equal(tk_login_check_user(over), TK_PAM_ERR_USER);
	assert_int_equal(tk_login_check_user("al\nice"), TK_PAM_ERR_USER);
	assert_int_equal(tk_login_check_user("al\x7fice"), TK_PAM_ERR_USER);
}

/* --- the conversation --- */

static void
conv_prompt(void **state)
{
	struct pam_conv conv = { fake_conv, NULL };
	struct pam_conv noconv = { NULL, NULL };
	pam_handle_t *pamh = NULL;
	char *answer = NULL;

	assert_int_equal(pam_start_confdir("tokend-test", "alice", &conv,
	    confdir, &pamh), PAM_SUCCESS);

	assert_int_equal(tk_conv_prompt(pamh, "Code: ", &answer), 0);
	assert_string_equal(answer, "123456");
	assert_string_equal(cv.prompt, "Code: ");
	tk_strfreezero(answer);

	cv.mode = CONV_NULL_TEXT;
	assert_int_equal(tk_conv_prompt(pamh, "Code: ", &answer),
	    TK_PAM_ERR_CONV);
	assert_null(answer);
	cv.mode = CONV_NULL_RESP;
	assert_int_equal(tk_conv_prompt(pamh, "Code: ", &answer),
	    TK_PAM_ERR_CONV);
	assert_null(answer);
	cv.mode = CONV_FAIL;
	assert_int_equal(tk_conv_prompt(pamh, "Code: ", &answer),
	    TK_PAM_ERR_CONV);
	assert_null(answer);
	assert_int_equal(tk_conv_error(pamh, "x"), TK_PAM_ERR_CONV);

	cv.mode = CONV_ANSWER;
	assert_int_equal(tk_conv_error(pamh, "boom"), 0);
	assert_string_equal(cv.error, "boom");
	assert_int_equal(tk_conv_info(pamh, "hello"), 0);
	assert_int_equal(cv.infos, 1);

	/* an application without a conversation function */
	assert_int_equal(pam_set_item(pamh, PAM_CONV, &noconv), PAM_SUCCESS);
	assert_int_equal(tk_conv_prompt(pamh, "Code: ", &answer),
	    TK_PAM_ERR_CONV);
	assert_null(answer);
	pam_end(pamh, PAM_SUCCESS);
}

/* --- whole runs of pam_sm_authenticate against faked --- */

static void
auth_success(void **state)
{
	assert_int_equal(run_default(), PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_USER_STATUS], 1);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	assert_string_equal(fd_.user, "alice");
	assert_string_equal(fd_.code, "123456");
	assert_string_equal(fd_.service, "tokend-test");
	assert_string_equal(fd_.tty, "tty7");
	assert_string_equal(cv.prompt, "Verification code: ");
	assert_int_equal(cv.errors, 0);
}

static void
auth_wrong_and_replay(void **state)
{
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	assert_string_equal(cv.error, "Wrong or already used code.");
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_REPLAY;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
}

static void
auth_locked(void **state)
{
	/* locked before the prompt: no code is asked for */
	fd_.locked = true;
	assert_int_equal(run_default(), PAM_MAXTRIES);
	assert_int_equal(cv.prompts, 0);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
	assert_non_null(strstr(cv.error, "administrator"));
	/* locked by this very attempt */
	fd_.locked = false;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_LOCKED;
	assert_int_equal(run_default(), PAM_MAXTRIES);
}

static void
auth_throttled(void **state)
{
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_THROTTLED;
	fd_.retry_after = 30;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	assert_string_equal(cv.error, "Too many attempts; wait 30 seconds.");
}

static void
auth_not_enrolled(void **state)
{
	const char *nullok[] = { cfgarg, "nullok" };

	fd_.factors = 0;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_IGNORE);
	assert_int_equal(cv.prompts, 0);
	/* tokend's own "not enrolled" answer, to either request */
	fd_.factors = TK_FACTOR_TOTP;
	fd_.status[TK_MSG_USER_STATUS] = TK_ST_NOT_ENROLLED;
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_IGNORE);
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	fd_.status[TK_MSG_USER_STATUS] = TK_ST_OK;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_NOT_ENROLLED;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	/* nullok never turns an error into PAM_IGNORE */
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_INTERNAL;
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
}

/* an emergency grant: only GRANT_USE's "granted" passes, without a prompt */
static void
auth_grant(void **state)
{
	const char *nullok[] = { cfgarg, "nullok" };

	fd_.grant_until = 1900000000;
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_GRANTED;
	assert_int_equal(run_default(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 0);
	assert_int_equal(cv.infos, 1);
	assert_int_equal(fd_.count[TK_MSG_GRANT_USE], 1);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
	/* also for a user with no factor at all */
	fd_.factors = 0;
	assert_int_equal(run_default(), PAM_SUCCESS);
	fd_.factors = TK_FACTOR_TOTP;
	/* "ok" to GRANT_USE is not a pass */
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_OK;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
	/* "granted" without its end is a broken answer */
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_GRANTED;
	fd_.grant_no_expires = true;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	fd_.grant_no_expires = false;
	/* errors and refusals stay failures */
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_INTERNAL;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_DENIED;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_LOCKED;
	assert_int_equal(run_default(), PAM_MAXTRIES);
	/* the grant ended meanwhile: the factor is asked as usual */
	cv.prompts = 0;
	fd_.count[TK_MSG_TOTP_VERIFY] = 0;
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_EXPIRED;
	assert_int_equal(run_default(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 1);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_NOT_FOUND;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	/* "granted" to the verification request is no pass either */
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_GRANTED;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	/* locked: refused before the grant is even tried */
	fd_.count[TK_MSG_GRANT_USE] = 0;
	fd_.status[TK_MSG_GRANT_USE] = TK_ST_GRANTED;
	fd_.locked = true;
	assert_int_equal(run_default(), PAM_MAXTRIES);
	assert_int_equal(fd_.count[TK_MSG_GRANT_USE], 0);
	/* no grant in USER_STATUS: GRANT_USE is never sent */
	fd_.locked = false;
	fd_.grant_until = 0;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_OK;
	assert_int_equal(run_default(), PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_GRANT_USE], 0);
}

/* a recovery code: sent as typed, "N left" shown */
static void
auth_recovery(void **state)
{
	const char *nullok[] = { cfgarg, "nullok" };

	fd_.factors = TK_FACTOR_RECOVERY;	/* no TOTP: still prompted */
	fd_.recovery_left = 3;
	cv.answer = "ABCD-efgh-jkmn";
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_SUCCESS);
	assert_int_equal(cv.prompts, 1);
	assert_string_equal(fd_.code, "ABCD-efgh-jkmn");
	assert_int_equal(cv.infos, 1);
	fd_.recovery_left = 0;
	assert_int_equal(run_default(), PAM_SUCCESS);
	assert_int_equal(cv.infos, 2);
	/* a malformed one never reaches tokend */
	fd_.count[TK_MSG_TOTP_VERIFY] = 0;
	cv.answer = "abcd-efgh-jkmu";
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
}

static void
auth_daemon_trouble(void **state)
{
	const char *gone[] = { cfgarg, "socket=/nonexistent/tokend/socket" };

	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_INTERNAL;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_BAD_REQUEST;
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_DENIED;
	assert_int_equal(run_default(), PAM_AUTH_ERR);
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_OK;
	fd_.status[TK_MSG_USER_STATUS] = TK_ST_INTERNAL;
	conv_reset();
	assert_int_equal(run_default(), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cv.prompts, 0);
	assert_int_equal(run_auth("alice", 0, NITEMS(gone), gone),
	    PAM_AUTHINFO_UNAVAIL);
}

static void
auth_bad_input_never_sent(void **state)
{
	static const char *const bad[] = { "", "12ab56", "123456789012345678"
	    "901234567890123", " 123456" };
	size_t i;

	for (i = 0; i < NITEMS(bad); i++) {
		cv.answer = bad[i];
		assert_int_equal(run_default(), PAM_AUTH_ERR);
	}
	cv.mode = CONV_NULL_TEXT;
	assert_int_equal(run_default(), PAM_CONV_ERR);
	cv.mode = CONV_NULL_RESP;
	assert_int_equal(run_default(), PAM_CONV_ERR);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
}

static void
auth_conversation_fails(void **state)
{
	cv.mode = CONV_FAIL;
	assert_int_equal(run_default(), PAM_CONV_ERR);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
}

static void
auth_bad_option(void **state)
{
	const char *argv[] = { cfgarg, "nulok" };

	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_SERVICE_ERR);
	assert_int_equal(fd_.count[TK_MSG_USER_STATUS], 0);
}

static void
auth_bad_user(void **state)
{
	/* pam_get_user asks the conversation, which answers nothing */
	cv.login = "";
	assert_int_equal(run_auth(NULL, 0, 1, (const char *[]){ cfgarg }),
	    PAM_USER_UNKNOWN);
	assert_int_equal(run_auth("bad\tname", 0, 1,
	    (const char *[]){ cfgarg }), PAM_USER_UNKNOWN);
	assert_int_equal(fd_.count[TK_MSG_USER_STATUS], 0);
}

static void
auth_silent_and_cue(void **state)
{
	const char *cue[] = { cfgarg, "cue" };

	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_auth("alice", PAM_SILENT, 1,
	    (const char *[]){ cfgarg }), PAM_AUTH_ERR);
	assert_int_equal(cv.errors, 0);
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_OK;
	assert_int_equal(run_auth("alice", 0, NITEMS(cue), cue), PAM_SUCCESS);
	assert_int_equal(cv.infos, 1);
}

static void
setcred_succeeds(void **state)
{
	assert_int_equal(pam_sm_setcred(NULL, 0, 0, NULL), PAM_SUCCESS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(args_every_option, case_setup),
		cmocka_unit_test_setup(args_file_then_overrides, case_setup),
		cmocka_unit_test_setup(args_refused, case_setup),
		cmocka_unit_test(map_errors),
		cmocka_unit_test(map_statuses),
		cmocka_unit_test(map_initial_state_fails),
		cmocka_unit_test(code_shapes),
		cmocka_unit_test(user_shapes),
		cmocka_unit_test_setup(conv_prompt, case_setup),
		cmocka_unit_test_setup(auth_success, case_setup),
		cmocka_unit_test_setup(auth_wrong_and_replay, case_setup),
		cmocka_unit_test_setup(auth_locked, case_setup),
		cmocka_unit_test_setup(auth_throttled, case_setup),
		cmocka_unit_test_setup(auth_not_enrolled, case_setup),
		cmocka_unit_test_setup(auth_grant, case_setup),
		cmocka_unit_test_setup(auth_recovery, case_setup),
		cmocka_unit_test_setup(auth_daemon_trouble, case_setup),
		cmocka_unit_test_setup(auth_bad_input_never_sent, case_setup),
		cmocka_unit_test_setup(auth_conversation_fails, case_setup),
		cmocka_unit_test_setup(auth_bad_option, case_setup),
		cmocka_unit_test_setup(auth_bad_user, case_setup),
		cmocka_unit_test_setup(auth_silent_and_cue, case_setup),
		cmocka_unit_test(setcred_succeeds),
	};

	return (cmocka_run_group_tests_name("pam_tokend", tests,
	    group_setup, group_teardown));
}
