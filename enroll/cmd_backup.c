/*
 * cmd_backup.c -- tokenadm backup: tokend writes a consistent online
 * copy of its store (SQLite backup API) into a new file.  Only root may
 * ask; tokend creates the file itself (it alone reads the store), with
 * mode 0600, refusing an existing file or link.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "json.h"
#include "tokenadm.h"

int
tk_cmd_backup(struct tk_adm *c, int argc, char **argv)
{
	char path[TK_PATH_MAX + 1], cwd[PATH_MAX];
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *file;
	int ch, ex, n;

	while ((ch = tk_adm_getopt(c, "backup", argc, argv, NULL,
	    &ex)) != -1) {
		if (ch != 'h')
			return (tk_adm_usage("backup", _("unknown option")));
		tk_adm_help("backup", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 1)
		return (tk_adm_usage("backup", _("expected: backup FILE")));
	/* PostgreSQL: the database's own tools make consistent copies */
	if ((ex = tk_adm_conf(c)) != TK_EXIT_OK)
		return (ex);
	if (c->conf.store_url != NULL && c->conf.store_url[0] != '\0') {
		fprintf(stderr, _("tokenadm: backup copies only the SQLite "
		    "store; this tokend uses PostgreSQL ([store] url): back it "
		    "up with pg_dump or continuous archiving (see "
		    "deployment.md)\n"));
		return (TK_EXIT_FAIL);
	}
	file = argv[optind];
	if (tk_adm_check_text(file, TK_PATH_MAX) != 0)
		return (tk_adm_usage("backup", _("invalid file name")));
	/* tokend runs elsewhere: it gets an absolute path */
	if (file[0] == '/')
		n = snprintf(path, sizeof(path), "%s", file);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		n = -1;
	else
		n = snprintf(path, sizeof(path), "%s/%s", cwd, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return (tk_adm_usage("backup", _("file name too long")));

	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_BACKUP)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_PATH, path) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
		ex = TK_EXIT_FAIL;
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, path, &ans)) != TK_EXIT_OK)
		goto fail;
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "backup");
		tk_json_string(&j, path);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto fail;
	}
	printf(_("Backup written to %s.\nThe master key is not in it: keep "
	    "a copy of the master key too, stored apart from the backup.\n"),
	    path);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}
