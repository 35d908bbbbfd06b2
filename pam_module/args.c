/*
 * args.c -- module arguments.  The file named by config= is read first
 * and every other argument overrides it, so one tokend.conf can serve
 * all PAM services while a stack line still tunes its own service.
 * Value options go through tk_conf_set(), the same checks the file
 * gets; an argument the module does not know is refused, never skipped,
 * because a misspelt "nullok" or "factors=" must not silently change
 * who can log in.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "err.h"

#define CONFIG_PREFIX	"config="

/* value options: argument name, tokend.conf section and key */
static const struct value_opt {
	const char	*name;
	const char	*section;
	const char	*key;
} value_opts[] = {
	{ "socket", "tokend", "socket" },
	{ "timeout", "pam", "timeout" },
	{ "factors", "pam", "factors" },
	{ "fido2_wait", "pam", "fido2_wait" },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static bool
is_config(const char *arg)
{
	return (strncmp(arg, CONFIG_PREFIX, strlen(CONFIG_PREFIX)) == 0);
}

/* flag options: a bare word that sets a [pam] boolean to true */
static const char *const flag_opts[] = { "nullok", "cue", "debug" };

/*
 * Sets a flag option through tk_conf_set(), like the file would.
 * Returns 1 when arg is not a flag, else 0 or a negative TK_ERR_*.
 */
static int
set_flag(struct tk_conf *c, const char *arg, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NITEMS(flag_opts); i++)
		if (strcmp(arg, flag_opts[i]) == 0)
			return (tk_conf_set(c, "pam", flag_opts[i], "true",
			    err, errlen));
	return (1);
}

/* Applies one name=value argument; 0, TK_ERR_CONFIG or TK_ERR_NOMEM. */
static int
set_value(struct tk_conf *c, const char *arg, char *err, size_t errlen)
{
	const char *eq;
	size_t i, namelen;

	if ((eq = strchr(arg, '=')) == NULL)
		goto unknown;
	namelen = (size_t)(eq - arg);
	for (i = 0; i < NITEMS(value_opts); i++) {
		if (strlen(value_opts[i].name) != namelen ||
		    strncmp(arg, value_opts[i].name, namelen) != 0)
			continue;
		if (eq[1] == '\0') {
			snprintf(err, errlen, "option %s needs a value",
			    value_opts[i].name);
			return (TK_ERR_CONFIG);
		}
		return (tk_conf_set(c, value_opts[i].section,
		    value_opts[i].key, eq + 1, err, errlen));
	}
 unknown:
	snprintf(err, errlen, "unknown option \"%s\"", arg);
	return (TK_ERR_CONFIG);
}

int
tk_args_parse(struct tk_conf *c, int argc, const char **argv, char *err,
    size_t errlen)
{
	const char *path = NULL;
	int i, r;

	if (errlen > 0)
		err[0] = '\0';
	if ((r = tk_conf_init(c)) != 0)
		goto fail;

	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL || !is_config(argv[i]))
			continue;
		if (path != NULL) {
			snprintf(err, errlen, "config= given twice");
			r = TK_ERR_CONFIG;
			goto fail;
		}
		path = argv[i] + strlen(CONFIG_PREFIX);
		if (*path == '\0') {
			snprintf(err, errlen, "option config needs a value");
			r = TK_ERR_CONFIG;
			goto fail;
		}
	}
	/* only the default file may be missing */
	if (path != NULL)
		r = tk_conf_load(c, path, false, err, errlen);
	else
		r = tk_conf_load(c, TK_CONF_DEFAULT_PATH, true, err, errlen);
	if (r != 0)
		goto fail;

	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL) {
			snprintf(err, errlen, "empty option");
			r = TK_ERR_CONFIG;
			goto fail;
		}
		if (is_config(argv[i]))
			continue;
		if ((r = set_flag(c, argv[i], err, errlen)) == 1)
			r = set_value(c, argv[i], err, errlen);
		if (r != 0)
			goto fail;
	}

	r = 0; /* success */
 fail:
	/* a file that is missing, unsafe or wrong is one kind of failure */
	if (r != 0 && r != TK_ERR_NOMEM)
		r = TK_ERR_CONFIG;
	return (r);
}
