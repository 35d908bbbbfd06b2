/*
 * cmd_cred.c -- the credentials of users: tokenadm list, revoke and
 * unlock.  FIDO2 credentials show their signature counter and key model,
 * and a suspended one (possible cloned key) stands out.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aaguid.h"
#include "i18n.h"
#include "json.h"
#include "out.h"
#include "tokenadm.h"

#define NUM_MAX		24	/* a uint64_t in decimal, with NUL */
#define LIST_COLS	11


/* Parses options of a command with no options of its own. */
static int
plain_args(struct tk_adm *c, const char *cmd, int argc, char **argv,
    bool *help)
{
	int ch, ex;

	*help = false;
	while ((ch = tk_adm_getopt(c, cmd, argc, argv, NULL, &ex)) != -1) {
		if (ch != 'h')
			return (tk_adm_usage(cmd, _("unknown option")));
		tk_adm_help(cmd, stdout);
		*help = true;
		return (TK_EXIT_OK);
	}
	return (ex);
}

/* the AAGUID of a record as text into buf, or NULL */
static const char *
record_aaguid(const tk_msg_t *rec, char buf[TK_AAGUID_TEXT_MAX],
    const char **model)
{
	const unsigned char *a;
	size_t len;

	*model = NULL;
	if (tk_msg_get_bytes(rec, TK_KEY_AAGUID, &a, &len) != 0)
		return (NULL);
	*model = tk_aaguid_model(a, len);
	return (tk_aaguid_text(a, len, buf));
}

static bool
record_suspended(const tk_msg_t *rec)
{
	const char *state = tk_msg_get_text(rec, TK_KEY_STATE);

	return (state != NULL && strcmp(state, "suspended") == 0);
}

/*
 * one credential record as JSON; the FIDO2 members (sign_count, aaguid,
 * model, attestation_format, user_verification) are null for TOTP
 */
static void
record_json(struct tk_json *j, const tk_msg_t *rec)
{
	char tbuf[TK_OUT_TIME_MAX], abuf[TK_AAGUID_TEXT_MAX];
	const char *aaguid, *model;
	uint64_t v;
	bool b;

	tk_json_object_begin(j);
	tk_json_key(j, "user");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_USER));
	tk_json_key(j, "credential");
	if (tk_msg_get_uint(rec, TK_KEY_CRED, &v) == 0)
		tk_json_uint(j, v);
	else
		tk_json_null(j);
	tk_json_key(j, "kind");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_KIND));
	tk_json_key(j, "label");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_LABEL));
	tk_json_key(j, "state");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_STATE));
	tk_json_key(j, "created");
	tk_json_string(j, tk_msg_get_uint(rec, TK_KEY_CREATED, &v) == 0 ?
	    tk_out_time(v, tbuf) : NULL);
	tk_json_key(j, "last_used");
	tk_json_string(j, tk_msg_get_uint(rec, TK_KEY_LAST_USED, &v) == 0 ?
	    tk_out_time(v, tbuf) : NULL);
	tk_json_key(j, "digits");
	if (tk_msg_get_uint(rec, TK_KEY_DIGITS, &v) == 0)
		tk_json_uint(j, v);
	else
		tk_json_null(j);
	tk_json_key(j, "algorithm");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_ALGORITHM));
	tk_json_key(j, "locked");
	if (tk_msg_get_bool(rec, TK_KEY_LOCKED, &b) == 0)
		tk_json_bool(j, b);
	else
		tk_json_null(j);
	tk_json_key(j, "failures");
	if (tk_msg_get_uint(rec, TK_KEY_FAILURES, &v) == 0)
		tk_json_uint(j, v);
	else
		tk_json_null(j);
	tk_json_key(j, "sign_count");
	if (tk_msg_get_uint(rec, TK_KEY_SIGN_COUNT, &v) == 0)
		tk_json_uint(j, v);
	else
		tk_json_null(j);
	aaguid = record_aaguid(rec, abuf, &model);
	tk_json_key(j, "aaguid");
	tk_json_string(j, aaguid);
	tk_json_key(j, "model");
	tk_json_string(j, model);
	tk_json_key(j, "attestation_format");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_FMT));
	tk_json_key(j, "user_verification");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_UV));
	tk_json_object_end(j);
}

static int
list_json(tk_msg_t *const *pages, size_t npages)
{
	struct tk_json j;
	size_t i, p;

	tk_json_init(&j, stdout);
	tk_json_array_begin(&j);
	for (p = 0; p < npages; p++)
		for (i = 0; i < tk_msg_count(pages[p], TK_KEY_CREDS); i++)
			record_json(&j,
			    tk_msg_record(pages[p], TK_KEY_CREDS, i));
	tk_json_array_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

/* Adds one credential record as a table row; -1 when out of memory. */
static int
record_row(tk_table_t *t, const tk_msg_t *rec)
{
	char id[NUM_MAX], fail[NUM_MAX], signs[NUM_MAX];
	char created[TK_OUT_TIME_MAX], used[TK_OUT_TIME_MAX];
	char abuf[TK_AAGUID_TEXT_MAX];
	const char *cells[LIST_COLS], *model;
	uint64_t v;
	bool b;

	cells[0] = tk_msg_get_text(rec, TK_KEY_USER);
	cells[1] = NULL;
	if (tk_msg_get_uint(rec, TK_KEY_CRED, &v) == 0) {
		snprintf(id, sizeof(id), "%" PRIu64, v);
		cells[1] = id;
	}
	cells[2] = tk_msg_get_text(rec, TK_KEY_KIND);
	cells[3] = tk_msg_get_text(rec, TK_KEY_LABEL);
	cells[4] = tk_msg_get_text(rec, TK_KEY_STATE);
	if (record_suspended(rec))
		cells[4] = _("suspended (possible cloned key)");
	cells[5] = tk_msg_get_uint(rec, TK_KEY_CREATED, &v) == 0 ?
	    tk_out_time(v, created) : NULL;
	cells[6] = NULL;
	if (tk_msg_get_uint(rec, TK_KEY_LAST_USED, &v) == 0)
		cells[6] = v == 0 ? _("never") : tk_out_time(v, used);
	cells[7] = NULL;
	if (tk_msg_get_bool(rec, TK_KEY_LOCKED, &b) == 0)
		cells[7] = b ? _("yes") : _("no");
	cells[8] = NULL;
	if (tk_msg_get_uint(rec, TK_KEY_FAILURES, &v) == 0) {
		snprintf(fail, sizeof(fail), "%" PRIu64, v);
		cells[8] = fail;
	}
	cells[9] = NULL;
	if (tk_msg_get_uint(rec, TK_KEY_SIGN_COUNT, &v) == 0) {
		snprintf(signs, sizeof(signs), "%" PRIu64, v);
		cells[9] = signs;
	}
	/* the model when known, else the AAGUID itself */
	cells[10] = record_aaguid(rec, abuf, &model);
	if (model != NULL)
		cells[10] = model;
	return (tk_table_add(t, cells));
}

static int
list_table(tk_msg_t *const *pages, size_t npages)
{
	const char *head[LIST_COLS];
	tk_table_t *t = NULL;
	size_t i, p, n = 0, suspended = 0;
	int ex;

	for (p = 0; p < npages; p++)
		n += tk_msg_count(pages[p], TK_KEY_CREDS);
	if (n == 0) {
		printf("%s\n", _("No credentials."));
		return (TK_EXIT_OK);
	}
	head[0] = _("USER");
	head[1] = _("ID");
	head[2] = _("KIND");
	head[3] = _("LABEL");
	head[4] = _("STATE");
	head[5] = _("CREATED");
	head[6] = _("LAST USED");
	head[7] = _("LOCKED");
	head[8] = _("FAILURES");
	head[9] = _("SIGN COUNT");
	head[10] = _("KEY MODEL");
	if ((t = tk_table_new(LIST_COLS, head)) == NULL) {
		ex = tk_adm_oom();
		goto fail;
	}
	for (p = 0; p < npages; p++)
		for (i = 0; i < tk_msg_count(pages[p], TK_KEY_CREDS); i++) {
			if (record_row(t,
			    tk_msg_record(pages[p], TK_KEY_CREDS, i)) != 0) {
				ex = tk_adm_oom();
				goto fail;
			}
			if (record_suspended(tk_msg_record(pages[p],
			    TK_KEY_CREDS, i)))
				suspended++;
		}
	tk_table_print(t, stdout);
	if (suspended > 0)
		printf(_("\n%zu credential(s) suspended: the key's signature "
		    "counter did not grow,\nas happens when a key was cloned.  "
		    "Investigate, then \"tokenadm reinstate\nUSER ID\" or "
		    "\"tokenadm revoke USER ID\".\n"), suspended);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_table_free(&t);
	return (ex);
}

int
tk_cmd_list(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t **pages = NULL;
	size_t npages = 0;
	const char *user = NULL;
	bool help;
	int ex;

	if ((ex = plain_args(c, "list", argc, argv, &help)) != TK_EXIT_OK ||
	    help)
		return (ex);
	if (argc - optind > 1)
		return (tk_adm_usage("list", _("too many arguments")));
	if (argc - optind == 1) {
		user = argv[optind];
		if (tk_adm_check_text(user, TK_USER_MAX) != 0)
			return (tk_adm_usage("list", _("invalid user name")));
	}
	if ((ex = tk_adm_fetch_pages(c, TK_MSG_CRED_LIST, TK_KEY_CREDS, user,
	    &pages, &npages)) != TK_EXIT_OK)
		return (ex);
	ex = c->json ? list_json(pages, npages) : list_table(pages, npages);
	/* emergency grants show under the table (JSON keeps its shape) */
	if (ex == TK_EXIT_OK && !c->json)
		ex = tk_adm_grants_show(c, user, true);
	tk_adm_pages_free(&pages, &npages);
	return (ex);
}

int
tk_cmd_revoke(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "all", no_argument, NULL, TK_OPT_ALL },
		{ NULL, 0, NULL, 0 }
	};
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *user;
	uint64_t cred = 0, count;
	bool all = false;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "revoke", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("revoke", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_ALL:
			all = true;
			break;
		default:
			return (tk_adm_usage("revoke", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != (all ? 1 : 2))
		return (tk_adm_usage("revoke",
		    _("expected: revoke USER CREDENTIAL|--all")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("revoke", _("invalid user name")));
	if (!all && tk_adm_parse_uint(argv[optind + 1], 1, UINT64_MAX,
	    &cred) != 0)
		return (tk_adm_usage("revoke",
		    _("CREDENTIAL is a credential number")));

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_CRED_REVOKE)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0 ||
	    (all ? tk_msg_set_bool(req, TK_KEY_ALL, true) :
	    tk_msg_set_uint(req, TK_KEY_CRED, cred)) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_CREDS_COUNT, &count) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if (!c->json) {
		printf(_("Revoked %" PRIu64 " credential(s) of %s.\n"), count,
		    user);
		ex = TK_EXIT_OK;
		goto fail;
	}
	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "user");
	tk_json_string(&j, user);
	tk_json_key(&j, "revoked");
	tk_json_uint(&j, count);
	tk_json_object_end(&j);
	ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

int
tk_cmd_unlock(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *user;
	uint64_t cleared;
	bool help;
	int ex;

	if ((ex = plain_args(c, "unlock", argc, argv, &help)) != TK_EXIT_OK ||
	    help)
		return (ex);
	if (argc - optind != 1)
		return (tk_adm_usage("unlock", _("expected: unlock USER")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("unlock", _("invalid user name")));

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_UNLOCK)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_FAILURES, &cleared) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if (!c->json) {
		printf(_("Unlocked %s (%" PRIu64 " failures cleared).\n"), user,
		    cleared);
		ex = TK_EXIT_OK;
		goto fail;
	}
	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "user");
	tk_json_string(&j, user);
	tk_json_key(&j, "unlocked");
	tk_json_bool(&j, true);
	tk_json_key(&j, "failures_cleared");
	tk_json_uint(&j, cleared);
	tk_json_object_end(&j);
	ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}
