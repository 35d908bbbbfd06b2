/*
 * cmd_grant.c -- emergency access (break-glass): tokenadm grant,
 * revoke-grant and grants, and the grant section of tokenadm list.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "json.h"
#include "out.h"
#include "tokenadm.h"

#define NUM_MAX		24	/* a uint64_t in decimal, with NUL */
#define GRANT_COLS	5
#define DURATION_MAX	(UINT64_C(366) * 86400)	/* parser bound, s */


int
tk_adm_parse_duration(const char *s, uint64_t *out)
{
	char num[NUM_MAX];
	uint64_t v, mult = 1;
	size_t len;

	*out = 0;
	if (s == NULL || (len = strnlen(s, NUM_MAX)) == 0 || len >= NUM_MAX)
		return (-1);
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		if (num[len - 1] < '0' || num[len - 1] > '9')
			return (-1);
		len++;		/* plain seconds: keep the last digit */
		break;
	}
	num[len - 1] = '\0';
	if (tk_adm_parse_uint(num, 1, DURATION_MAX / mult, &v) != 0)
		return (-1);
	*out = v * mult;
	return (0);
}

int
tk_cmd_grant(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "for", required_argument, NULL, TK_OPT_FOR },
		{ "reason", required_argument, NULL, TK_OPT_REASON },
		{ NULL, 0, NULL, 0 }
	};
	char tbuf[TK_OUT_TIME_MAX];
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *user, *reason = NULL, *until;
	uint64_t duration = 0, expires;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "grant", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("grant", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_FOR:
			if (tk_adm_parse_duration(optarg, &duration) != 0)
				return (tk_adm_usage("grant", _("--for needs a "
				    "duration such as 30m, 8h or 1d")));
			break;
		case TK_OPT_REASON:
			if (tk_adm_check_text(optarg, TK_REASON_MAX) != 0)
				return (tk_adm_usage("grant", _("--reason "
				    "needs a text of 1 to %d bytes"),
				    TK_REASON_MAX));
			reason = optarg;
			break;
		default:
			return (tk_adm_usage("grant", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 1)
		return (tk_adm_usage("grant", _("expected: grant USER --for "
		    "DURATION --reason TEXT")));
	if (duration == 0 || reason == NULL)
		return (tk_adm_usage("grant", _("--for and --reason are "
		    "required")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("grant", _("invalid user name")));

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_GRANT)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0 ||
	    tk_msg_set_uint(req, TK_KEY_DURATION, duration) != 0 ||
	    tk_msg_set_text(req, TK_KEY_REASON, reason) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_EXPIRES, &expires) != 0 ||
	    (until = tk_out_time(expires, tbuf)) == NULL) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, user);
		tk_json_key(&j, "expires");
		tk_json_string(&j, until);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto fail;
	}
	printf(_("Emergency access for %s: logins pass without a second "
	    "factor until %s.\nEvery use is audited.  End it early with "
	    "\"tokenadm revoke-grant %s\".\n"), user, until, user);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

int
tk_cmd_revoke_grant(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *user;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "revoke-grant", argc, argv, NULL,
	    &ex)) != -1) {
		if (ch != 'h')
			return (tk_adm_usage("revoke-grant",
			    _("unknown option")));
		tk_adm_help("revoke-grant", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 1)
		return (tk_adm_usage("revoke-grant",
		    _("expected: revoke-grant USER")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("revoke-grant", _("invalid user name")));
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_GRANT_REVOKE)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto fail;
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, user);
		tk_json_key(&j, "revoked");
		tk_json_bool(&j, true);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto fail;
	}
	printf(_("Emergency access of %s ended.\n"), user);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

static void
grant_json(struct tk_json *j, const tk_msg_t *rec)
{
	char tbuf[TK_OUT_TIME_MAX];
	uint64_t v;

	tk_json_object_begin(j);
	tk_json_key(j, "user");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_USER));
	tk_json_key(j, "granted");
	tk_json_string(j, tk_msg_get_uint(rec, TK_KEY_CREATED, &v) == 0 ?
	    tk_out_time(v, tbuf) : NULL);
	tk_json_key(j, "expires");
	tk_json_string(j, tk_msg_get_uint(rec, TK_KEY_EXPIRES, &v) == 0 ?
	    tk_out_time(v, tbuf) : NULL);
	tk_json_key(j, "granted_by_uid");
	if (tk_msg_get_uint(rec, TK_KEY_UID, &v) == 0)
		tk_json_uint(j, v);
	else
		tk_json_null(j);
	tk_json_key(j, "reason");
	tk_json_string(j, tk_msg_get_text(rec, TK_KEY_REASON));
	tk_json_object_end(j);
}

/* the grants as a table; nothing at all when there are none and quiet */
static int
grants_table(tk_msg_t *const *pages, size_t npages, bool quiet)
{
	char created[TK_OUT_TIME_MAX], expires[TK_OUT_TIME_MAX], uid[NUM_MAX];
	const char *head[GRANT_COLS], *cells[GRANT_COLS];
	const tk_msg_t *rec;
	tk_table_t *t = NULL;
	size_t i, p, n = 0;
	uint64_t v;
	int ex;

	for (p = 0; p < npages; p++)
		n += tk_msg_count(pages[p], TK_KEY_GRANTS);
	if (n == 0) {
		if (!quiet)
			printf("%s\n", _("No emergency access grants."));
		return (TK_EXIT_OK);
	}
	head[0] = _("USER");
	head[1] = _("GRANTED");
	head[2] = _("EXPIRES");
	head[3] = _("BY UID");
	head[4] = _("REASON");
	if ((t = tk_table_new(GRANT_COLS, head)) == NULL) {
		ex = tk_adm_oom();
		goto fail;
	}
	for (p = 0; p < npages; p++)
		for (i = 0; i < tk_msg_count(pages[p], TK_KEY_GRANTS); i++) {
			rec = tk_msg_record(pages[p], TK_KEY_GRANTS, i);
			cells[0] = tk_msg_get_text(rec, TK_KEY_USER);
			cells[1] = tk_msg_get_uint(rec, TK_KEY_CREATED,
			    &v) == 0 ? tk_out_time(v, created) : NULL;
			cells[2] = tk_msg_get_uint(rec, TK_KEY_EXPIRES,
			    &v) == 0 ? tk_out_time(v, expires) : NULL;
			cells[3] = NULL;
			if (tk_msg_get_uint(rec, TK_KEY_UID, &v) == 0) {
				snprintf(uid, sizeof(uid), "%" PRIu64, v);
				cells[3] = uid;
			}
			cells[4] = tk_msg_get_text(rec, TK_KEY_REASON);
			if (tk_table_add(t, cells) != 0) {
				ex = tk_adm_oom();
				goto fail;
			}
		}
	if (quiet)
		printf("\n%s\n", _("Emergency access grants (no second "
		    "factor asked):"));
	tk_table_print(t, stdout);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_table_free(&t);
	return (ex);
}

int
tk_adm_grants_show(struct tk_adm *c, const char *user, bool quiet)
{
	tk_msg_t **pages = NULL;
	struct tk_json j;
	size_t npages = 0, i, p;
	int ex;

	if ((ex = tk_adm_fetch_pages(c, TK_MSG_GRANT_LIST, TK_KEY_GRANTS, user,
	    &pages, &npages)) != TK_EXIT_OK)
		return (ex);
	if (c->json && !quiet) {
		tk_json_init(&j, stdout);
		tk_json_array_begin(&j);
		for (p = 0; p < npages; p++)
			for (i = 0; i < tk_msg_count(pages[p], TK_KEY_GRANTS);
			    i++)
				grant_json(&j, tk_msg_record(pages[p],
				    TK_KEY_GRANTS, i));
		tk_json_array_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
	} else
		ex = grants_table(pages, npages, quiet);
	tk_adm_pages_free(&pages, &npages);
	return (ex);
}

int
tk_cmd_grants(struct tk_adm *c, int argc, char **argv)
{
	const char *user = NULL;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "grants", argc, argv, NULL,
	    &ex)) != -1) {
		if (ch != 'h')
			return (tk_adm_usage("grants", _("unknown option")));
		tk_adm_help("grants", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind > 1)
		return (tk_adm_usage("grants", _("too many arguments")));
	if (argc - optind == 1) {
		user = argv[optind];
		if (tk_adm_check_text(user, TK_USER_MAX) != 0)
			return (tk_adm_usage("grants", _("invalid user name")));
	}
	return (tk_adm_grants_show(c, user, false));
}
