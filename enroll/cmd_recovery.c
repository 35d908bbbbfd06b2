/*
 * cmd_recovery.c -- tokenadm recovery: issue a new set of single-use
 * recovery codes and show them once.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "i18n.h"
#include "json.h"
#include "tokenadm.h"

int
tk_cmd_recovery(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "count", required_argument, NULL, TK_OPT_COUNT },
		{ NULL, 0, NULL, 0 }
	};
	tk_msg_t *req = NULL, *ans = NULL;
	const tk_msg_t *rec;
	struct tk_json j;
	const char *user, *code;
	uint64_t count = TK_RECOVERY_COUNT_DEFAULT;
	size_t i, n;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "recovery", argc, argv, opts,
	    &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("recovery", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_COUNT:
			if (tk_adm_parse_uint(optarg, 1,
			    TK_RECOVERY_COUNT_MAX, &count) != 0)
				return (tk_adm_usage("recovery", _("--count "
				    "needs a number from 1 to %d"),
				    TK_RECOVERY_COUNT_MAX));
			break;
		default:
			return (tk_adm_usage("recovery",
			    _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 1)
		return (tk_adm_usage("recovery",
		    _("expected: recovery USER")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("recovery", _("invalid user name")));

	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_RECOVERY_ISSUE)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0 ||
	    tk_msg_set_uint(req, TK_KEY_COUNT, count) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto fail;
	n = tk_msg_count(ans, TK_KEY_CODES);
	if (n != count) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, user);
		tk_json_key(&j, "codes");
		tk_json_array_begin(&j);
		for (i = 0; i < n; i++) {
			rec = tk_msg_record(ans, TK_KEY_CODES, i);
			tk_json_string(&j, tk_msg_get_text(rec, TK_KEY_CODE));
		}
		tk_json_array_end(&j);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto fail;
	}
	printf(_("New recovery codes for %s (the previous ones no longer "
	    "work).\nEach code works once, at the verification code "
	    "prompt.\nThey are shown only now: hand them over in a sealed "
	    "envelope.\n\n"), user);
	for (i = 0; i < n; i++) {
		rec = tk_msg_record(ans, TK_KEY_CODES, i);
		if ((code = tk_msg_get_text(rec, TK_KEY_CODE)) != NULL)
			printf("  %s\n", code);
	}

	ex = TK_EXIT_OK; /* success */
 fail:
	/* the messages wipe the codes they hold */
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}
