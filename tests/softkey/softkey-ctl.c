/*
 * softkey-ctl.c -- makes, changes and shows soft key state files for
 * shell tests (tests/pam, tests/clients, ...).
 *
 *	softkey-ctl init STATEFILE [--aaguid UUID]
 *	    [--attestation self|basic|none] [--pin PIN] [--builtin-uv] [--uv-fail] [--no-touch]
 *	    [--touch-timeout-ms N] [--counter normal|zero|repeat|lower]
 *	    [--eddsa-only] [--es256-only] [--delay-ms N]
 *	    [--pin-protocols 1|2|2,1] [--ctap20]
 *	    [--manufacturer S] [--product S]
 *	softkey-ctl set STATEFILE key=value...
 *	softkey-ctl show STATEFILE
 *	softkey-ctl get STATEFILE key
 *
 * init replaces any old file: a new key, new attestation certificate, no
 * credentials.  set takes the keys of sk_key_set_option() (softkey.h),
 * e.g. removed=1, touch=0, pin=1234, pin=, counter=100, pin_retries=1.
 * show prints `key = value' lines: aaguid, attestation, counter_mode,
 * pin_set, pin_retries, counter, credentials, touch, builtin_uv, uv_ok,
 * removed; get prints one of those values alone.
 * Exit status: 0 done, 1 failed, 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_int.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: softkey-ctl init STATEFILE [--aaguid UUID] "
	    "[--attestation self|basic|none]\n"
	    "\t[--pin PIN] [--builtin-uv] [--uv-fail] [--no-touch] "
	    "[--touch-timeout-ms N]\n"
	    "\t[--counter normal|zero|repeat|lower] [--eddsa-only] "
	    "[--es256-only]\n"
	    "\t[--delay-ms N] [--pin-protocols 1|2|2,1] [--ctap20] "
	    "[--manufacturer S] [--product S]\n"
	    "       softkey-ctl set STATEFILE key=value...\n"
	    "       softkey-ctl show STATEFILE\n"
	    "       softkey-ctl get STATEFILE key\n");

	return (2);
}

/* --flag or --option VALUE of init, as a key and value of the state */
static const struct init_opt {
	const char	*flag;
	const char	*key;
	const char	*value;		/* NULL: takes an argument */
} init_opts[] = {
	{ "--aaguid", "aaguid", NULL },
	{ "--attestation", "attestation", NULL },
	{ "--pin", "pin", NULL },
	{ "--builtin-uv", "builtin_uv", "1" },
	{ "--uv-fail", "uv_ok", "0" },
	{ "--no-touch", "touch", "0" },
	{ "--touch-timeout-ms", "touch_timeout_ms", NULL },
	{ "--counter", "counter_mode", NULL },
	{ "--eddsa-only", "es256", "0" },
	{ "--es256-only", "eddsa", "0" },
	{ "--delay-ms", "delay_ms", NULL },
	{ "--pin-protocols", "pin_protocols", NULL },
	{ "--ctap20", "ctap21", "0" },
	{ "--manufacturer", "manufacturer", NULL },
	{ "--product", "product", NULL },
};

static int
set_or_complain(sk_key_t *k, const char *key, const char *value)
{
	if (sk_key_set_option(k, key, value) < 0) {
		fprintf(stderr, "softkey-ctl: bad %s: %s\n", key, value);
		return (-1);
	}

	return (0);
}

static int
cmd_init(const char *file, int argc, char **argv)
{
	sk_key_t	*k;
	size_t		 j;
	int		 r = 1;

	if (unlink(file) < 0 && errno != ENOENT) {
		perror(file);
		return (1);
	}
	if (sk_key_open(file, &k) < 0) {
		fprintf(stderr, "softkey-ctl: cannot create %s\n", file);
		return (1);
	}
	for (int i = 0; i < argc; i++) {
		for (j = 0; j < sizeof(init_opts) / sizeof(init_opts[0]); j++)
			if (!strcmp(argv[i], init_opts[j].flag))
				break;
		if (j == sizeof(init_opts) / sizeof(init_opts[0])) {
			r = usage();
			goto out;
		}
		if (init_opts[j].value != NULL) {
			if (set_or_complain(k, init_opts[j].key,
			    init_opts[j].value) < 0)
				goto out;
		} else if (i + 1 >= argc) {
			r = usage();
			goto out;
		} else if (set_or_complain(k, init_opts[j].key,
		    argv[++i]) < 0)
			goto out;
	}
	r = sk_key_save(k) < 0 ? 1 : 0;
out:
	sk_key_close(&k);
	if (r != 0)
		unlink(file);

	return (r);
}

static int
cmd_set(const char *file, int argc, char **argv)
{
	sk_key_t	*k;
	char		*eq;
	int		 r = 1;

	if (argc == 0)
		return (usage());
	if (sk_key_load(file, false, &k) < 0) {
		fprintf(stderr, "softkey-ctl: cannot load %s\n", file);
		return (1);
	}
	for (int i = 0; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL) {
			r = usage();
			goto out;
		}
		*eq = '\0';
		if (set_or_complain(k, argv[i], eq + 1) < 0)
			goto out;
	}
	r = sk_key_save(k) < 0 ? 1 : 0;
out:
	sk_key_close(&k);

	return (r);
}

static const char *const att_names[] = { "self", "basic", "none" };
static const char *const counter_names[] = {
	"normal", "zero", "repeat", "lower"
};

static int
cmd_show(const char *file, const char *only)
{
	const struct sk_config	*c;
	sk_key_t		*k;
	char			 aaguid[40], val[64];
	const unsigned char	*u;
	bool			 found = false;
	struct {
		const char	*key;
		const char	*fmt_s;
		long		 n;
	} rows[11];
	size_t			 nrows = 0;

	if (sk_key_load(file, false, &k) < 0) {
		fprintf(stderr, "softkey-ctl: cannot load %s\n", file);
		return (1);
	}
	c = &k->cfg;
	u = c->aaguid;
	snprintf(aaguid, sizeof(aaguid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4],
	    u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
	    u[15]);
#define ROW_S(k_, s_)	rows[nrows].key = (k_), rows[nrows].fmt_s = (s_), \
			    rows[nrows++].n = 0
#define ROW_N(k_, n_)	rows[nrows].key = (k_), rows[nrows].fmt_s = NULL, \
			    rows[nrows++].n = (long)(n_)
	ROW_S("aaguid", aaguid);
	ROW_S("attestation", att_names[c->attestation]);
	ROW_S("counter_mode", counter_names[c->counter]);
	ROW_N("pin_set", k->pin_set);
	ROW_N("pin_retries", k->pin_retries);
	ROW_N("counter", k->counter);
	ROW_N("credentials", k->ncreds);
	ROW_N("touch", c->touch);
	ROW_N("builtin_uv", c->builtin_uv);
	ROW_N("uv_ok", c->uv_ok);
	ROW_N("removed", c->removed);
#undef ROW_S
#undef ROW_N
	for (size_t i = 0; i < nrows; i++) {
		if (rows[i].fmt_s != NULL)
			snprintf(val, sizeof(val), "%s", rows[i].fmt_s);
		else
			snprintf(val, sizeof(val), "%ld", rows[i].n);
		if (only == NULL)
			printf("%s = %s\n", rows[i].key, val);
		else if (!strcmp(only, rows[i].key)) {
			printf("%s\n", val);
			found = true;
		}
	}
	sk_key_close(&k);
	if (only != NULL && !found) {
		fprintf(stderr, "softkey-ctl: no such key: %s\n", only);
		return (1);
	}

	return (0);
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		return (usage());
	if (!strcmp(argv[1], "init"))
		return (cmd_init(argv[2], argc - 3, argv + 3));
	if (!strcmp(argv[1], "set"))
		return (cmd_set(argv[2], argc - 3, argv + 3));
	if (!strcmp(argv[1], "show") && argc == 3)
		return (cmd_show(argv[2], NULL));
	if (!strcmp(argv[1], "get") && argc == 4)
		return (cmd_show(argv[2], argv[3]));

	return (usage());
}
