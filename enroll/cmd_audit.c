/*
 * cmd_audit.c -- the audit trail for inspection: tokenadm audit verify,
 * tokenadm audit export and tokenadm audit prune (audit report is
 * cmd_report.c).
 *
 * Export formats:
 *  - csv: RFC 4180 (comma, CRLF line ends, a field with a comma, quote,
 *    CR or LF in double quotes with quotes doubled), UTF-8, a header
 *    row, and with --bom a UTF-8 byte order mark so that spreadsheets
 *    read the file as UTF-8.  A field that a spreadsheet would take for
 *    a formula (it starts with = + - @ or a tab) gets a leading
 *    apostrophe.
 *  - jsonl: one JSON object a line.
 * Times are ISO 8601 UTC in both.
 *
 * prune --before DATE removes the rows older than DATE (midnight UTC
 * for YYYY-MM-DD), after a confirmation typed on the terminal unless
 * --yes.  JSON output: {"removed": N, "before": time, "anchor_seq": S}.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "i18n.h"
#include "json.h"
#include "out.h"
#include "report.h"
#include "tokenadm.h"

#define NUM_MAX		24	/* a uint64_t in decimal, with NUL */
#define DAY_S		86400
#define DATE_MAX	32	/* longest accepted date text */
#define ANSWER_MAX	16	/* the confirmation typed */

enum audit_format {
	FMT_NONE = 0,
	FMT_CSV,
	FMT_JSONL
};

static const char *const csv_head[] = {
	"seq", "time", "host", "event", "user", "credential", "service",
	"rhost", "tty", "uid", "pid", "result", "reason"
};
#define NCOLS	(sizeof(csv_head) / sizeof(csv_head[0]))


/* n decimal digits at s; -1 when one is not a digit */
static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

int
tk_adm_parse_date(const char *s, bool end, int64_t *out)
{
	struct tm tm, back;
	time_t t;
	size_t len;
	bool date_only;

	*out = 0;
	if (s == NULL)
		return (-1);
	len = strnlen(s, DATE_MAX + 1);
	/* YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS with an optional Z */
	date_only = len == 10;
	if (!date_only && len != 19 && !(len == 20 && s[19] == 'Z'))
		return (-1);
	if (s[4] != '-' || s[7] != '-' ||
	    (!date_only && (s[10] != 'T' || s[13] != ':' || s[16] != ':')))
		return (-1);
	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = digits(s, 4)) < 1970 ||
	    (tm.tm_mon = digits(s + 5, 2)) < 1 ||
	    (tm.tm_mday = digits(s + 8, 2)) < 1)
		return (-1);
	if (!date_only && ((tm.tm_hour = digits(s + 11, 2)) < 0 ||
	    (tm.tm_min = digits(s + 14, 2)) < 0 ||
	    (tm.tm_sec = digits(s + 17, 2)) < 0))
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	if ((t = timegm(&tm)) == (time_t)-1)
		return (-1);
	/* no normalising: 2024-02-30 or 25:00 is an error */
	if (tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return (-1);
	*out = (int64_t)t + (date_only && end ? DAY_S : 0);
	return (0);
}

/* ---------------------------------------------------------------- */
/* audit verify */

static int
audit_verify(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	uint64_t count = 0, bad = 0;
	bool broken;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "audit", argc, argv, NULL, &ex)) != -1) {
		if (ch != 'h')
			return (tk_adm_usage("audit", _("unknown option")));
		tk_adm_help("audit", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 0)
		return (tk_adm_usage("audit", _("too many arguments")));
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_AUDIT_VERIFY)) == NULL) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, NULL, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_COUNT, &count) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	broken = tk_msg_get_uint(ans, TK_KEY_BAD_SEQ, &bad) == 0;
	ex = broken ? TK_EXIT_FAIL : TK_EXIT_OK;
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "intact");
		tk_json_bool(&j, !broken);
		tk_json_key(&j, "rows");
		tk_json_uint(&j, count);
		tk_json_key(&j, "first_bad_row");
		if (broken)
			tk_json_uint(&j, bad);
		else
			tk_json_null(&j);
		tk_json_object_end(&j);
		if (tk_json_finish(&j) != 0)
			ex = TK_EXIT_FAIL;
	} else if (broken)
		printf(_("Audit trail BROKEN at row %" PRIu64 ": that row was "
		    "altered, removed, inserted or moved (%" PRIu64 " rows "
		    "read).\n"), bad, count);
	else
		printf(_("Audit trail intact: %" PRIu64 " rows verified.\n"),
		    count);
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

/* ---------------------------------------------------------------- */
/* audit export */

/* one CSV field (RFC 4180), with formula protection */
static void
csv_field(FILE *fp, const char *s, bool first)
{
	const char *p;
	bool quote = false;

	if (!first)
		fputc(',', fp);
	if (s == NULL || *s == '\0')
		return;
	for (p = s; *p != '\0'; p++)
		if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
			quote = true;
	if (quote)
		fputc('"', fp);
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t')
		fputc('\'', fp);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	if (quote)
		fputc('"', fp);
}

/* the texts of one exported row, in csv_head order */
static void
row_cells(const tk_msg_t *rec, const char *cells[NCOLS],
    char nums[5][NUM_MAX], char tbuf[TK_OUT_TIME_MAX])
{
	static const enum tk_key numkeys[] = { TK_KEY_SEQ, TK_KEY_CRED,
	    TK_KEY_UID, TK_KEY_PID };
	static const size_t numcols[] = { 0, 5, 9, 10 };
	uint64_t v;
	size_t i;

	for (i = 0; i < NCOLS; i++)
		cells[i] = NULL;
	for (i = 0; i < sizeof(numkeys) / sizeof(numkeys[0]); i++)
		if (tk_msg_get_uint(rec, numkeys[i], &v) == 0) {
			snprintf(nums[i], NUM_MAX, "%" PRIu64, v);
			cells[numcols[i]] = nums[i];
		}
	if (tk_msg_get_uint(rec, TK_KEY_TIME, &v) == 0)
		cells[1] = tk_out_time(v, tbuf);
	cells[2] = tk_msg_get_text(rec, TK_KEY_HOST);
	cells[3] = tk_msg_get_text(rec, TK_KEY_EVENT);
	cells[4] = tk_msg_get_text(rec, TK_KEY_USER);
	cells[6] = tk_msg_get_text(rec, TK_KEY_SERVICE);
	cells[7] = tk_msg_get_text(rec, TK_KEY_RHOST);
	cells[8] = tk_msg_get_text(rec, TK_KEY_TTY);
	cells[11] = tk_msg_get_text(rec, TK_KEY_RESULT);
	cells[12] = tk_msg_get_text(rec, TK_KEY_REASON);
}

static void
row_csv(FILE *fp, const tk_msg_t *rec)
{
	const char *cells[NCOLS];
	char nums[5][NUM_MAX], tbuf[TK_OUT_TIME_MAX];
	size_t i;

	row_cells(rec, cells, nums, tbuf);
	for (i = 0; i < NCOLS; i++)
		csv_field(fp, cells[i], i == 0);
	fputs("\r\n", fp);
}

static int
row_jsonl(FILE *fp, const tk_msg_t *rec)
{
	const char *cells[NCOLS];
	char nums[5][NUM_MAX], tbuf[TK_OUT_TIME_MAX];
	struct tk_json j;
	uint64_t v;
	size_t i;

	row_cells(rec, cells, nums, tbuf);
	tk_json_init(&j, fp);
	tk_json_object_begin(&j);
	for (i = 0; i < NCOLS; i++) {
		tk_json_key(&j, csv_head[i]);
		switch (i) {
		case 0:
		case 5:
		case 9:
		case 10:
			/* numbers stay numbers */
			if (cells[i] != NULL && tk_adm_parse_uint(cells[i], 0,
			    UINT64_MAX, &v) == 0)
				tk_json_uint(&j, v);
			else
				tk_json_null(&j);
			break;
		default:
			tk_json_string(&j, cells[i]);
			break;
		}
	}
	tk_json_object_end(&j);
	return (tk_json_finish(&j));
}

static int
audit_export(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "since", required_argument, NULL, TK_OPT_SINCE },
		{ "until", required_argument, NULL, TK_OPT_UNTIL },
		{ "user", required_argument, NULL, TK_OPT_USER },
		{ "format", required_argument, NULL, TK_OPT_FORMAT },
		{ "bom", no_argument, NULL, TK_OPT_BOM },
		{ NULL, 0, NULL, 0 }
	};
	tk_msg_t *req = NULL, *ans = NULL;
	const tk_msg_t *rec;
	enum audit_format fmt = FMT_NONE;
	const char *user = NULL;
	int64_t since = 0, until = 0;
	uint64_t after = 0, seq;
	size_t i, n;
	bool bom = false, more;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "audit", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("audit", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_SINCE:
			if (tk_adm_parse_date(optarg, false, &since) != 0)
				return (tk_adm_usage("audit", _("--since needs "
				    "a date: YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)")));
			break;
		case TK_OPT_UNTIL:
			if (tk_adm_parse_date(optarg, true, &until) != 0)
				return (tk_adm_usage("audit", _("--until needs "
				    "a date: YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)")));
			break;
		case TK_OPT_USER:
			if (tk_adm_check_text(optarg, TK_USER_MAX) != 0)
				return (tk_adm_usage("audit",
				    _("invalid user name")));
			user = optarg;
			break;
		case TK_OPT_FORMAT:
			if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = FMT_JSONL;
			else
				return (tk_adm_usage("audit", _("--format is "
				    "csv or jsonl")));
			break;
		case TK_OPT_BOM:
			bom = true;
			break;
		default:
			return (tk_adm_usage("audit", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 0)
		return (tk_adm_usage("audit", _("too many arguments")));
	if (fmt == FMT_NONE)
		return (tk_adm_usage("audit", _("--format csv or --format "
		    "jsonl is required")));
	if (bom && fmt != FMT_CSV)
		return (tk_adm_usage("audit", _("--bom is for --format csv")));
	if (since != 0 && until != 0 && until <= since)
		return (tk_adm_usage("audit", _("--until must be later than "
		    "--since")));

	if (fmt == FMT_CSV) {
		if (bom)
			fputs("\xef\xbb\xbf", stdout);
		for (i = 0; i < NCOLS; i++)
			csv_field(stdout, csv_head[i], i == 0);
		fputs("\r\n", stdout);
	}
	do {
		if ((req = tk_msg_new(TK_DIR_REQUEST,
		    TK_MSG_AUDIT_EXPORT)) == NULL ||
		    (user != NULL &&
		    tk_msg_set_text(req, TK_KEY_USER, user) != 0) ||
		    (since != 0 &&
		    tk_msg_set_uint(req, TK_KEY_SINCE, (uint64_t)since) != 0) ||
		    (until != 0 &&
		    tk_msg_set_uint(req, TK_KEY_UNTIL, (uint64_t)until) != 0) ||
		    tk_msg_set_uint(req, TK_KEY_SEQ, after) != 0) {
			ex = tk_adm_oom();
			goto fail;
		}
		if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
			goto fail;
		tk_msg_free(&req);
		n = tk_msg_count(ans, TK_KEY_AUDIT);
		if (tk_msg_get_bool(ans, TK_KEY_MORE, &more) != 0)
			more = false;
		for (i = 0; i < n; i++) {
			rec = tk_msg_record(ans, TK_KEY_AUDIT, i);
			/* the cursor only moves forward */
			if (tk_msg_get_uint(rec, TK_KEY_SEQ, &seq) != 0 ||
			    seq <= after) {
				fprintf(stderr, "tokenadm: %s\n",
				    _("incomplete answer"));
				ex = TK_EXIT_FAIL;
				goto fail;
			}
			after = seq;
			if (fmt == FMT_CSV)
				row_csv(stdout, rec);
			else if (row_jsonl(stdout, rec) != 0) {
				ex = TK_EXIT_FAIL;
				goto fail;
			}
		}
		if (more && n == 0) {
			fprintf(stderr, "tokenadm: %s\n",
			    _("incomplete answer"));
			ex = TK_EXIT_FAIL;
			goto fail;
		}
		tk_msg_free(&ans);
	} while (more);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

/* ---------------------------------------------------------------- */
/* audit prune */

/* asks on the terminal; true when the answer is "yes" */
static bool
confirm_prune(const char *before)
{
	char line[ANSWER_MAX];
	size_t n;

	printf(_("This removes every audit row older than %s for good.\n"
	    "Export them first (tokenadm audit export --until ...) and keep\n"
	    "the export.  The kept rows stay verifiable, and the removal is\n"
	    "itself audited.\n"), before);
	printf("%s", _("Type \"yes\" to remove them: "));
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return (false);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return (strcmp(line, "yes") == 0);
}

static int
audit_prune(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "before", required_argument, NULL, TK_OPT_BEFORE },
		{ "yes", no_argument, NULL, TK_OPT_YES },
		{ NULL, 0, NULL, 0 }
	};
	char tbuf[TK_OUT_TIME_MAX];
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	int64_t before = 0;
	uint64_t count = 0, anchor = 0;
	bool yes = false;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "audit", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("audit", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_BEFORE:
			if (tk_adm_parse_date(optarg, false, &before) != 0)
				return (tk_adm_usage("audit", _("--before "
				    "needs a date: YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)")));
			break;
		case TK_OPT_YES:
			yes = true;
			break;
		default:
			return (tk_adm_usage("audit", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 0)
		return (tk_adm_usage("audit", _("too many arguments")));
	if (before <= 0)
		return (tk_adm_usage("audit", _("--before DATE is required")));
	tk_out_time((uint64_t)before, tbuf);
	if (!yes) {
		if (!isatty(STDIN_FILENO))
			return (tk_adm_usage("audit", _("--yes is required "
			    "when standard input is not a terminal")));
		if (!confirm_prune(tbuf)) {
			fprintf(stderr, "tokenadm: %s\n",
			    _("not confirmed: nothing was removed"));
			return (TK_EXIT_FAIL);
		}
	}

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_AUDIT_PRUNE)) == NULL ||
	    tk_msg_set_uint(req, TK_KEY_UNTIL, (uint64_t)before) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, NULL, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_COUNT, &count) != 0 ||
	    tk_msg_get_uint(ans, TK_KEY_SEQ, &anchor) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "removed");
		tk_json_uint(&j, count);
		tk_json_key(&j, "before");
		tk_json_string(&j, tbuf);
		tk_json_key(&j, "anchor_seq");
		if (anchor != 0)
			tk_json_uint(&j, anchor);
		else
			tk_json_null(&j);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto fail;
	}
	if (count == 0)
		printf(_("No audit row older than %s: nothing removed.\n"),
		    tbuf);
	else
		printf(_("Removed %" PRIu64 " audit rows older than %s.\n"),
		    count, tbuf);
	if (anchor != 0)
		printf(_("The chain now starts after row %" PRIu64 " (the "
		    "anchor); \"tokenadm audit verify\" checks it from "
		    "there.\n"), anchor);
	ex = TK_EXIT_OK;
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

int
tk_cmd_audit(struct tk_adm *c, int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			tk_adm_help("audit", stdout);
			return (TK_EXIT_OK);
		}
		return (tk_adm_usage("audit", _("expected: audit verify, "
		    "export, report or prune")));
	}
	sub = argv[1];
	/* the subcommand becomes argv[0] of its own options */
	if (strcmp(sub, "verify") == 0)
		return (audit_verify(c, argc - 1, argv + 1));
	if (strcmp(sub, "export") == 0)
		return (audit_export(c, argc - 1, argv + 1));
	if (strcmp(sub, "report") == 0)
		return (tk_adm_audit_report(c, argc - 1, argv + 1));
	if (strcmp(sub, "prune") == 0)
		return (audit_prune(c, argc - 1, argv + 1));
	return (tk_adm_usage("audit", _("unknown audit command \"%s\""), sub));
}
