/*
 * cmd_status.c -- tokenadm status: tokend's STATUS answer, as a table
 * or as JSON.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "i18n.h"
#include "json.h"
#include "out.h"
#include "tokenadm.h"

struct status {
	const char	*version;
	const char	*store;
	uint64_t	 uptime;
	uint64_t	 users;
	uint64_t	 creds;
	uint64_t	 locked;
	bool		 store_ok;
};

static int
print_json(const struct status *s)
{
	struct tk_json j;

	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "version");
	tk_json_string(&j, s->version);
	tk_json_key(&j, "uptime");
	tk_json_uint(&j, s->uptime);
	tk_json_key(&j, "users");
	tk_json_uint(&j, s->users);
	tk_json_key(&j, "credentials");
	tk_json_uint(&j, s->creds);
	tk_json_key(&j, "locked_users");
	tk_json_uint(&j, s->locked);
	tk_json_key(&j, "store");
	tk_json_string(&j, s->store);
	tk_json_key(&j, "store_ok");
	tk_json_bool(&j, s->store_ok);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

/* Adds a "name:" / value row; -1 when out of memory. */
static int
row(tk_table_t *t, const char *name, const char *value)
{
	const char *cells[2];

	cells[0] = name;
	cells[1] = value;
	return (tk_table_add(t, cells));
}

static int
print_table(const struct status *s)
{
	tk_table_t *t = NULL;
	char up[TK_OUT_DURATION_MAX], users[24], creds[24], locked[24];
	char store[TK_SHORT_TEXT_MAX + 32];
	int ex;

	snprintf(users, sizeof(users), "%" PRIu64, s->users);
	snprintf(creds, sizeof(creds), "%" PRIu64, s->creds);
	snprintf(locked, sizeof(locked), "%" PRIu64, s->locked);
	snprintf(store, sizeof(store), "%s (%s)", s->store,
	    s->store_ok ? _("ok") : _("FAILING"));
	if ((t = tk_table_new(2, NULL)) == NULL ||
	    row(t, _("Version:"), s->version) != 0 ||
	    row(t, _("Uptime:"), tk_out_duration(s->uptime, up)) != 0 ||
	    row(t, _("Users:"), users) != 0 ||
	    row(t, _("Credentials:"), creds) != 0 ||
	    row(t, _("Locked users:"), locked) != 0 ||
	    row(t, _("Store:"), store) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	tk_table_print(t, stdout);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_table_free(&t);
	return (ex);
}

int
tk_cmd_status(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *req = NULL, *ans = NULL;
	struct status s;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "status", argc, argv, NULL, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("status", stdout);
			return (TK_EXIT_OK);
		default:
			return (tk_adm_usage("status", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (optind != argc)
		return (tk_adm_usage("status", _("too many arguments")));

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_STATUS)) == NULL) {
		fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, NULL, &ans)) != TK_EXIT_OK)
		goto fail;
	s.version = tk_msg_get_text(ans, TK_KEY_DAEMON_VERSION);
	s.store = tk_msg_get_text(ans, TK_KEY_STORE_KIND);
	if (s.version == NULL || s.store == NULL ||
	    tk_msg_get_uint(ans, TK_KEY_UPTIME, &s.uptime) != 0 ||
	    tk_msg_get_uint(ans, TK_KEY_USERS, &s.users) != 0 ||
	    tk_msg_get_uint(ans, TK_KEY_CREDS_COUNT, &s.creds) != 0 ||
	    tk_msg_get_uint(ans, TK_KEY_LOCKED_USERS, &s.locked) != 0 ||
	    tk_msg_get_bool(ans, TK_KEY_STORE_OK, &s.store_ok) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	ex = c->json ? print_json(&s) : print_table(&s);
	/* a store that does not answer is a failed status check */
	if (ex == TK_EXIT_OK && !s.store_ok)
		ex = TK_EXIT_FAIL;
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}
