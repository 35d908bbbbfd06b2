/*
 * test_conf.c -- tokend.conf: defaults, every key, every kind of bad
 * value, errors with file:line, and the safe-open checks (links, modes,
 * owners, file types, size).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "err.h"

struct fx {
	char		 dir[64];
	char		 path[128];
	struct tk_conf	 c;
	char		 err[512];
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return (-1);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tk-conf-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return (-1);
	snprintf(fx->path, sizeof(fx->path), "%s/tokend.conf", fx->dir);
	if (tk_conf_init(&fx->c) != 0)
		return (-1);
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	tk_conf_clear(&fx->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return (-1);
	free(fx);
	return (0);
}

/* writes text to fx->path with the given mode */
static void
put(struct fx *fx, const char *text, mode_t mode)
{
	FILE *f;

	(void)unlink(fx->path);
	f = fopen(fx->path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(fx->path, mode), 0);
}

static int
load(struct fx *fx, const char *text)
{
	put(fx, text, 0644);
	return (tk_conf_load(&fx->c, fx->path, false, fx->err,
	    sizeof(fx->err)));
}

/* expects `text' to fail with "PATH:LINE: <want>" */
static void
load_fails(struct fx *fx, const char *text, int line, const char *want)
{
	char exp[512];

	tk_conf_clear(&fx->c);
	assert_int_equal(tk_conf_init(&fx->c), 0);
	assert_int_equal(load(fx, text), TK_ERR_CONFIG);
	snprintf(exp, sizeof(exp), "%s:%d: %s", fx->path, line, want);
	assert_string_equal(fx->err, exp);
}

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	struct tk_conf *c = &fx->c;

	assert_null(c->path);
	assert_string_equal(c->socket, "/run/tokend/socket");
	assert_string_equal(c->database, LOCALSTATEDIR "/lib/tokend/tokend.db");
	assert_string_equal(c->master_key, SYSCONFDIR "/tokend/master.key");
	assert_string_equal(c->admin_group, "tokend-admin");
	assert_string_equal(c->user, "tokend");
	assert_int_equal(c->idle_timeout, 10);
	assert_int_equal(c->max_connections, 256);
	assert_int_equal(c->totp_window, 1);
	assert_string_equal(c->totp_issuer, "tokend");
	assert_int_equal(c->totp_pending_ttl, 900);
	assert_int_equal(c->max_failures, 10);
	assert_int_equal(c->delay_base, 1);
	assert_int_equal(c->delay_max, 30);
	assert_int_equal(c->grant_max_duration, 86400);
	assert_string_equal(c->fido2_rp_id, "tokend");
	assert_int_equal(c->fido2_challenge_ttl, 60);
	assert_int_equal(c->fido2_enroll_ttl, 300);
	assert_string_equal(c->fido2_uv, "required");
	assert_string_equal(c->fido2_allowed_aaguids, "");
	assert_int_equal(c->fido2_wait, 30);
	assert_string_equal(c->factors, "fido2,totp");
	assert_false(c->nullok);
	assert_int_equal(c->timeout, 10);
	assert_false(c->cue);
	assert_false(c->debug);
	assert_string_equal(TK_CONF_DEFAULT_PATH,
	    SYSCONFDIR "/tokend/tokend.conf");
}

static void
test_every_key(void **state)
{
	struct fx *fx = *state;
	struct tk_conf *c = &fx->c;

	assert_int_equal(load(fx,
	    "; a comment\n"
	    "# another\n"
	    "\n"
	    "[tokend]\n"
	    "socket = /tmp/t/socket\n"
	    "database = /tmp/t/db\n"
	    "master_key = /tmp/t/key\n"
	    "admin_group = wheel\n"
	    "user = nobody\n"
	    "idle_timeout = 3600\n"
	    "max_connections = 65536\n"
	    "[totp]\n"
	    "window = 0\n"
	    "issuer = Akishima City\n"
	    "pending_ttl = 60\n"
	    "[throttle]\n"
	    "max_failures = 100\n"
	    "delay_base = 0\n"
	    "delay_max = 86400\n"
	    "[grant]\n"
	    "max_duration = 2592000\n"
	    "[pam]\n"
	    "factors = totp\n"
	    "nullok = yes\n"
	    "timeout = 300\n"
	    "cue = on\n"
	    "debug = 1\n"), 0);
	assert_string_equal(fx->err, "");
	assert_string_equal(c->path, fx->path);
	assert_string_equal(c->socket, "/tmp/t/socket");
	assert_string_equal(c->database, "/tmp/t/db");
	assert_string_equal(c->master_key, "/tmp/t/key");
	assert_string_equal(c->admin_group, "wheel");
	assert_string_equal(c->user, "nobody");
	assert_int_equal(c->idle_timeout, 3600);
	assert_int_equal(c->max_connections, 65536);
	assert_int_equal(c->totp_window, 0);
	assert_string_equal(c->totp_issuer, "Akishima City");
	assert_int_equal(c->totp_pending_ttl, 60);
	assert_int_equal(c->max_failures, 100);
	assert_int_equal(c->delay_base, 0);
	assert_int_equal(c->delay_max, 86400);
	assert_int_equal(c->grant_max_duration, 2592000);
	assert_string_equal(c->factors, "totp");
	assert_true(c->nullok);
	assert_int_equal(c->timeout, 300);
	assert_true(c->cue);
	assert_true(c->debug);
}

static void
test_partial_file_keeps_defaults(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "[pam]\ntimeout=5\n"), 0);
	assert_int_equal(fx->c.timeout, 5);
	assert_string_equal(fx->c.socket, "/run/tokend/socket");
	assert_int_equal(fx->c.max_failures, 10);
	/* an empty file is fine */
	assert_int_equal(load(fx, ""), 0);
}

static void
test_booleans(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES",
	    "True" };
	static const char *const no[] = { "no", "false", "off", "0", "NO",
	    "Off" };
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		fx->c.nullok = false;
		assert_int_equal(tk_conf_set(&fx->c, "pam", "nullok", yes[i],
		    fx->err, sizeof(fx->err)), 0);
		assert_true(fx->c.nullok);
		assert_int_equal(tk_conf_set(&fx->c, "pam", "nullok", no[i],
		    fx->err, sizeof(fx->err)), 0);
		assert_false(fx->c.nullok);
	}
}

struct bad {
	const char	*section;
	const char	*key;
	const char	*value;
};

static const struct bad bad_values[] = {
	{ "tokend", "socket", "relative/socket" },
	{ "tokend", "socket", "" },
	{ "tokend", "socket",
	    "/a/very/long/path/that/does/not/fit/into/sun_path/because/it/"
	    "is/more/than/one/hundred/and/eight/bytes/long/socket" },
	{ "tokend", "database", "tokend.db" },
	{ "tokend", "database", "/tmp/a\tb" },
	{ "tokend", "master_key", "~/key" },
	{ "tokend", "admin_group", "" },
	{ "tokend", "admin_group", "-admins" },
	{ "tokend", "admin_group", "a b" },
	{ "tokend", "admin_group", "abcdefghijabcdefghijabcdefghijabc" },
	{ "tokend", "user", "to:kend" },
	{ "tokend", "idle_timeout", "0" },
	{ "tokend", "idle_timeout", "3601" },
	{ "tokend", "idle_timeout", "-1" },
	{ "tokend", "idle_timeout", "+5" },
	{ "tokend", "idle_timeout", " 5" },
	{ "tokend", "idle_timeout", "5s" },
	{ "tokend", "idle_timeout", "0x10" },
	{ "tokend", "idle_timeout", "" },
	{ "tokend", "idle_timeout", "99999999999999999999999" },
	{ "tokend", "idle_timeout", "4294967306" },
	{ "tokend", "max_connections", "0" },
	{ "tokend", "max_connections", "65537" },
	{ "totp", "window", "11" },
	{ "totp", "issuer", "" },
	{ "totp", "issuer", "a:b" },
	{ "totp", "issuer", "tab\there" },
	{ "totp", "issuer",
	    "1234567890123456789012345678901234567890"
	    "1234567890123456789012345" },
	{ "totp", "pending_ttl", "59" },
	{ "totp", "pending_ttl", "86401" },
	{ "throttle", "max_failures", "0" },
	{ "throttle", "max_failures", "101" },
	{ "throttle", "delay_base", "3601" },
	{ "throttle", "delay_max", "86401" },
	{ "grant", "max_duration", "59" },
	{ "grant", "max_duration", "2592001" },
	{ "grant", "max_duration", "8h" },
	{ "pam", "factors", "" },
	{ "pam", "factors", "fido" },
	{ "pam", "factors", "fido2,totp,fido2" },
	{ "fido2", "rp_id", "" },
	{ "fido2", "rp_id", "Tokend" },
	{ "fido2", "rp_id", ".tokend" },
	{ "fido2", "rp_id", "tokend-" },
	{ "fido2", "rp_id", "to kend" },
	{ "fido2", "user_verification", "yes" },
	{ "fido2", "user_verification", "" },
	{ "fido2", "allowed_aaguids", "0bb43545-fd2c-4185-87dd" },
	{ "fido2", "allowed_aaguids",
	    "0bb43545-fd2c-4185-87dd-feb0b2916ace," },
	{ "fido2", "allowed_aaguids",
	    "0bb43545fd2c418587ddfeb0b2916ace" },
	{ "fido2", "allowed_aaguids",
	    "0bb43545-fd2c-4185-87dd-feb0b2916acx" },
	{ "fido2", "challenge_ttl", "5" },
	{ "fido2", "challenge_ttl", "601" },
	{ "fido2", "enroll_ttl", "29" },
	{ "pam", "fido2_wait", "301" },
	{ "pam", "factors", "totp,totp" },
	{ "pam", "factors", "totp," },
	{ "pam", "factors", ",totp" },
	{ "pam", "factors", "TOTP" },
	{ "pam", "nullok", "maybe" },
	{ "pam", "nullok", "" },
	{ "pam", "cue", "2" },
	{ "pam", "debug", "yess" },
	{ "pam", "timeout", "0" },
	{ "pam", "timeout", "301" },
	{ "pam", "bogus", "1" },
	{ "bogus", "timeout", "1" },
	{ "", "timeout", "1" },
};

static void
test_bad_values(void **state)
{
	struct fx *fx = *state;
	const struct bad *b;
	size_t i;

	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		b = &bad_values[i];
		fx->err[0] = '\0';
		if (tk_conf_set(&fx->c, b->section, b->key, b->value, fx->err,
		    sizeof(fx->err)) != TK_ERR_CONFIG)
			fail_msg("[%s] %s = '%s' was accepted", b->section,
			    b->key, b->value);
		assert_true(fx->err[0] != '\0');
		/* no file and line for a direct call */
		assert_null(strstr(fx->err, ".conf:"));
	}
	/* nothing changed */
	assert_int_equal(fx->c.idle_timeout, 10);
	assert_string_equal(fx->c.socket, "/run/tokend/socket");
	assert_string_equal(fx->c.factors, "fido2,totp");
	assert_int_equal(tk_conf_set(&fx->c, "pam", "timeout", "7", fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(fx->c.timeout, 7);
	assert_int_equal(tk_conf_set(&fx->c, "pam", "timeout", "007", fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(fx->c.timeout, 7);
}

/* [fido2] keys, and allowed_aaguids parsed into bytes */
static void
test_fido2_keys(void **state)
{
	struct fx *fx = *state;
	unsigned char ids[4][16];
	size_t n = 99;

	assert_int_equal(tk_conf_aaguids(&fx->c, ids, 4, &n), 0);
	assert_int_equal(n, 0);		/* default: any model */
	assert_int_equal(tk_conf_set(&fx->c, "fido2", "rp_id",
	    "zone.city.example", fx->err, sizeof(fx->err)), 0);
	assert_string_equal(fx->c.fido2_rp_id, "zone.city.example");
	assert_int_equal(tk_conf_set(&fx->c, "fido2", "user_verification",
	    "discouraged", fx->err, sizeof(fx->err)), 0);
	assert_string_equal(fx->c.fido2_uv, "discouraged");
	assert_int_equal(tk_conf_set(&fx->c, "pam", "factors", "fido2,totp",
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tk_conf_set(&fx->c, "pam", "fido2_wait", "0",
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(fx->c.fido2_wait, 0);
	assert_int_equal(tk_conf_set(&fx->c, "fido2", "allowed_aaguids",
	    "0bb43545-fd2c-4185-87dd-feb0b2916ace , "
	    "CB69481E-8FF7-4039-93EC-0A2729A154A8", fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(tk_conf_aaguids(&fx->c, ids, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(ids[0], "\x0b\xb4\x35\x45\xfd\x2c\x41\x85"
	    "\x87\xdd\xfe\xb0\xb2\x91\x6a\xce", 16);
	assert_memory_equal(ids[1], "\xcb\x69\x48\x1e\x8f\xf7\x40\x39"
	    "\x93\xec\x0a\x27\x29\xa1\x54\xa8", 16);
	/* a caller with room for one is refused, not overrun */
	assert_int_equal(tk_conf_aaguids(&fx->c, ids, 1, &n), TK_ERR_CONFIG);
	/* an empty list again means any model */
	assert_int_equal(tk_conf_set(&fx->c, "fido2", "allowed_aaguids", "",
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tk_conf_aaguids(&fx->c, ids, 4, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_messages(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(tk_conf_set(&fx->c, "pam", "timeout", "abc", fx->err,
	    sizeof(fx->err)), TK_ERR_CONFIG);
	assert_string_equal(fx->err, "timeout: 'abc' is not a number in "
	    "1..300");
	assert_int_equal(tk_conf_set(&fx->c, "pam", "nope", "1", fx->err,
	    sizeof(fx->err)), TK_ERR_CONFIG);
	assert_string_equal(fx->err, "unknown key 'nope' in section [pam]");
	/* a tiny buffer is truncated, never overrun */
	assert_int_equal(tk_conf_set(&fx->c, "pam", "nope", "1", fx->err, 8),
	    TK_ERR_CONFIG);
	assert_string_equal(fx->err, "unknown");
}

static void
test_file_errors(void **state)
{
	struct fx *fx = *state;

	load_fails(fx, "[pam]\n\nfoo = 1\n", 3,
	    "unknown key 'foo' in section [pam]");
	load_fails(fx, "[pam]\ntimeout = 1\n[tokend]\n[extra]\nx = 1\n", 5,
	    "unknown section [extra]");
	load_fails(fx, "timeout = 1\n[pam]\n", 1,
	    "key 'timeout' outside any section");
	load_fails(fx, "[pam]\ntimeout = 1\ncue = no\ntimeout = 2\n", 4,
	    "duplicate key 'timeout' in section [pam]");
	/* the same key in a repeated section is still a duplicate */
	load_fails(fx, "[pam]\ntimeout = 1\n[tokend]\n[pam]\ntimeout = 2\n",
	    5, "duplicate key 'timeout' in section [pam]");
	load_fails(fx, "[throttle]\nmax_failures = 1000\n", 2,
	    "max_failures: '1000' is not a number in 1..100");
	load_fails(fx, "[pam]\ntimeout = 1\nthis is not ini\n", 3,
	    "syntax error");
	load_fails(fx, "[pam\n", 1, "syntax error");
	/* an earlier syntax error wins over a later bad value */
	load_fails(fx, "[pam]\nnonsense\ntimeout = 0\n", 2, "syntax error");
	/* and an earlier bad value over a later syntax error */
	load_fails(fx, "[pam]\ntimeout = 0\nnonsense\n", 2,
	    "timeout: '0' is not a number in 1..300");
	/* an indented line continues the previous value: still refused */
	load_fails(fx, "[pam]\ntimeout = 1\n  2\n", 3,
	    "duplicate key 'timeout' in section [pam]");
}

static void
test_long_line_and_size(void **state)
{
	struct fx *fx = *state;
	char *text;
	size_t i, n;

	n = 600;
	text = malloc(n + 32);
	assert_non_null(text);
	snprintf(text, n, "[totp]\nissuer = ");
	for (i = strlen(text); i < n - 2; i++)
		text[i] = 'x';
	text[i++] = '\n';
	text[i] = '\0';
	load_fails(fx, text, 2, "line too long");
	free(text);

	/* over 64 KiB of comments */
	n = 70000;
	text = malloc(n + 1);
	assert_non_null(text);
	for (i = 0; i < n; i += 10)
		memcpy(text + i, "; comment\n", 10);
	text[n] = '\0';
	assert_int_equal(load(fx, text), TK_ERR_CONFIG);
	assert_non_null(strstr(fx->err, "64 KiB"));
	free(text);
}

static void
test_missing(void **state)
{
	struct fx *fx = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/absent.conf", fx->dir);
	assert_int_equal(tk_conf_load(&fx->c, path, true, fx->err,
	    sizeof(fx->err)), 0);
	assert_null(fx->c.path);
	assert_string_equal(fx->c.socket, "/run/tokend/socket");
	assert_int_equal(tk_conf_load(&fx->c, path, false, fx->err,
	    sizeof(fx->err)), TK_ERR_NOTFOUND);
	assert_non_null(strstr(fx->err, path));
}

static void
test_symlink_refused(void **state)
{
	struct fx *fx = *state;
	char link[256];

	put(fx, "[pam]\ntimeout = 5\n", 0644);
	snprintf(link, sizeof(link), "%s/link.conf", fx->dir);
	assert_int_equal(symlink(fx->path, link), 0);
	assert_int_equal(tk_conf_load(&fx->c, link, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_non_null(strstr(fx->err, "symbolic link"));
	/* even when a missing file would be fine */
	assert_int_equal(tk_conf_load(&fx->c, link, true, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_int_equal(fx->c.timeout, 10);
}

static void
test_modes_refused(void **state)
{
	struct fx *fx = *state;

	put(fx, "[pam]\ntimeout = 5\n", 0664);
	assert_int_equal(tk_conf_load(&fx->c, fx->path, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_non_null(strstr(fx->err, "writable"));
	put(fx, "[pam]\ntimeout = 5\n", 0646);
	assert_int_equal(tk_conf_load(&fx->c, fx->path, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_int_equal(fx->c.timeout, 10);
	put(fx, "[pam]\ntimeout = 5\n", 0400);
	assert_int_equal(tk_conf_load(&fx->c, fx->path, false, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(fx->c.timeout, 5);
}

static void
test_types_refused(void **state)
{
	struct fx *fx = *state;
	char fifo[256];

	/* a directory */
	assert_int_equal(tk_conf_load(&fx->c, fx->dir, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_non_null(strstr(fx->err, "not a regular file"));
	/* a FIFO, which must not hang the open */
	snprintf(fifo, sizeof(fifo), "%s/fifo", fx->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(tk_conf_load(&fx->c, fifo, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
}

static void
test_owner_refused(void **state)
{
	struct fx *fx = *state;

	put(fx, "[pam]\ntimeout = 5\n", 0644);
	if (geteuid() != 0) {
		/* only root can give a file away; ours is trusted */
		assert_int_equal(tk_conf_load(&fx->c, fx->path, false,
		    fx->err, sizeof(fx->err)), 0);
		return;
	}
	assert_int_equal(chown(fx->path, 65534, 65534), 0);
	assert_int_equal(tk_conf_load(&fx->c, fx->path, false, fx->err,
	    sizeof(fx->err)), TK_ERR_PERM);
	assert_non_null(strstr(fx->err, "owned by uid 65534"));
	assert_int_equal(fx->c.timeout, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_partial_file_keeps_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_booleans, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fido2_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_messages, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_line_and_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_modes_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_types_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_owner_refused, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("conf", tests, NULL, NULL));
}
