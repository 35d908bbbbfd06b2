/*
 * tokenadm.c -- the command line: global options, the command table,
 * help, and the small parsers every command shares.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "log.h"
#include "tokenadm.h"

#define PROGNAME	"tokenadm"

static const struct tk_adm_cmd cmds[] = {
	{ "init", tk_cmd_init, "[--daemon PATH]",
	    N_("Create the directories, the master key and the database.\n"
	    "\n"
	    "The socket directory is created with mode 0755, the database\n"
	    "and master key directories with mode 0700; directories that\n"
	    "exist are left alone.  The master key is 32 random bytes in a\n"
	    "new file of mode 0400, owned by the [tokend] user when that\n"
	    "account exists.  An existing master key is never overwritten:\n"
	    "init then refuses (exit 1) and creates nothing.  Finally\n"
	    "\"tokend -t\" creates or migrates the database.\n"
	    "\n"
	    "  --daemon PATH   the tokend program to run\n") },
	{ "status", tk_cmd_status, "",
	    N_("Show tokend's version, uptime, counts and store health.\n"
	    "Exits 1 when the store is failing.\n") },
	{ "enroll", tk_cmd_enroll,
	    "totp USER [--label L] [--digits 6|8] "
	    "[--algorithm sha1|sha256|sha512] [--qr-png FILE]\n"
	    "       | fido2 USER [--label L] [--device PATH] "
	    "[--uv required|preferred|discouraged] [--set-pin]",
	    N_("totp: enroll a TOTP authenticator app for USER.\n"
	    "\n"
	    "On a terminal: shows the otpauth:// URI and a QR code (drawn\n"
	    "for a dark background), then asks for a code from the app and\n"
	    "activates the credential (3 tries).  Otherwise (--json, or\n"
	    "standard input is not a terminal): prints the user, the\n"
	    "credential id, the URI and the state \"pending\" as JSON; the\n"
	    "credential becomes active with \"tokenadm confirm\".\n"
	    "\n"
	    "  --label L        name of the credential in the app\n"
	    "  --digits N       code length: 6 or 8\n"
	    "  --algorithm A    sha1, sha256 or sha512\n"
	    "  --qr-png FILE    also write the QR code to a new PNG file\n"
	    "                   (mode 0600: it holds the secret)\n"
	    "\n"
	    "fido2: enroll the FIDO2 security key plugged into this machine\n"
	    "for USER.  The key makes a new credential (touch it; its PIN\n"
	    "is asked on the terminal when tokend requires user\n"
	    "verification and the key has no built-in verification);\n"
	    "tokend checks the attestation and the key model and stores\n"
	    "it, active.  Prints the credential number, the AAGUID and\n"
	    "model, the algorithm and the attestation format.\n"
	    "\n"
	    "  --label L        name of the credential\n"
	    "  --device PATH    the key to use (see \"tokenadm devices\");\n"
	    "                   default: the only key plugged in, waited\n"
	    "                   for up to [pam] fido2_wait seconds\n"
	    "  --uv POLICY      required, preferred or discouraged\n"
	    "                   (default: [fido2] user_verification)\n"
	    "  --set-pin        give a key without a PIN one (asked twice)\n") },
	{ "confirm", tk_cmd_confirm, "USER CREDENTIAL CODE",
	    N_("Activate a pending TOTP credential with one valid code.\n") },
	{ "list", tk_cmd_list, "[USER]",
	    N_("List the credentials of USER, or of every user.\n") },
	{ "revoke", tk_cmd_revoke, "USER CREDENTIAL|--all",
	    N_("Revoke one credential of USER, or all of them.\n"
	    "\n"
	    "  --all   revoke every credential of USER\n") },
	{ "reinstate", tk_cmd_reinstate, "USER CREDENTIAL",
	    N_("Make a suspended FIDO2 credential active again.  tokend\n"
	    "suspends a credential when the key's signature counter did\n"
	    "not grow, as happens with a cloned key: investigate first,\n"
	    "then reinstate it, or revoke it.\n") },
	{ "devices", tk_cmd_devices, "",
	    N_("List the FIDO2 security keys plugged into this machine:\n"
	    "path, manufacturer, product, AAGUID and model, whether a PIN\n"
	    "is set (and the tries left), built-in user verification, and\n"
	    "the protocol versions.  The first check when \"the key does\n"
	    "not work\".  Does not need tokend.  With no key: a message,\n"
	    "or [] with --json, and exit 0; exit 1 when a key could not\n"
	    "be asked.\n") },
	{ "unlock", tk_cmd_unlock, "USER",
	    N_("Clear USER's lockout and failure count.\n") },
	{ "recovery", tk_cmd_recovery, "USER [--count N]",
	    N_("Issue new single-use recovery codes for USER and show them\n"
	    "once.  The previous codes stop working.  A recovery code is\n"
	    "typed at the verification code prompt instead of a code.\n"
	    "\n"
	    "  --count N   how many codes: 1 to 20 (default 10)\n") },
	{ "grant", tk_cmd_grant, "USER --for DURATION --reason TEXT",
	    N_("Give USER emergency access: logins pass without a second\n"
	    "factor until the grant runs out (tokend's clock).  Given, each\n"
	    "use and the expiry are audited.\n"
	    "\n"
	    "  --for DURATION   30m, 8h, 1d ... at most [grant] max_duration\n"
	    "  --reason TEXT    why (kept in the audit trail)\n") },
	{ "revoke-grant", tk_cmd_revoke_grant, "USER",
	    N_("End USER's emergency access now.\n") },
	{ "grants", tk_cmd_grants, "[USER]",
	    N_("List the active emergency access grants.\n") },
	{ "audit", tk_cmd_audit,
	    "verify | export [--since DATE] [--until DATE] [--user USER] "
	    "--format csv|jsonl [--bom] | report [--month YYYY-MM] "
	    "[--unused-days N] | prune --before DATE [--yes]",
	    N_("verify: check the whole audit chain.  Exits 0 and shows the\n"
	    "number of rows when it is intact; exits 1 naming the first row\n"
	    "that was altered, removed, inserted or moved.\n"
	    "\n"
	    "export: write audit rows to standard output for inspection.\n"
	    "  --since DATE      rows from DATE on\n"
	    "  --until DATE      rows before the end of DATE\n"
	    "                    (DATE: YYYY-MM-DD or\n"
	    "                    YYYY-MM-DDTHH:MM:SSZ, UTC)\n"
	    "  --user USER       rows about USER only\n"
	    "  --format FORMAT   csv (RFC 4180, UTF-8) or jsonl\n"
	    "  --bom             start the CSV with a UTF-8 byte order mark\n"
	    "                    (for spreadsheets)\n"
	    "\n"
	    "report: a month's summary for self-inspection: logins by user\n"
	    "and factor, failures, lockouts, enrollments, revocations,\n"
	    "grants, recovery codes, users with no active credential,\n"
	    "credentials unused for N days, and the chain check.  Exits 1\n"
	    "when the chain is broken.\n"
	    "  --month YYYY-MM   the month (UTC; default: the previous one)\n"
	    "  --unused-days N   list credentials unused for N days\n"
	    "                    (default 90)\n"
	    "\n"
	    "prune: remove the audit rows older than DATE for good (export\n"
	    "them first).  The kept rows stay verifiable from an anchor, and\n"
	    "the prune is itself audited.\n"
	    "  --before DATE     YYYY-MM-DD (midnight UTC) or\n"
	    "                    YYYY-MM-DDTHH:MM:SSZ\n"
	    "  --yes             do not ask (needed without a terminal)\n") },
	{ "backup", tk_cmd_backup, "FILE",
	    N_("Have tokend write a consistent copy of its database to the\n"
	    "new file FILE (mode 0600; an existing file is refused).  Root\n"
	    "only.  The master key is not in the copy: back it up apart.\n"
	    "With the PostgreSQL store, use pg_dump or continuous\n"
	    "archiving instead (see deployment.md).\n") },
	{ "migrate-store", tk_cmd_migrate_store,
	    "--from sqlite:FILE [--to URL] [--daemon PATH]",
	    N_("Copy a single-host SQLite store into an empty PostgreSQL\n"
	    "store: credentials, throttling, recovery codes, grants,\n"
	    "challenges and the audit chain, with the same master key.\n"
	    "Root only, with tokend stopped.  The copy is verified (row\n"
	    "counts, the audit chain, every secret opens) before it is\n"
	    "reported done; the SQLite file is not changed.\n"
	    "\n"
	    "  --from sqlite:FILE   the SQLite store\n"
	    "  --to URL             postgresql:// URL or libpq conninfo\n"
	    "                       (default: [store] url); no password in\n"
	    "                       it: use the tokend account's ~/.pgpass\n"
	    "  --daemon PATH        the tokend program to run\n") },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct tk_adm_cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NITEMS(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return (&cmds[i]);
	return (NULL);
}

static void
common_help(FILE *fp)
{
	fprintf(fp, _("Options of every command:\n"
	    "  -c, --config FILE  tokend.conf to read (default: %s)\n"
	    "  --json             machine-readable output\n"
	    "  --timeout SEC      deadline of each call to tokend\n"
	    "  -h, --help         show help\n"), TK_CONF_DEFAULT_PATH);
}

static void
main_help(FILE *fp)
{
	size_t i;

	fprintf(fp, _("usage: %s [-c FILE] [--json] [--timeout SEC] "
	    "COMMAND [ARGS]\n\n"), PROGNAME);
	fputs(_("Administers tokend, the second-factor service.\n\n"), fp);
	fputs(_("Commands:\n"), fp);
	for (i = 0; i < NITEMS(cmds); i++)
		fprintf(fp, "  %s%s%s\n", cmds[i].name,
		    cmds[i].args[0] != '\0' ? " " : "", cmds[i].args);
	fputc('\n', fp);
	common_help(fp);
	fputs(_("\nExit status: 0 done, 1 refused, not found or failed, "
	    "2 usage error,\n3 tokend cannot be reached.\n"), fp);
	fprintf(fp, _("\"%s COMMAND --help\" describes one command.\n"),
	    PROGNAME);
}

void
tk_adm_help(const char *name, FILE *fp)
{
	const struct tk_adm_cmd *cmd;

	if (name == NULL || (cmd = cmd_find(name)) == NULL) {
		main_help(fp);
		return;
	}
	fprintf(fp, _("usage: %s [options] %s%s%s\n\n"), PROGNAME,
	    cmd->name, cmd->args[0] != '\0' ? " " : "", cmd->args);
	fputs(_(cmd->summary), fp);
	if (cmd->run == tk_cmd_init)
		fprintf(fp, _("                  (default: %s)\n"),
		    TOKEND_PATH);
	fputc('\n', fp);
	common_help(fp);
}

int
tk_adm_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, _("Try \"%s %s --help\".\n"), PROGNAME, cmd);
	else
		fprintf(stderr, _("Try \"%s --help\".\n"), PROGNAME);
	return (TK_EXIT_USAGE);
}

int
tk_adm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end = NULL;

	*out = 0;
	if (s == NULL || *s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

int
tk_adm_check_text(const char *s, size_t max)
{
	size_t i, len;

	if (s == NULL)
		return (-1);
	len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return (-1);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return (-1);
	return (0);
}

int
tk_adm_check_code(const char *s)
{
	size_t i, len;

	if (s == NULL)
		return (-1);
	len = strnlen(s, TK_CODE_MAX + 1);
	if (len == 0 || len > TK_CODE_MAX)
		return (-1);
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return (-1);
	return (0);
}

int
tk_adm_common_opt(struct tk_adm *c, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case 'c':
		c->conf_path = arg;
		return (1);
	case TK_OPT_JSON:
		c->json = true;
		return (1);
	case TK_OPT_TIMEOUT:
		if (tk_adm_parse_uint(arg, 1, TK_ADM_TIMEOUT_MAX, &v) != 0) {
			tk_adm_usage(NULL, _("--timeout needs a number of "
			    "seconds from 1 to %d"), TK_ADM_TIMEOUT_MAX);
			return (-1);
		}
		c->timeout = (unsigned)v;
		return (1);
	}
	return (0);
}

/* Reports a getopt error ('?' or ':') for argv; returns TK_EXIT_USAGE. */
static int
bad_option(const char *cmd, int ch, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		return (tk_adm_usage(cmd, _("option %s needs a value"), opt));
	return (tk_adm_usage(cmd, _("unknown option %s"), opt));
}

int
tk_adm_getopt(struct tk_adm *c, const char *cmd, int argc, char **argv,
    const struct option *longopts, int *usage)
{
	static const struct option common[] = {
		TK_ADM_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	*usage = TK_EXIT_OK;
	opterr = 0;
	for (;;) {
		ch = getopt_long(argc, argv, ":" TK_ADM_SHORTOPTS,
		    longopts != NULL ? longopts : common, NULL);
		switch (ch) {
		case '?':
		case ':':
			*usage = bad_option(cmd, ch, argv);
			return (-1);
		}
		switch (tk_adm_common_opt(c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			*usage = TK_EXIT_USAGE;
			return (-1);
		}
		return (ch);
	}
}

int
tk_adm_main(int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct tk_adm_cmd *cmd;
	struct tk_adm c;
	int ch, r;

	memset(&c, 0, sizeof(c));
	setlocale(LC_ALL, "");
	tk_i18n_init();
	tk_log_to_stderr(PROGNAME);

	/* global options stop at the command name ('+') */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:" TK_ADM_SHORTOPTS "V", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			main_help(stdout);
			r = TK_EXIT_OK;
			goto out;
		case 'V':
			printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			r = TK_EXIT_OK;
			goto out;
		case '?':
		case ':':
			r = bad_option(NULL, ch, argv);
			goto out;
		}
		if ((r = tk_adm_common_opt(&c, ch, optarg)) == -1) {
			r = TK_EXIT_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		r = tk_adm_usage(NULL, _("no command given"));
		goto out;
	}
	if ((cmd = cmd_find(argv[optind])) == NULL) {
		r = tk_adm_usage(NULL, _("unknown command \"%s\""),
		    argv[optind]);
		goto out;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* each command parses its own arguments afresh */
	r = cmd->run(&c, argc, argv);
 out:
	tk_conf_clear(&c.conf);
	if (fflush(stdout) != 0 && r == TK_EXIT_OK) {
		fprintf(stderr, "%s: %s\n", PROGNAME, _("cannot write output"));
		r = TK_EXIT_FAIL;
	}
	return (r);
}
