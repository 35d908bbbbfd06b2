/*
 * tokenadm.h -- what the commands of tokenadm share: the run context,
 * exit codes, option handling and the calls to tokend.
 */
#ifndef TK_ADM_H
#define TK_ADM_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "msg.h"

/* exit codes, documented in tokenadm --help and tokenadm(8) */
#define TK_EXIT_OK		0	/* done */
#define TK_EXIT_FAIL		1	/* refused, not found, failed */
#define TK_EXIT_USAGE		2	/* bad command line */
#define TK_EXIT_UNREACHABLE	3	/* tokend cannot be reached */

#define TK_ADM_TIMEOUT_MAX	3600	/* --timeout, s */

/* one run of tokenadm */
struct tk_adm {
	const char	*conf_path;	/* -c FILE, or NULL for the default */
	bool		 json;		/* --json */
	unsigned	 timeout;	/* --timeout, s; 0: from tokend.conf */
	struct tk_conf	 conf;		/* valid after tk_adm_conf() */
	bool		 conf_loaded;
};

/* a command: name, handler and one line of help */
struct tk_adm_cmd {
	const char	*name;
	int		(*run)(struct tk_adm *, int argc, char **argv);
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* untranslated, shown through _() */
};

/* option values of the long options without a short form */
enum tk_adm_opt {
	TK_OPT_JSON = 256,
	TK_OPT_TIMEOUT,
	TK_OPT_LABEL,
	TK_OPT_DIGITS,
	TK_OPT_ALGORITHM,
	TK_OPT_QR_PNG,
	TK_OPT_ALL,
	TK_OPT_DAEMON,
	TK_OPT_SINCE,
	TK_OPT_UNTIL,
	TK_OPT_USER,
	TK_OPT_FORMAT,
	TK_OPT_BOM,
	TK_OPT_COUNT,
	TK_OPT_FOR,
	TK_OPT_REASON,
	TK_OPT_BEFORE,		/* audit prune */
	TK_OPT_YES,
	TK_OPT_MONTH,		/* audit report */
	TK_OPT_UNUSED_DAYS,
	TK_OPT_DEVICE,		/* enroll fido2 */
	TK_OPT_UV,
	TK_OPT_SET_PIN,
	TK_OPT_FROM,		/* migrate-store */
	TK_OPT_TO
};

/* the options every command takes, before or after its name */
#define TK_ADM_SHORTOPTS	"c:h"
#define TK_ADM_LONGOPTS						\
	{ "config", required_argument, NULL, 'c' },		\
	{ "json", no_argument, NULL, TK_OPT_JSON },		\
	{ "timeout", required_argument, NULL, TK_OPT_TIMEOUT },	\
	{ "help", no_argument, NULL, 'h' }

/*
 * Runs tokenadm with argv as given to main(); returns the exit code.
 * Usage errors never touch the network or the file system.
 */
int tk_adm_main(int argc, char **argv);

/*
 * Handles an option every command takes.  Returns 1 when `ch' was one
 * and was valid, 0 when it is not a common option, or -1 after printing
 * a usage error.  -h is left to the caller (it prints its own help).
 */
int tk_adm_common_opt(struct tk_adm *, int ch, const char *arg);

/*
 * getopt_long() for a command (argv[0] is the command name): handles the
 * common options itself and returns the next option of the command's
 * own (from longopts, which must include TK_ADM_LONGOPTS; NULL for a
 * command with none), 'h' for --help, or -1 at the end of the options.
 * After a usage error (printed) it returns -1 with *usage set to
 * TK_EXIT_USAGE; otherwise *usage is TK_EXIT_OK.
 */
int tk_adm_getopt(struct tk_adm *, const char *cmd, int argc, char **argv,
    const struct option *longopts, int *usage);

/* Prints "tokenadm: msg" and a hint to stderr; returns TK_EXIT_USAGE. */
int tk_adm_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the help of one command to fp. */
void tk_adm_help(const char *cmd, FILE *fp);

/*
 * Parses a decimal number in [min, max]: digits only, no sign, no
 * blanks.  Returns 0 or -1.
 */
int tk_adm_parse_uint(const char *s, uint64_t min, uint64_t max,
    uint64_t *out);
/* 0 when s is 1..max bytes without control bytes, else -1 */
int tk_adm_check_text(const char *s, size_t max);
/* 0 when s is 1..TK_CODE_MAX digits, else -1 */
int tk_adm_check_code(const char *s);

/*
 * Parses a date for --since/--until: YYYY-MM-DD (midnight UTC, or the
 * next midnight when `end' is set, so that --until includes the day) or
 * YYYY-MM-DDTHH:MM:SS[Z] (UTC).  Returns 0 and *out (UNIX time) or -1.
 */
int tk_adm_parse_date(const char *s, bool end, int64_t *out);
/*
 * Parses a duration: a number of seconds, or a number followed by s,
 * m, h or d (30m, 8h, 1d), up to 366 days.  Returns 0 and *out
 * (seconds, at least 1) or -1.
 */
int tk_adm_parse_duration(const char *s, uint64_t *out);
/*
 * Prints the active emergency grants (of `user', or all): a table, or
 * JSON with --json.  With `quiet', prints nothing when there are none
 * and a heading otherwise (the section of tokenadm list).  Returns an
 * exit code.
 */
int tk_adm_grants_show(struct tk_adm *, const char *user, bool quiet);

/*
 * Loads tokend.conf once (the default file may be missing).  Returns
 * TK_EXIT_OK or TK_EXIT_FAIL after printing why.
 */
int tk_adm_conf(struct tk_adm *);

/*
 * Sends req on a new connection and reads the answer into *ansp,
 * whatever its status.  Returns TK_EXIT_OK, or TK_EXIT_UNREACHABLE /
 * TK_EXIT_FAIL after printing why (then *ansp is NULL).  The caller
 * frees *ansp with tk_msg_free().
 */
int tk_adm_exchange(struct tk_adm *, const tk_msg_t *req, tk_msg_t **ansp);
/*
 * As tk_adm_exchange(), but an answer other than ok is also a failure:
 * explained on stderr (`what' names the object, e.g. the user) and
 * TK_EXIT_FAIL returned with *ansp NULL.
 */
int tk_adm_call(struct tk_adm *, const tk_msg_t *req, const char *what,
    tk_msg_t **ansp);
/* Explains a refusal on stderr; returns TK_EXIT_FAIL. */
int tk_adm_refused(struct tk_adm *, const tk_msg_t *ans, const char *what);
/* "out of memory" / "incomplete answer" on stderr; return TK_EXIT_FAIL. */
int tk_adm_oom(void);
int tk_adm_incomplete(void);
/*
 * List requests paged by TK_KEY_OFFSET (CRED_LIST, GRANT_LIST; `list' is
 * the key of their records, `user' NULL for all).  _each_page calls fn
 * with every page in turn (fn may take *ansp, leaving NULL; it returns
 * an exit code, and anything but TK_EXIT_OK stops the walk).
 * _fetch_pages keeps every page in *pagesp, freed with
 * tk_adm_pages_free().  Both return an exit code.
 */
typedef int tk_adm_page_fn_t(void *arg, tk_msg_t **ansp);
int tk_adm_each_page(struct tk_adm *, uint32_t type, enum tk_key list,
    const char *user, tk_adm_page_fn_t *fn, void *arg);
int tk_adm_fetch_pages(struct tk_adm *, uint32_t type, enum tk_key list,
    const char *user, tk_msg_t ***pagesp, size_t *npagesp);
void tk_adm_pages_free(tk_msg_t ***pagesp, size_t *npagesp);

/* the commands */
int tk_cmd_init(struct tk_adm *, int, char **);
int tk_cmd_status(struct tk_adm *, int, char **);
int tk_cmd_enroll(struct tk_adm *, int, char **);
int tk_cmd_confirm(struct tk_adm *, int, char **);
int tk_cmd_list(struct tk_adm *, int, char **);
int tk_cmd_revoke(struct tk_adm *, int, char **);
int tk_cmd_unlock(struct tk_adm *, int, char **);
int tk_cmd_audit(struct tk_adm *, int, char **);
int tk_cmd_recovery(struct tk_adm *, int, char **);
int tk_cmd_grant(struct tk_adm *, int, char **);
int tk_cmd_revoke_grant(struct tk_adm *, int, char **);
int tk_cmd_grants(struct tk_adm *, int, char **);
int tk_cmd_backup(struct tk_adm *, int, char **);
int tk_cmd_migrate_store(struct tk_adm *, int, char **);
/* FIDO2 (cmd_fido2.c) */
int tk_cmd_devices(struct tk_adm *, int, char **);
int tk_cmd_reinstate(struct tk_adm *, int, char **);
/*
 * "enroll fido2 USER ...": tk_cmd_enroll() hands over when
 * tk_adm_enroll_is_fido2() finds that the kind (the first argument
 * that is not an option) is "fido2".
 */
bool tk_adm_enroll_is_fido2(int argc, char **argv);
int tk_cmd_enroll_fido2(struct tk_adm *, int, char **);

#endif /* TK_ADM_H */
