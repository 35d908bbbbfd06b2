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
#include <time.h>
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
#include "fido2.h"
#include "softkey.h"

#include <fido/es256.h>
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

#define ANSWERS_MAX	8
#define TRANSCRIPT_MAX	4096

static struct {
	enum conv_mode	 mode;
	const char	*answer;	/* echo-off prompts */
	const char	*answers[ANSWERS_MAX];	/* if set: these, in order,
						   then no answer */
	int		 next;
	void		(*on_prompt)(void);	/* once, at the next prompt */
	const char	*login;		/* echo-on prompts (user name) */
	int		 prompts;	/* echo-off prompts seen */
	int		 infos;
	int		 errors;
	char		 prompt[128];
	char		 error[256];
	char		 transcript[TRANSCRIPT_MAX]; /* "STYLE: text\n"... */
} cv;

static void
transcribe(const char *style, const char *text)
{
	size_t len = strlen(cv.transcript);

	snprintf(cv.transcript + len, sizeof(cv.transcript) - len, "%s: %s\n",
	    style, text);
}

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
			if (cv.on_prompt != NULL) {
				void (*f)(void) = cv.on_prompt;

				cv.on_prompt = NULL;
				f();
			}
			snprintf(cv.prompt, sizeof(cv.prompt), "%s",
			    msg[i]->msg);
			transcribe("PROMPT", msg[i]->msg);
			if (cv.mode != CONV_ANSWER)
				break;
			if (cv.answers[0] != NULL) {
				if (cv.next < ANSWERS_MAX &&
				    cv.answers[cv.next] != NULL)
					r[i].resp =
					    strdup(cv.answers[cv.next++]);
			} else if (cv.answer != NULL)
				r[i].resp = strdup(cv.answer);
			break;
		case PAM_PROMPT_ECHO_ON:
			if (cv.login != NULL)
				r[i].resp = strdup(cv.login);
			break;
		case PAM_ERROR_MSG:
			cv.errors++;
			snprintf(cv.error, sizeof(cv.error), "%s", msg[i]->msg);
			transcribe("ERROR", msg[i]->msg);
			break;
		case PAM_TEXT_INFO:
			cv.infos++;
			transcribe("INFO", msg[i]->msg);
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
	    "timeout=5", "factors=totp", "fido2_wait=12", "nullok", "cue",
	    "debug" };

	assert_int_equal(parse(&c, NITEMS(argv), argv), 0);
	assert_string_equal(c.socket, "/run/other/socket");
	assert_int_equal(c.timeout, 5);
	assert_string_equal(c.factors, "totp");
	assert_int_equal(c.fido2_wait, 12);
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
	assert_string_equal(c.factors, "fido2,totp");
	assert_int_equal(c.fido2_wait, 30);
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
		"factors=totp,,totp", "factors=fido", "fido2_wait=",
		"fido2_wait=301", "fido2_wait=-1", "fido2_wait=x",
		"FIDO2_WAIT=3", "socket=", "socket=relative/path",
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
		{ TK_PAM_ERR_NOKEY, PAM_AUTH_ERR },
		{ TK_PAM_ERR_KEY, PAM_AUTH_ERR },
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
		/* a FIDO2 challenge that ended */
		{ TK_ST_EXPIRED, PAM_AUTH_ERR, PAM_AUTH_ERR },
		/* granted passes only through login.c's GRANT_USE step */
		{ TK_ST_GRANTED, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ TK_ST_SUSPENDED, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_NOT_ALLOWED, PAM_AUTH_ERR, PAM_AUTH_ERR },
		{ TK_ST_END, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL },
		{ (enum tk_status)999, PAM_AUTHINFO_UNAVAIL,
		    PAM_AUTHINFO_UNAVAIL },
	};
	size_t i;

	assert_int_equal(TK_ST_END, 16);
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

/* --- FIDO2: the parts that need no key --- */

/* the transcript holds `text' */
#define assert_said(text) \
	do { \
		if (strstr(cv.transcript, (text)) == NULL) \
			fail_msg("not said: \"%s\"; said:\n%s", (text), \
			    cv.transcript); \
	} while (0)
#define assert_not_said(text) \
	do { \
		if (strstr(cv.transcript, (text)) != NULL) \
			fail_msg("said: \"%s\"", (text)); \
	} while (0)

/* a user with a FIDO2 credential whose id tokend lists */
static void
fido2_user(uint64_t factors)
{
	fd_.factors = factors;
	fd_.fido2_ncreds = 1;
	memset(fd_.fido2_cred[0], 0xc1, 48);
	fd_.fido2_cred_len[0] = 48;
}

static void
fido2_authdata_unwrap(void **state)
{
	unsigned char buf[8 + TK_FIDO2_AUTHDATA_MAX + 1];
	const unsigned char *raw;
	size_t len;

	memset(buf, 0xab, sizeof(buf));
	/* 37 bytes, the usual size: one-byte length */
	buf[0] = 0x58;
	buf[1] = 37;
	assert_int_equal(tk_fido2_authdata_raw(buf, 39, &raw, &len), 0);
	assert_ptr_equal(raw, buf + 2);
	assert_int_equal(len, 37);
	/* a short one, length in the first byte */
	buf[0] = 0x45;
	assert_int_equal(tk_fido2_authdata_raw(buf, 6, &raw, &len), 0);
	assert_int_equal(len, 5);
	/* two-byte length */
	buf[0] = 0x59;
	buf[1] = 0x01;
	buf[2] = 0x00;
	assert_int_equal(tk_fido2_authdata_raw(buf, 259, &raw, &len), 0);
	assert_int_equal(len, 256);
	/* the largest that FIDO2_FINISH carries, and one more */
	buf[1] = TK_FIDO2_AUTHDATA_MAX >> 8;
	buf[2] = TK_FIDO2_AUTHDATA_MAX & 0xff;
	assert_int_equal(tk_fido2_authdata_raw(buf,
	    3 + TK_FIDO2_AUTHDATA_MAX, &raw, &len), 0);
	buf[2]++;
	assert_int_equal(tk_fido2_authdata_raw(buf,
	    3 + TK_FIDO2_AUTHDATA_MAX + 1, &raw, &len), TK_ERR_PROTO);
	/* trailing or missing bytes */
	buf[0] = 0x58;
	buf[1] = 37;
	assert_int_equal(tk_fido2_authdata_raw(buf, 40, &raw, &len),
	    TK_ERR_PROTO);
	assert_int_equal(tk_fido2_authdata_raw(buf, 38, &raw, &len),
	    TK_ERR_PROTO);
	assert_null(raw);
	/* not a byte string, indefinite, empty, nothing, truncated header */
	buf[0] = 0x78;				/* text */
	assert_int_equal(tk_fido2_authdata_raw(buf, 39, &raw, &len),
	    TK_ERR_PROTO);
	buf[0] = 0x5f;				/* indefinite */
	assert_int_equal(tk_fido2_authdata_raw(buf, 39, &raw, &len),
	    TK_ERR_PROTO);
	buf[0] = 0x40;
	assert_int_equal(tk_fido2_authdata_raw(buf, 1, &raw, &len),
	    TK_ERR_PROTO);
	assert_int_equal(tk_fido2_authdata_raw(buf, 0, &raw, &len),
	    TK_ERR_PROTO);
	assert_int_equal(tk_fido2_authdata_raw(NULL, 3, &raw, &len),
	    TK_ERR_PROTO);
	buf[0] = 0x5a;				/* 4-byte length, cut */
	assert_int_equal(tk_fido2_authdata_raw(buf, 3, &raw, &len),
	    TK_ERR_PROTO);
	buf[0] = 0x5b;				/* 8-byte length, huge */
	memset(buf + 1, 0xff, 8);
	assert_int_equal(tk_fido2_authdata_raw(buf, 9, &raw, &len),
	    TK_ERR_PROTO);
}

/* no key plugged in: fido2_wait bounds the wait, and it is a failure */
static void
fido2_no_key(void **state)
{
	const char *wait1[] = { cfgarg, "factors=fido2", "fido2_wait=1" };
	const char *wait0[] = { cfgarg, "factors=fido2", "fido2_wait=0",
	    "nullok" };
	time_t t0;

	fido2_user(TK_FACTOR_FIDO2);
	t0 = time(NULL);
	assert_int_equal(run_auth("alice", 0, NITEMS(wait1), wait1),
	    PAM_AUTH_ERR);
	assert_true(time(NULL) - t0 <= 3);
	assert_said("INFO: Insert your security key\n");
	assert_said("ERROR: No security key found.\n");
	assert_int_equal(cv.prompts, 0);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 1);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 0);
	/* no wait at all, and nullok changes nothing about a failure */
	conv_reset();
	t0 = time(NULL);
	assert_int_equal(run_auth("alice", 0, NITEMS(wait0), wait0),
	    PAM_AUTH_ERR);
	assert_true(time(NULL) - t0 <= 1);
	assert_not_said("Insert your security key");
	assert_said("ERROR: No security key found.\n");
	/* silent: nothing said, still a failure */
	conv_reset();
	assert_int_equal(run_auth("alice", PAM_SILENT, NITEMS(wait0), wait0),
	    PAM_AUTH_ERR);
	assert_string_equal(cv.transcript, "");
}

/* no key: the next factor of factors= that the user has is asked */
static void
fido2_fallback(void **state)
{
	const char *dflt[] = { cfgarg, "fido2_wait=0" };
	const char *only[] = { cfgarg, "fido2_wait=0", "factors=fido2" };
	const char *totp_first[] = { cfgarg, "fido2_wait=0",
	    "factors=totp,fido2" };

	/* the built-in factors=fido2,totp */
	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_TOTP);
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_SUCCESS);
	assert_said("ERROR: No security key found.\nPROMPT: "
	    "Verification code: \n");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 1);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	assert_string_equal(fd_.code, "123456");
	/* the code must still be right */
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_AUTH_ERR);
	assert_string_equal(cv.error, "Wrong or already used code.");
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_OK;
	/* and the conversation must work */
	cv.mode = CONV_NULL_TEXT;
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_CONV_ERR);
	conv_reset();
	/* recovery codes alone: the same prompt */
	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_RECOVERY);
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_SUCCESS);
	/* factors=fido2 alone: no fallback, even for a TOTP user */
	conv_reset();
	fd_.count[TK_MSG_TOTP_VERIFY] = 0;
	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_TOTP);
	assert_int_equal(run_auth("alice", 0, NITEMS(only), only),
	    PAM_AUTH_ERR);
	assert_int_equal(cv.prompts, 0);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
	/* a user with FIDO2 only: nothing to fall back to */
	fido2_user(TK_FACTOR_FIDO2);
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_AUTH_ERR);
	assert_int_equal(cv.prompts, 0);
	/* totp first: TOTP decides, FIDO2 is never tried */
	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_TOTP);
	fd_.count[TK_MSG_FIDO2_BEGIN] = 0;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_auth("alice", 0, NITEMS(totp_first),
	    totp_first), PAM_AUTH_ERR);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 0);
	/* a TOTP-only user under factors=fido2,totp: never FIDO2_BEGIN */
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_OK;
	fd_.factors = TK_FACTOR_TOTP;
	assert_int_equal(run_auth("alice", 0, NITEMS(dflt), dflt),
	    PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 0);
}

/* tokend refuses FIDO2_BEGIN: its word is final */
static void
fido2_begin_refused(void **state)
{
	const char *argv[] = { cfgarg, "fido2_wait=0" };
	const char *nullok[] = { cfgarg, "fido2_wait=0", "nullok" };
	const char *gone[] = { cfgarg, "fido2_wait=0",
	    "socket=/nonexistent/tokend/socket" };

	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_TOTP);
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_LOCKED;
	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_MAXTRIES);
	assert_int_equal(cv.prompts, 0);
	assert_non_null(strstr(cv.error, "administrator"));
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_THROTTLED;
	fd_.retry_after = 30;
	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_AUTH_ERR);
	assert_string_equal(cv.error, "Too many attempts; wait 30 seconds.");
	assert_int_equal(cv.prompts, 0);
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_INTERNAL;
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_DENIED;
	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_AUTH_ERR);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
	assert_int_equal(run_auth("alice", 0, NITEMS(gone), gone),
	    PAM_AUTHINFO_UNAVAIL);
	/* "not enrolled" after all: the next factor, or nullok */
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_NOT_ENROLLED;
	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	fido2_user(TK_FACTOR_FIDO2);
	assert_int_equal(run_auth("alice", 0, NITEMS(argv), argv),
	    PAM_AUTH_ERR);
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_IGNORE);
	/* an "ok" that lacks what a login needs is a broken answer */
	fd_.status[TK_MSG_FIDO2_BEGIN] = TK_ST_OK;
	fd_.fido2_ncreds = 0;
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
	fido2_user(TK_FACTOR_FIDO2 | TK_FACTOR_TOTP);
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "sometimes");
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "required");
	fd_.fido2_rp_id[0] = '\0';
	assert_int_equal(run_auth("alice", 0, NITEMS(nullok), nullok),
	    PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 0);
}

/* --- FIDO2 against soft keys (tests/softkey, linked in by sk_shim.c) --- */

#define SK_KEYS		3
#define SK_PIN		"1234"

/*
 * Key 0 has the PIN and a credential, key 1 no PIN and a credential,
 * key 2 no PIN and no credential.  Each is held open by the test, so the
 * module's fido_dev_open() reaches the very same key.
 */
static struct {
	sk_key_t	*k[SK_KEYS];
	fido_dev_t	*hold[SK_KEYS];
	char		 file[SK_KEYS][160];
	unsigned char	 id[SK_KEYS][128];
	size_t		 idlen[SK_KEYS];
	unsigned char	 pk[SK_KEYS][128];	/* ES256, raw */
	size_t		 pklen[SK_KEYS];
	char		 list[SK_KEYS * 170];
} sk;

/* makes a credential of "alice" for RP "tokend" on key i */
static int
sk_make_cred(size_t i, const char *pin)
{
	fido_dev_t *d = NULL;
	fido_cred_t *c = NULL;
	unsigned char cdh[32], uid[16];
	int r = -1;

	memset(cdh, 0x11, sizeof(cdh));
	memset(uid, 0x22, sizeof(uid));
	if ((d = fido_dev_new()) == NULL || (c = fido_cred_new()) == NULL ||
	    sk_key_attach(sk.k[i], d) != 0 ||
	    fido_dev_open(d, sk_key_path(sk.k[i])) != FIDO_OK ||
	    fido_cred_set_type(c, COSE_ES256) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(c, cdh, sizeof(cdh)) != FIDO_OK ||
	    fido_cred_set_rp(c, "tokend", NULL) != FIDO_OK ||
	    fido_cred_set_user(c, uid, sizeof(uid), "alice", NULL,
	    NULL) != FIDO_OK ||
	    fido_dev_make_cred(d, c, pin) != FIDO_OK ||
	    fido_cred_id_len(c) > sizeof(sk.id[i]) ||
	    fido_cred_pubkey_len(c) > sizeof(sk.pk[i]))
		goto out;
	sk.idlen[i] = fido_cred_id_len(c);
	memcpy(sk.id[i], fido_cred_id_ptr(c), sk.idlen[i]);
	sk.pklen[i] = fido_cred_pubkey_len(c);
	memcpy(sk.pk[i], fido_cred_pubkey_ptr(c), sk.pklen[i]);
	r = 0;
 out:
	fido_cred_free(&c);
	if (d != NULL)
		(void)fido_dev_close(d);
	fido_dev_free(&d);
	return (r);
}

/* SOFTKEY_KEYS: the keys named by their numbers, e.g. "20" */
static void
sk_plug(const char *which)
{
	size_t len = 0;

	sk.list[0] = '\0';
	for (; *which != '\0'; which++) {
		snprintf(sk.list + len, sizeof(sk.list) - len, "%s%s",
		    len > 0 ? ":" : "", sk.file[*which - '0']);
		len = strlen(sk.list);
	}
	assert_int_equal(setenv("SOFTKEY_KEYS", sk.list, 1), 0);
}

/* tokend lists the credential of key i */
static void
sk_list(size_t i)
{
	fd_.factors = TK_FACTOR_FIDO2;
	fd_.fido2_ncreds = 1;
	memcpy(fd_.fido2_cred[0], sk.id[i], sk.idlen[i]);
	fd_.fido2_cred_len[0] = sk.idlen[i];
}

static int
sk_setup(void **state)
{
	size_t i;

	faked_reset(&fd_);
	conv_reset();
	memset(&sk, 0, sizeof(sk));
	for (i = 0; i < SK_KEYS; i++) {
		snprintf(sk.file[i], sizeof(sk.file[i]), "%s/key%zu.state",
		    fd_.dir, i);
		(void)unlink(sk.file[i]);
		if (sk_key_open(sk.file[i], &sk.k[i]) != 0 ||
		    (sk.hold[i] = fido_dev_new()) == NULL ||
		    sk_key_attach(sk.k[i], sk.hold[i]) != 0)
			return (-1);
	}
	if (sk_make_cred(0, NULL) != 0 || sk_make_cred(1, NULL) != 0 ||
	    sk_key_set_pin(sk.k[0], SK_PIN) != 0)
		return (-1);
	for (i = 0; i < SK_KEYS; i++)
		if (sk_key_save(sk.k[i]) != 0)
			return (-1);
	sk_list(0);
	sk_plug("0");
	cv.answer = SK_PIN;
	return (0);
}

static int
sk_teardown(void **state)
{
	size_t i;

	for (i = 0; i < SK_KEYS; i++) {
		fido_dev_free(&sk.hold[i]);
		sk_key_close(&sk.k[i]);
		(void)unlink(sk.file[i]);
	}
	(void)unsetenv("SOFTKEY_KEYS");
	return (0);
}

/* what FIDO2_FINISH carried is a valid assertion by key i's credential */
static void
sk_assert_verified(size_t i, uint8_t flags)
{
	fido_assert_t *a;
	es256_pk_t *pk;

	assert_int_equal(fd_.finish_cred_len, sk.idlen[i]);
	assert_memory_equal(fd_.finish_cred, sk.id[i], sk.idlen[i]);
	/* raw authenticator data: rpIdHash, flags, counter */
	assert_int_equal(fd_.finish_authdata_len, 37);
	assert_int_equal(fd_.finish_authdata[32] & 0x05, flags);
	assert_int_equal(fd_.finish_challenge_id, fd_.fido2_challenge_id);
	assert_non_null(a = fido_assert_new());
	assert_non_null(pk = es256_pk_new());
	assert_int_equal(es256_pk_from_ptr(pk, sk.pk[i], sk.pklen[i]),
	    FIDO_OK);
	assert_int_equal(fido_assert_set_count(a, 1), FIDO_OK);
	assert_int_equal(fido_assert_set_rp(a, "tokend"), FIDO_OK);
	assert_int_equal(fido_assert_set_clientdata_hash(a,
	    fd_.fido2_challenge, sizeof(fd_.fido2_challenge)), FIDO_OK);
	assert_int_equal(fido_assert_set_authdata_raw(a, 0,
	    fd_.finish_authdata, fd_.finish_authdata_len), FIDO_OK);
	assert_int_equal(fido_assert_set_sig(a, 0, fd_.finish_sig,
	    fd_.finish_sig_len), FIDO_OK);
	assert_int_equal(fido_assert_verify(a, 0, COSE_ES256, pk), FIDO_OK);
	es256_pk_free(&pk);
	fido_assert_free(&a);
}

static const char *fido2_args[] = { NULL, "factors=fido2", "cue",
    "fido2_wait=2" };

static int
run_fido2(void)
{
	fido2_args[0] = cfgarg;
	return (run_auth("alice", 0, NITEMS(fido2_args), fido2_args));
}

/* touch and PIN: the assertion tokend gets is the key's, raw, valid */
static void
fido2_key_login(void **state)
{
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 1);
	assert_string_equal(cv.prompt, "Security key PIN: ");
	assert_said("INFO: Touch your security key\n");
	assert_int_equal(cv.errors, 0);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 1);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 1);
	assert_string_equal(fd_.service, "tokend-test");
	assert_string_equal(fd_.tty, "tty7");
	sk_assert_verified(0, 0x05);		/* UP and UV */
	assert_int_equal(sk_key_pin_retries(sk.k[0]), 8);
	/* again: a fresh challenge, a grown counter */
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	sk_assert_verified(0, 0x05);
	assert_int_equal(fd_.fido2_challenge_id, 2);
}

/* tokend's verdict on the assertion is final: no fallback after it */
static void
fido2_key_verdicts(void **state)
{
	static const struct {
		enum tk_status	 st;
		int		 pam;
		const char	*said;
	} table[] = {
		{ TK_ST_OK, PAM_SUCCESS, NULL },
		{ TK_ST_WRONG, PAM_AUTH_ERR,
		    "ERROR: The security key's answer was not accepted." },
		{ TK_ST_REPLAY, PAM_AUTH_ERR,
		    "ERROR: The security key's answer was not accepted." },
		{ TK_ST_NOT_ALLOWED, PAM_AUTH_ERR,
		    "ERROR: The security key's answer was not accepted." },
		{ TK_ST_EXPIRED, PAM_AUTH_ERR,
		    "ERROR: The login took too long; try again." },
		{ TK_ST_SUSPENDED, PAM_AUTH_ERR, "ERROR: This security key "
		    "has been suspended (possible copy). Contact your "
		    "administrator." },
		{ TK_ST_LOCKED, PAM_MAXTRIES, "administrator" },
		{ TK_ST_THROTTLED, PAM_AUTH_ERR,
		    "ERROR: Too many attempts; wait 9 seconds." },
		{ TK_ST_DENIED, PAM_AUTH_ERR, NULL },
		{ TK_ST_NOT_ENROLLED, PAM_AUTH_ERR, NULL },
		{ TK_ST_INTERNAL, PAM_AUTHINFO_UNAVAIL, NULL },
		{ TK_ST_BAD_REQUEST, PAM_AUTHINFO_UNAVAIL, NULL },
		{ TK_ST_GRANTED, PAM_AUTHINFO_UNAVAIL, NULL },
	};
	const char *both[] = { cfgarg, "fido2_wait=2" };
	size_t i;

	fd_.retry_after = 9;
	for (i = 0; i < NITEMS(table); i++) {
		conv_reset();
		cv.answer = SK_PIN;
		fd_.factors = TK_FACTOR_FIDO2 | TK_FACTOR_TOTP;
		fd_.status[TK_MSG_FIDO2_FINISH] = table[i].st;
		if (run_auth("alice", 0, NITEMS(both), both) != table[i].pam)
			fail_msg("FIDO2_FINISH %s: not %d",
			    tk_status_name(table[i].st), table[i].pam);
		if (table[i].said != NULL)
			assert_said(table[i].said);
		assert_int_equal(cv.prompts, 1);	/* the PIN only */
	}
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 0);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], NITEMS(table));
}

static void
sk_pull_out(void)
{
	/* it stops answering, and is listed no more */
	sk_key_config(sk.k[0])->removed = true;
	assert_int_equal(sk_key_save(sk.k[0]), 0);
}

/* the key is pulled out while the PIN is typed */
static void
fido2_key_removed(void **state)
{
	const char *both[] = { cfgarg, "fido2_wait=2" };

	cv.on_prompt = sk_pull_out;
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("ERROR: The security key was removed or stopped "
	    "answering.\n");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 0);
	/* with TOTP too: the code prompt follows, and decides */
	sk_key_config(sk.k[0])->removed = false;
	assert_int_equal(sk_key_save(sk.k[0]), 0);
	conv_reset();
	cv.answers[0] = SK_PIN;
	cv.answers[1] = "654321";
	cv.on_prompt = sk_pull_out;
	fd_.factors = TK_FACTOR_FIDO2 | TK_FACTOR_TOTP;
	fd_.status[TK_MSG_TOTP_VERIFY] = TK_ST_WRONG;
	assert_int_equal(run_auth("alice", 0, NITEMS(both), both),
	    PAM_AUTH_ERR);
	assert_said("removed or stopped answering.\nPROMPT: "
	    "Verification code: \n");
	assert_string_equal(fd_.code, "654321");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 0);
}

/* wrong, empty, blocked PINs; a conversation that fails */
static void
fido2_key_pin(void **state)
{
	char longpin[70];
	const char *both[] = { cfgarg, "fido2_wait=2" };

	cv.answers[0] = "0000";
	cv.answers[1] = SK_PIN;
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_said("ERROR: Wrong PIN (attempts left: 7).\n");
	assert_int_equal(cv.prompts, 2);
	assert_int_equal(sk_key_pin_retries(sk.k[0]), 8);
	/* never more than three prompts */
	conv_reset();
	cv.answer = "0000";
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_int_equal(cv.prompts, 3);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 1);
	/* the key now wants a replug */
	conv_reset();
	cv.answer = SK_PIN;
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("remove and reinsert");
	sk_key_close(&sk.k[0]);
	fido_dev_free(&sk.hold[0]);
	assert_int_equal(sk_key_open(sk.file[0], &sk.k[0]), 0);
	assert_non_null(sk.hold[0] = fido_dev_new());
	assert_int_equal(sk_key_attach(sk.k[0], sk.hold[0]), 0);
	conv_reset();
	cv.answer = SK_PIN;
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	/* empty or over-long: not sent to the key */
	memset(longpin, '7', 64);
	longpin[64] = '\0';
	conv_reset();
	cv.answer = "";
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("ERROR: That is not a PIN");
	cv.answer = longpin;
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_int_equal(sk_key_pin_retries(sk.k[0]), 8);
	/* with TOTP: the code prompt follows */
	conv_reset();
	cv.answers[0] = "";
	cv.answers[1] = "123456";
	fd_.factors = TK_FACTOR_FIDO2 | TK_FACTOR_TOTP;
	assert_int_equal(run_auth("alice", 0, NITEMS(both), both),
	    PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	/* a conversation that fails at the PIN ends the login */
	conv_reset();
	cv.mode = CONV_NULL_TEXT;
	assert_int_equal(run_auth("alice", 0, NITEMS(both), both),
	    PAM_CONV_ERR);
	assert_int_equal(fd_.count[TK_MSG_TOTP_VERIFY], 1);
	/* the last try wrong: blocked */
	sk_list(0);
	assert_int_equal(sk_key_set_option(sk.k[0], "pin_retries", "1"), 0);
	conv_reset();
	cv.answer = "0000";
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("ERROR: The security key's PIN is blocked. Contact your "
	    "administrator.\n");
	assert_int_equal(cv.prompts, 1);
	conv_reset();
	cv.answer = SK_PIN;
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("PIN is blocked");
}

/* what tokend asks for user verification, and what the key can do */
static void
fido2_key_uv(void **state)
{
	/* discouraged: no PIN asked, no UV flag */
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "discouraged");
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 0);
	sk_assert_verified(0, 0x01);
	/* a key without PIN or UV: refused when required ... */
	sk_list(1);
	sk_plug("1");
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "required");
	conv_reset();
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_int_equal(cv.prompts, 0);
	assert_said("ERROR: This security key has no PIN and no built-in "
	    "user verification");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 1);
	/* ... used without UV when only preferred */
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "preferred");
	conv_reset();
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 0);
	sk_assert_verified(1, 0x01);
	/* built-in UV: no PIN */
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "required");
	sk_key_config(sk.k[1])->builtin_uv = true;
	conv_reset();
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 0);
	sk_assert_verified(1, 0x05);
	/* built-in UV that fails, no PIN: refused */
	sk_key_config(sk.k[1])->uv_ok = false;
	conv_reset();
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_said("User verification on the security key failed");
	/* built-in UV that fails, with a PIN: the PIN instead */
	sk_list(0);
	sk_plug("0");
	sk_key_config(sk.k[0])->builtin_uv = true;
	sk_key_config(sk.k[0])->uv_ok = false;
	conv_reset();
	cv.answer = SK_PIN;
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(cv.prompts, 1);
	sk_assert_verified(0, 0x05);
}

/* several keys: the one with a listed credential wins */
static void
fido2_key_choice(void **state)
{
	sk_plug("210");
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	sk_assert_verified(0, 0x05);
	/* none holds it: said, no PIN asked, nothing sent */
	sk_plug("21");
	conv_reset();
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_int_equal(cv.prompts, 0);
	assert_said("ERROR: This security key is not registered for you.\n");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 1);
}

/* no touch: a failure within fido2_wait, whatever the key does */
static void
fido2_key_no_touch(void **state)
{
	time_t t0;

	sk_key_config(sk.k[0])->touch = false;
	sk_key_config(sk.k[0])->touch_timeout_ms = 60000;
	t0 = time(NULL);
	assert_int_equal(run_fido2(), PAM_AUTH_ERR);
	assert_true(time(NULL) - t0 <= 4);
	assert_said("ERROR: No touch: timed out.\n");
	assert_int_equal(fd_.count[TK_MSG_FIDO2_FINISH], 0);
}

static void
sk_slow_typist(void)
{
	sleep(4);
}

/* a PIN typed slowly: the challenge is renewed before it ends */
static void
fido2_key_slow_pin(void **state)
{
	fd_.fido2_ttl = 10;
	cv.on_prompt = sk_slow_typist;
	assert_int_equal(run_fido2(), PAM_SUCCESS);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_BEGIN], 2);
	sk_assert_verified(0, 0x05);
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
		cmocka_unit_test(fido2_authdata_unwrap),
		cmocka_unit_test_setup(fido2_no_key, case_setup),
		cmocka_unit_test_setup(fido2_fallback, case_setup),
		cmocka_unit_test_setup(fido2_begin_refused, case_setup),
		cmocka_unit_test_setup_teardown(fido2_key_login, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_verdicts, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_removed, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_pin, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_uv, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_choice, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_no_touch, sk_setup,
		    sk_teardown),
		cmocka_unit_test_setup_teardown(fido2_key_slow_pin, sk_setup,
		    sk_teardown),
		cmocka_unit_test(setcred_succeeds),
	};

	return (cmocka_run_group_tests_name("pam_tokend", tests,
	    group_setup, group_teardown));
}
