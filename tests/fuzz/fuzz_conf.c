/*
 * fuzz_conf.c -- libFuzzer harness of the configuration parsers: the
 * tokend.conf reader (tk_conf_load, over a real file) and the argument
 * parser of pam_tokend.so (tk_args_parse).
 *
 * Input: the file's bytes up to the first two NUL bytes in a row; the
 * rest, split at each NUL, is the module's argument vector (at most
 * MAX_ARGS words).  An argument starting with "config=" is pointed at
 * the fuzzed file, so arguments override fuzzed file values.
 *
 * Oracles (a breach aborts):
 *  - tk_conf_load either fails with TK_ERR_CONFIG or TK_ERR_NOMEM and a
 *    message "FILE:LINE: ..." whose line lies inside the input (or
 *    "FILE: ..." for a fault of the whole file), or succeeds with a
 *    configuration whose every value, written back as a file, loads
 *    again to the very same configuration (round trip through the same
 *    setter checks).
 *  - tk_args_parse either fails with a message, or gives a
 *    configuration that round-trips the same way, and in which nullok,
 *    cue and debug are on only when the exact word was an argument or
 *    the file turned them on, and factors/timeout/socket come from an
 *    exact argument or the file.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "conf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_ARGS	16
#define TEXT_MAX	(1 << 17)

static char dir[PATH_MAX], file[PATH_MAX], again[PATH_MAX];

static void die(const char *what) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_conf: %s\n", what);
	abort();
}

/* the keys of tokend.conf as the oracle sees them */
enum vk { V_STR, V_UINT, V_BOOL };

#define AT(m)	offsetof(struct tk_conf, m)

static const struct vkey {
	const char	*section;
	const char	*name;
	enum vk		 kind;
	size_t		 off;
} vkeys[] = {
	{ "tokend", "socket", V_STR, AT(socket) },
	{ "tokend", "database", V_STR, AT(database) },
	{ "tokend", "master_key", V_STR, AT(master_key) },
	{ "tokend", "admin_group", V_STR, AT(admin_group) },
	{ "tokend", "user", V_STR, AT(user) },
	{ "tokend", "idle_timeout", V_UINT, AT(idle_timeout) },
	{ "tokend", "max_connections", V_UINT, AT(max_connections) },
	{ "totp", "window", V_UINT, AT(totp_window) },
	{ "totp", "issuer", V_STR, AT(totp_issuer) },
	{ "totp", "pending_ttl", V_UINT, AT(totp_pending_ttl) },
	{ "throttle", "max_failures", V_UINT, AT(max_failures) },
	{ "throttle", "delay_base", V_UINT, AT(delay_base) },
	{ "throttle", "delay_max", V_UINT, AT(delay_max) },
	{ "grant", "max_duration", V_UINT, AT(grant_max_duration) },
	{ "fido2", "rp_id", V_STR, AT(fido2_rp_id) },
	{ "fido2", "challenge_ttl", V_UINT, AT(fido2_challenge_ttl) },
	{ "fido2", "enroll_ttl", V_UINT, AT(fido2_enroll_ttl) },
	{ "fido2", "user_verification", V_STR, AT(fido2_uv) },
	{ "fido2", "allowed_aaguids", V_STR, AT(fido2_allowed_aaguids) },
	{ "pam", "factors", V_STR, AT(factors) },
	{ "pam", "nullok", V_BOOL, AT(nullok) },
	{ "pam", "timeout", V_UINT, AT(timeout) },
	{ "pam", "fido2_wait", V_UINT, AT(fido2_wait) },
	{ "pam", "cue", V_BOOL, AT(cue) },
	{ "pam", "debug", V_BOOL, AT(debug) },
};
#define NVKEYS	(sizeof(vkeys) / sizeof(vkeys[0]))

static const char *
v_str(const struct tk_conf *c, const struct vkey *k)
{
	return (*(char *const *)(const void *)((const unsigned char *)c +
	    k->off));
}

static unsigned
v_uint(const struct tk_conf *c, const struct vkey *k)
{
	return (*(const unsigned *)(const void *)((const unsigned char *)c +
	    k->off));
}

static bool
v_bool(const struct tk_conf *c, const struct vkey *k)
{
	return (*(const bool *)(const void *)((const unsigned char *)c +
	    k->off));
}

static void
write_file(const char *path, const void *p, size_t n)
{
	int fd;

	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 ||
	    (n > 0 && write(fd, p, n) != (ssize_t)n) || close(fd) != 0)
		die("cannot write a file");
}

/* two configurations are equal in every key */
static bool
conf_equal(const struct tk_conf *a, const struct tk_conf *b)
{
	size_t i;

	for (i = 0; i < NVKEYS; i++) {
		switch (vkeys[i].kind) {
		case V_STR:
			if (strcmp(v_str(a, &vkeys[i]), v_str(b, &vkeys[i])))
				return (false);
			break;
		case V_UINT:
			if (v_uint(a, &vkeys[i]) != v_uint(b, &vkeys[i]))
				return (false);
			break;
		case V_BOOL:
			if (v_bool(a, &vkeys[i]) != v_bool(b, &vkeys[i]))
				return (false);
			break;
		}
	}
	return (true);
}

/*
 * Writes every value of c as a tokend.conf, loads it over the defaults
 * and requires the same configuration: each value passes the setter's
 * checks again and means the same.
 */
static void
round_trip(const struct tk_conf *c)
{
	static char text[TEXT_MAX];
	struct tk_conf c2;
	char err[512];
	const char *sec = "";
	size_t i, len = 0;
	int n;

	for (i = 0; i < NVKEYS; i++) {
		if (strcmp(sec, vkeys[i].section) != 0) {
			sec = vkeys[i].section;
			n = snprintf(text + len, sizeof(text) - len, "[%s]\n",
			    sec);
			if (n < 0 || (size_t)n >= sizeof(text) - len)
				die("round trip text too long");
			len += (size_t)n;
		}
		switch (vkeys[i].kind) {
		case V_STR:
			/*
			 * no space after '=': inih takes a ';' that follows
			 * a space for an inline comment, so "issuer =;x"
			 * means ";x" but "issuer = ;x" means ""
			 */
			n = snprintf(text + len, sizeof(text) - len,
			    "%s =%s\n", vkeys[i].name, v_str(c, &vkeys[i]));
			break;
		case V_UINT:
			n = snprintf(text + len, sizeof(text) - len,
			    "%s = %u\n", vkeys[i].name, v_uint(c, &vkeys[i]));
			break;
		default:
			n = snprintf(text + len, sizeof(text) - len,
			    "%s = %s\n", vkeys[i].name,
			    v_bool(c, &vkeys[i]) ? "yes" : "no");
			break;
		}
		if (n < 0 || (size_t)n >= sizeof(text) - len)
			die("round trip text too long");
		len += (size_t)n;
	}
	/* an empty string value is written as "key =", which inih keeps */
	write_file(again, text, len);
	if (tk_conf_init(&c2) != 0)
		die("tk_conf_init");
	if (tk_conf_load(&c2, again, false, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		die("an accepted configuration does not load again");
	}
	if (!conf_equal(c, &c2))
		die("an accepted configuration loads again differently");
	tk_conf_clear(&c2);
}

/*
 * Sets every value of c again through tk_conf_set() over the defaults
 * and requires the same configuration.  For module arguments, whose
 * values may carry spaces at either end that a file cannot hold.
 */
static void
round_trip_set(const struct tk_conf *c)
{
	struct tk_conf c2;
	char err[512], num[16];
	const char *v;
	size_t i;

	if (tk_conf_init(&c2) != 0)
		die("tk_conf_init");
	for (i = 0; i < NVKEYS; i++) {
		switch (vkeys[i].kind) {
		case V_STR:
			v = v_str(c, &vkeys[i]);
			break;
		case V_UINT:
			snprintf(num, sizeof(num), "%u", v_uint(c, &vkeys[i]));
			v = num;
			break;
		default:
			v = v_bool(c, &vkeys[i]) ? "true" : "false";
			break;
		}
		if (tk_conf_set(&c2, vkeys[i].section, vkeys[i].name, v, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			die("an accepted value fails its setter again");
		}
	}
	if (!conf_equal(c, &c2))
		die("accepted values set again differ");
	tk_conf_clear(&c2);
}

/* the error of a failed load names the file, and a line in the input */
static void
check_error(int r, const char *err, const uint8_t *data, size_t n)
{
	size_t plen = strlen(file), lines = 1, i;
	const char *p;
	long line;
	char *end;

	if (r != TK_ERR_CONFIG && r != TK_ERR_NOMEM)
		die("tk_conf_load failed with an unexpected error");
	if (strncmp(err, file, plen) != 0 || err[plen] != ':')
		die("error message does not name the file");
	p = err + plen + 1;
	if (*p >= '0' && *p <= '9') {
		line = strtol(p, &end, 10);
		for (i = 0; i < n; i++)
			if (data[i] == '\n')
				lines++;
		if (line < 1 || (size_t)line > lines || *end != ':')
			die("error names a line outside the file");
	} else if (p[0] != ' ' || p[1] == '\0')
		die("error message without a reason");
}

static void
fuzz_file(const uint8_t *data, size_t n, struct tk_conf *c, bool *ok)
{
	char err[512];
	int r;

	write_file(file, data, n);
	if (tk_conf_init(c) != 0)
		die("tk_conf_init");
	r = tk_conf_load(c, file, false, err, sizeof(err));
	*ok = r == 0;
	if (r != 0)
		check_error(r, err, data, n);
	else
		round_trip(c);
}

static bool
has_arg(int argc, const char **argv, const char *word)
{
	int i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], word) == 0)
			return (true);
	return (false);
}

/* argument `name=value' given for a value option */
static bool
has_value_arg(int argc, const char **argv, const char *name,
    const char *value)
{
	size_t nl = strlen(name);
	int i;

	for (i = 0; i < argc; i++)
		if (strncmp(argv[i], name, nl) == 0 && argv[i][nl] == '=' &&
		    strcmp(argv[i] + nl + 1, value) == 0)
			return (true);
	return (false);
}

/* argument `name=N' given with N (leading zeros allowed) equal to v */
static bool
has_number_arg(int argc, const char **argv, const char *name, unsigned v)
{
	size_t nl = strlen(name);
	unsigned long u;
	char *end;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], name, nl) != 0 || argv[i][nl] != '=' ||
		    argv[i][nl + 1] < '0' || argv[i][nl + 1] > '9')
			continue;
		u = strtoul(argv[i] + nl + 1, &end, 10);
		if (*end == '\0' && u == v)
			return (true);
	}
	return (false);
}

static void
fuzz_args(const uint8_t *data, size_t n, const struct tk_conf *filec,
    bool file_ok)
{
	static char words[MAX_ARGS][PATH_MAX + 16];
	const char *argv[MAX_ARGS];
	struct tk_conf c, defaults;
	char err[512];
	size_t i = 0, k, wl;
	int argc = 0, r;
	bool from_file;

	memset(&defaults, 0, sizeof(defaults));
	while (i < n && argc < MAX_ARGS) {
		for (k = i; k < n && data[k] != '\0'; k++)
			;
		wl = k - i;
		if (wl > PATH_MAX)
			wl = PATH_MAX;
		memcpy(words[argc], data + i, wl);
		words[argc][wl] = '\0';
		if (strncmp(words[argc], "config=", 7) == 0)
			snprintf(words[argc], sizeof(words[argc]),
			    "config=%s", file);
		argv[argc] = words[argc];
		argc++;
		i = k + 1;
	}
	r = tk_args_parse(&c, argc, argv, err, sizeof(err));
	if (r != 0) {
		if ((r != TK_ERR_CONFIG && r != TK_ERR_NOMEM) || err[0] == '\0')
			die("tk_args_parse failed without a message");
		tk_conf_clear(&c);
		return;
	}
	round_trip_set(&c);
	/*
	 * where each PAM value came from: an exact argument, the fuzzed
	 * file when config= named it, else the defaults (the default file
	 * is absent on a build machine)
	 */
	for (k = 0, from_file = false; k < (size_t)argc; k++)
		if (strncmp(argv[k], "config=", 7) == 0)
			from_file = true;
	if (from_file && !file_ok)
		die("tk_args_parse accepted a file tk_conf_load refused");
	if (!from_file) {
		if (tk_conf_init(&defaults) != 0)
			die("tk_conf_init");
		filec = &defaults;
	}
	if (c.nullok && !has_arg(argc, argv, "nullok") &&
	    !filec->nullok)
		die("nullok on without the word nullok");
	if (c.cue && !has_arg(argc, argv, "cue") && !filec->cue)
		die("cue on without the word cue");
	if (c.debug && !has_arg(argc, argv, "debug") &&
	    !filec->debug)
		die("debug on without the word debug");
	if (!has_value_arg(argc, argv, "factors", c.factors) &&
	    strcmp(c.factors, filec->factors) != 0)
		die("factors from nowhere");
	if (!has_number_arg(argc, argv, "timeout", c.timeout) &&
	    c.timeout != filec->timeout)
		die("timeout from nowhere");
	if (!has_value_arg(argc, argv, "socket", c.socket) &&
	    strcmp(c.socket, filec->socket) != 0)
		die("socket from nowhere");
	tk_conf_clear(&c);
	tk_conf_clear(&defaults);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct tk_conf filec;
	size_t split;
	bool file_ok = false;

	if (!ready) {
		const char *tmp = getenv("FUZZ_TMPDIR");

		if (tmp == NULL || *tmp == '\0')
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			    "/tmp";
		if (snprintf(dir, sizeof(dir), "%s/tk-fuzz-conf.XXXXXX",
		    tmp) >= (int)sizeof(dir) || mkdtemp(dir) == NULL)
			die("mkdtemp");
		snprintf(file, sizeof(file), "%s/tokend.conf", dir);
		snprintf(again, sizeof(again), "%s/again.conf", dir);
		ready = true;
	}
	for (split = 0; split + 1 < size; split++)
		if (data[split] == '\0' && data[split + 1] == '\0')
			break;
	if (split + 1 >= size)
		split = size;
	fuzz_file(data, split, &filec, &file_ok);
	if (split < size)
		fuzz_args(data + split + 2, size - split - 2, &filec, file_ok);
	tk_conf_clear(&filec);
	(void)unlink(file);
	(void)unlink(again);
	return (0);
}
