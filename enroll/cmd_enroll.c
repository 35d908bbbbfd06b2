/*
 * cmd_enroll.c -- tokenadm enroll totp and tokenadm confirm: a new TOTP
 * credential is pending until one valid code from the app activates it.
 * (enroll fido2 is handed over to cmd_fido2.c.)
 *
 * MUST:
 * 1. The otpauth:// URI (it holds the secret) is shown once, only on
 *    the terminal or as the JSON answer, and every copy this program
 *    makes is wiped (the answer and the QR code wipe themselves).
 * 2. Typed codes are wiped after use and never logged.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "i18n.h"
#include "json.h"
#include "qr.h"
#include "tokenadm.h"
#include "wipe.h"

#define CONFIRM_TRIES	3	/* codes asked for on a terminal */
#define CRED_ID_MAX	UINT64_MAX
#define ARGS_HELP	(-1)	/* enroll_args() printed the help */

struct enroll {
	const char	*user;
	const char	*label;
	const char	*algorithm;
	const char	*qr_png;
	uint64_t	 digits;	/* 0: tokend's default */
};


/*
 * Parses the arguments of "enroll".  Returns TK_EXIT_OK, ARGS_HELP, or
 * TK_EXIT_USAGE after printing why.
 */
static int
enroll_args(struct tk_adm *c, int argc, char **argv, struct enroll *e)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "label", required_argument, NULL, TK_OPT_LABEL },
		{ "digits", required_argument, NULL, TK_OPT_DIGITS },
		{ "algorithm", required_argument, NULL, TK_OPT_ALGORITHM },
		{ "qr-png", required_argument, NULL, TK_OPT_QR_PNG },
		{ NULL, 0, NULL, 0 }
	};
	int ch, ex;

	memset(e, 0, sizeof(*e));
	while ((ch = tk_adm_getopt(c, "enroll", argc, argv, opts, &ex)) !=
	    -1) {
		switch (ch) {
		case 'h':
			tk_adm_help("enroll", stdout);
			return (ARGS_HELP);
		case TK_OPT_LABEL:
			if (tk_adm_check_text(optarg, TK_LABEL_MAX) != 0)
				return (tk_adm_usage("enroll", _("--label "
				    "needs 1 to %d printable bytes"),
				    TK_LABEL_MAX));
			e->label = optarg;
			break;
		case TK_OPT_DIGITS:
			if (tk_adm_parse_uint(optarg, 6, 8, &e->digits) != 0 ||
			    e->digits == 7)
				return (tk_adm_usage("enroll",
				    _("--digits must be 6 or 8")));
			break;
		case TK_OPT_ALGORITHM:
			if (strcmp(optarg, "sha1") != 0 &&
			    strcmp(optarg, "sha256") != 0 &&
			    strcmp(optarg, "sha512") != 0)
				return (tk_adm_usage("enroll", _("--algorithm "
				    "must be sha1, sha256 or sha512")));
			e->algorithm = optarg;
			break;
		case TK_OPT_QR_PNG:
			if (*optarg == '\0')
				return (tk_adm_usage("enroll",
				    _("--qr-png needs a file name")));
			e->qr_png = optarg;
			break;
		default:
			return (tk_adm_usage("enroll", _("unknown option")));
		}
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 2)
		return (tk_adm_usage("enroll",
		    _("expected: enroll totp|fido2 USER")));
	if (strcmp(argv[optind], "totp") != 0)
		return (tk_adm_usage("enroll", _("unknown kind \"%s\"; "
		    "\"totp\" or \"fido2\" can be enrolled"), argv[optind]));
	e->user = argv[optind + 1];
	if (tk_adm_check_text(e->user, TK_USER_MAX) != 0)
		return (tk_adm_usage("enroll", _("invalid user name")));
	return (TK_EXIT_OK);
}

/* Sends TOTP_ENROLL_CONFIRM; the answer is returned whatever it says. */
static int
send_confirm(struct tk_adm *c, const char *user, uint64_t cred,
    const char *code, tk_msg_t **ansp)
{
	tk_msg_t *req = NULL;
	int ex;

	*ansp = NULL;
	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_TOTP_ENROLL_CONFIRM)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0 ||
	    tk_msg_set_uint(req, TK_KEY_CRED, cred) != 0 ||
	    tk_msg_set_text(req, TK_KEY_CODE, code) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	ex = tk_adm_exchange(c, req, ansp);
 fail:
	tk_msg_free(&req);
	return (ex);
}

/* Prints the outcome of an activation. */
static int
print_active(struct tk_adm *c, const char *user, uint64_t cred,
    const tk_msg_t *ans)
{
	struct tk_json j;
	const char *state = tk_msg_get_text(ans, TK_KEY_STATE);

	if (!c->json) {
		printf(_("Credential %" PRIu64 " of %s is %s.\n"), cred, user,
		    state != NULL ? state : "active");
		return (TK_EXIT_OK);
	}
	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "user");
	tk_json_string(&j, user);
	tk_json_key(&j, "credential");
	tk_json_uint(&j, cred);
	tk_json_key(&j, "state");
	tk_json_string(&j, state);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

/*
 * Reads one line from stdin into buf (size len, which holds at most
 * TK_CODE_MAX digits and the newline).  Returns 0, 1 for a line too
 * long (the rest is discarded), or -1 at end of input.
 */
static int
read_line(char *buf, size_t len)
{
	size_t n;
	int ch;

	if (fgets(buf, (int)len, stdin) == NULL)
		return (-1);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		return (0);
	}
	if (feof(stdin))
		return (0);
	while ((ch = getchar()) != EOF && ch != '\n')
		;
	tk_memzero(buf, len);
	return (1);
}

/* Asks for codes on the terminal until one activates the credential. */
static int
confirm_interactive(struct tk_adm *c, const char *user, uint64_t cred)
{
	tk_msg_t *ans = NULL;
	char code[TK_CODE_MAX + 2];
	enum tk_status st;
	int i, n, ex = TK_EXIT_FAIL;

	for (i = 0; i < CONFIRM_TRIES; i++) {
		fputs(_("Enter the code shown by the app: "), stdout);
		fflush(stdout);
		if ((n = read_line(code, sizeof(code))) == -1) {
			fputc('\n', stdout);
			break;
		}
		if (n != 0 || tk_adm_check_code(code) != 0) {
			fprintf(stderr, "%s\n",
			    _("A code is made of digits only."));
			tk_memzero(code, sizeof(code));
			continue;
		}
		ex = send_confirm(c, user, cred, code, &ans);
		tk_memzero(code, sizeof(code));
		if (ex != TK_EXIT_OK)
			goto out;
		st = tk_msg_status(ans);
		if (st == TK_ST_OK) {
			ex = print_active(c, user, cred, ans);
			goto out;
		}
		if (st != TK_ST_WRONG && st != TK_ST_REPLAY) {
			ex = tk_adm_refused(c, ans, user);
			goto out;
		}
		fprintf(stderr, "%s\n", _("Wrong code; try the next one."));
		tk_msg_free(&ans);
		ex = TK_EXIT_FAIL;
	}
	fprintf(stderr, _("tokenadm: credential %" PRIu64 " of %s stays "
	    "pending; activate it with \"tokenadm confirm %s %" PRIu64
	    " CODE\"\n"), cred, user, user, cred);
 out:
	tk_memzero(code, sizeof(code));
	tk_msg_free(&ans);
	return (ex);
}

/* Prints the pending credential as JSON for scripts. */
static int
print_pending(const char *user, uint64_t cred, const char *uri,
    const char *state)
{
	struct tk_json j;

	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "user");
	tk_json_string(&j, user);
	tk_json_key(&j, "credential");
	tk_json_uint(&j, cred);
	tk_json_key(&j, "otpauth_uri");
	tk_json_string(&j, uri);
	tk_json_key(&j, "state");
	tk_json_string(&j, state);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

int
tk_cmd_enroll(struct tk_adm *c, int argc, char **argv)
{
	struct enroll e;
	tk_msg_t *req = NULL, *ans = NULL;
	tk_qr_t *qr = NULL;
	const char *uri, *state;
	uint64_t cred;
	bool tty;
	int ex, r;

	if (tk_adm_enroll_is_fido2(argc, argv))
		return (tk_cmd_enroll_fido2(c, argc, argv));
	if ((ex = enroll_args(c, argc, argv, &e)) != TK_EXIT_OK)
		return (ex == ARGS_HELP ? TK_EXIT_OK : ex);
	tty = !c->json && isatty(STDIN_FILENO);

	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_TOTP_ENROLL_BEGIN)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, e.user) != 0 ||
	    (e.label != NULL &&
	    tk_msg_set_text(req, TK_KEY_LABEL, e.label) != 0) ||
	    (e.digits != 0 &&
	    tk_msg_set_uint(req, TK_KEY_DIGITS, e.digits) != 0) ||
	    (e.algorithm != NULL &&
	    tk_msg_set_text(req, TK_KEY_ALGORITHM, e.algorithm) != 0)) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, e.user, &ans)) != TK_EXIT_OK)
		goto fail;
	uri = tk_msg_get_text(ans, TK_KEY_URI);
	state = tk_msg_get_text(ans, TK_KEY_STATE);
	if (uri == NULL || state == NULL ||
	    tk_msg_get_uint(ans, TK_KEY_CRED, &cred) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}

	if ((e.qr_png != NULL || tty) && (r = tk_qr_new(uri, &qr)) != 0)
		fprintf(stderr, _("tokenadm: no QR code: %s\n"), tk_strerr(r));
	if (e.qr_png != NULL && qr != NULL &&
	    (r = tk_qr_write_png(qr, e.qr_png)) != 0) {
		fprintf(stderr, _("tokenadm: cannot write %s: %s\n"),
		    e.qr_png, tk_strerr(r));
		ex = TK_EXIT_FAIL;
		/* the credential is pending all the same: say which */
	}

	if (!tty) {
		if (print_pending(e.user, cred, uri, state) != 0)
			ex = TK_EXIT_FAIL;
		goto fail;
	}
	printf(_("Credential %" PRIu64 " of %s is %s.\n"), cred, e.user,
	    state);
	printf("%s\n", _("Scan this QR code with the authenticator app, or "
	    "enter the URI below:"));
	if (qr != NULL) {
		fputc('\n', stdout);
		tk_qr_print(qr, stdout);
	}
	printf("\n%s\n\n", uri);
	tk_qr_free(&qr);
	fflush(stdout);
	if (ex != TK_EXIT_OK)
		goto fail;
	ex = confirm_interactive(c, e.user, cred);
 fail:
	tk_qr_free(&qr);
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

int
tk_cmd_confirm(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *ans = NULL;
	const char *user, *code;
	uint64_t cred;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "confirm", argc, argv, NULL, &ex)) !=
	    -1)
		switch (ch) {
		case 'h':
			tk_adm_help("confirm", stdout);
			return (TK_EXIT_OK);
		default:
			return (tk_adm_usage("confirm", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 3)
		return (tk_adm_usage("confirm",
		    _("expected: confirm USER CREDENTIAL CODE")));
	user = argv[optind];
	code = argv[optind + 2];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("confirm", _("invalid user name")));
	if (tk_adm_parse_uint(argv[optind + 1], 1, CRED_ID_MAX, &cred) != 0)
		return (tk_adm_usage("confirm",
		    _("CREDENTIAL is a credential number")));
	if (tk_adm_check_code(code) != 0)
		return (tk_adm_usage("confirm", _("CODE is digits only")));

	if ((ex = send_confirm(c, user, cred, code, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_status(ans) != TK_ST_OK) {
		ex = tk_adm_refused(c, ans, user);
		goto fail;
	}
	ex = print_active(c, user, cred, ans);
 fail:
	tk_msg_free(&ans);
	return (ex);
}
