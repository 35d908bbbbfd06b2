/*
 * conf.c -- tokend.conf: safe open, inih parsing, one checked setter per
 * key.
 *
 * Invariants:
 * 1. The file is trusted only as an open descriptor that is a regular
 *    file, owned by root or by us, not writable by group or others, and
 *    no larger than TK_CONF_MAX_BYTES; a symbolic link is refused.
 * 2. Every value goes through the same setter (tk_conf_set) whether it
 *    comes from the file or from a PAM module option.
 * 3. An unknown section or key, a bad value, a duplicate key or a key
 *    outside any section is an error naming the file and line: callers
 *    refuse to run on a configuration they did not fully understand.
 *
 * The parser is inih's ini_parse_stream() over our own line reader
 * rather than ini_parse_file(): the reader counts lines exactly as inih
 * does, so a handler error knows its line even after an earlier syntax
 * error, and it enforces the size cap and the line length on the bytes
 * actually read.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "err.h"
#include "wipe.h"

#define TK_CONF_MAX_BYTES	65536	/* largest tokend.conf, bytes */
#define TK_CONF_NAME_MAX	32	/* user and group names, bytes */
#define TK_CONF_ISSUER_MAX	64	/* TOTP issuer, bytes */
#define TK_CONF_LINE_MAX	INI_MAX_LINE	/* inih's line buffer */
#define TK_CONF_URL_MAX		1024	/* [store] url, bytes */

enum kind {
	K_PATH,		/* absolute path */
	K_SOCKET,	/* absolute path that fits sun_path */
	K_NAME,		/* user or group name */
	K_ISSUER,	/* TOTP issuer */
	K_UINT,		/* number in [min, max] */
	K_BOOL,
	K_FACTORS,	/* comma list of known factors */
	K_RP_ID,	/* WebAuthn RP ID: a lower-case DNS-style name */
	K_UV,		/* required|preferred|discouraged */
	K_AAGUIDS,	/* comma list of UUIDs, may be empty */
	K_STORE_URL	/* empty, postgresql:// URL or libpq conninfo */
};

struct conf_key {
	const char	*section;
	const char	*name;
	enum kind	 kind;
	size_t		 off;	/* of the member in struct tk_conf */
	unsigned	 min;
	unsigned	 max;
};

#define AT(m)	offsetof(struct tk_conf, m)

static const struct conf_key conf_keys[] = {
	{ "tokend", "socket", K_SOCKET, AT(socket), 0, 0 },
	{ "tokend", "database", K_PATH, AT(database), 0, 0 },
	{ "tokend", "master_key", K_PATH, AT(master_key), 0, 0 },
	{ "tokend", "admin_group", K_NAME, AT(admin_group), 0, 0 },
	{ "tokend", "user", K_NAME, AT(user), 0, 0 },
	{ "tokend", "idle_timeout", K_UINT, AT(idle_timeout), 1, 3600 },
	{ "tokend", "max_connections", K_UINT, AT(max_connections), 1, 65536 },
	{ "store", "url", K_STORE_URL, AT(store_url), 0, 0 },
	{ "totp", "window", K_UINT, AT(totp_window), 0, 10 },
	{ "totp", "issuer", K_ISSUER, AT(totp_issuer), 0, 0 },
	{ "totp", "pending_ttl", K_UINT, AT(totp_pending_ttl), 60, 86400 },
	{ "throttle", "max_failures", K_UINT, AT(max_failures), 1, 100 },
	{ "throttle", "delay_base", K_UINT, AT(delay_base), 0, 3600 },
	{ "throttle", "delay_max", K_UINT, AT(delay_max), 0, 86400 },
	{ "grant", "max_duration", K_UINT, AT(grant_max_duration), 60,
	    2592000 },
	{ "fido2", "rp_id", K_RP_ID, AT(fido2_rp_id), 0, 0 },
	{ "fido2", "challenge_ttl", K_UINT, AT(fido2_challenge_ttl), 10, 600 },
	{ "fido2", "enroll_ttl", K_UINT, AT(fido2_enroll_ttl), 30, 3600 },
	{ "fido2", "user_verification", K_UV, AT(fido2_uv), 0, 0 },
	{ "fido2", "allowed_aaguids", K_AAGUIDS, AT(fido2_allowed_aaguids),
	    0, 0 },
	{ "pam", "factors", K_FACTORS, AT(factors), 0, 0 },
	{ "pam", "nullok", K_BOOL, AT(nullok), 0, 0 },
	{ "pam", "timeout", K_UINT, AT(timeout), 1, 300 },
	{ "pam", "fido2_wait", K_UINT, AT(fido2_wait), 0, 300 },
	{ "pam", "cue", K_BOOL, AT(cue), 0, 0 },
	{ "pam", "debug", K_BOOL, AT(debug), 0, 0 },
};

#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))
/* keys seen in a file are a bit set */
_Static_assert(sizeof(conf_keys) / sizeof(conf_keys[0]) <= 32,
    "conf_keys must fit a uint32_t bit set");

/* factors the [pam] factors= list may name, in this order of bits */
static const char *const known_factors[] = { "totp", "fido2" };
#define NFACTORS	(sizeof(known_factors) / sizeof(known_factors[0]))
_Static_assert(sizeof(known_factors) / sizeof(known_factors[0]) <=
    TK_CONF_FACTORS_MAX, "too many factors");

/* Writes an error message; a truncated message is still a message. */
static void
conf_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

static const struct conf_key *
conf_key_find(const char *section, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return (&conf_keys[i]);
		}
	return (NULL);
}

static bool
section_known(const char *section)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0)
			return (true);
	return (false);
}

/*
 * Parses a decimal number in [min, max]: digits only (no sign, no
 * space, no base prefix), checked for overflow.  Returns true on success.
 */
static bool
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v;
	char *end;
	size_t i;

	if (s[0] == '\0')
		return (false);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return (false);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (false);
	*out = (unsigned)v;
	return (true);
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return (true);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return (true);
		}
	}
	return (false);
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return (true);
	return (false);
}

/* POSIX portable user and group names: [A-Za-z0-9._-], not led by '-' */
static bool
name_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-')
		return (false);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= TK_CONF_NAME_MAX)
			return (false);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return (false);
	}
	return (true);
}

/*
 * Checks a factors= list: known names separated by single commas, each
 * at most once, at least one.  Returns NULL or a reason.
 */
static const char *
factors_check(const char *s)
{
	unsigned seen = 0;
	const char *p, *e;
	size_t i, n;

	if (s[0] == '\0')
		return ("empty list");
	for (p = s; ; p = e + 1) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0)
			return ("empty item");
		for (i = 0; i < NFACTORS; i++)
			if (strlen(known_factors[i]) == n &&
			    strncmp(known_factors[i], p, n) == 0)
				break;
		if (i == NFACTORS)
			return ("unknown factor");
		if (seen & (1u << i))
			return ("duplicate factor");
		seen |= 1u << i;
		if (*e == '\0')
			break;
	}
	return (NULL);
}

/*
 * An RP ID: 1..253 bytes of lower-case letters, digits, '-' and '.',
 * neither led nor ended by '.' or '-' (a host-name-like identifier; it
 * is fixed in the configuration and never taken from the host name).
 */
static bool
rp_id_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || s[n - 1] == '-')
		return (false);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '.'))
			return (false);
	return (true);
}

static int
hex_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* one UUID, 8-4-4-4-12 hex digits, exactly n == 36 bytes at p */
static bool
uuid_parse(const char *p, size_t n, unsigned char out[16])
{
	size_t i, o = 0;
	int hi, lo;

	if (n != 36)
		return (false);
	for (i = 0; i < 36; ) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return (false);
			i++;
			continue;
		}
		if ((hi = hex_nibble(p[i])) < 0 ||
		    (lo = hex_nibble(p[i + 1])) < 0)
			return (false);
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return (o == 16);
}

/*
 * Walks an allowed_aaguids list (empty allowed; items separated by
 * commas, spaces around an item ignored).  Returns NULL or a reason;
 * fills out[0..*n) when out is not NULL.
 */
static const char *
aaguids_walk(const char *s, unsigned char (*out)[16], size_t max,
    size_t *n)
{
	unsigned char one[16];
	const char *p, *e, *b, *t;
	size_t count = 0;

	if (n != NULL)
		*n = 0;
	for (p = s; *p == ' '; p++)
		;
	if (*p == '\0')
		return (NULL);
	for (p = s; ; p = e + 1) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		for (b = p; b < e && *b == ' '; b++)
			;
		for (t = e; t > b && t[-1] == ' '; t--)
			;
		if (!uuid_parse(b, (size_t)(t - b), one))
			return ("not a UUID (8-4-4-4-12 hex digits)");
		if (count >= TK_CONF_AAGUIDS_MAX || (out != NULL &&
		    count >= max))
			return ("too many AAGUIDs");
		if (out != NULL)
			memcpy(out[count], one, sizeof(one));
		count++;
		if (*e == '\0')
			break;
	}
	if (n != NULL)
		*n = count;
	return (NULL);
}

/*
 * [store] url: empty (the SQLite store at [tokend] database), or a
 * PostgreSQL URL (postgresql:// or postgres://), or a libpq conninfo
 * ("host=... dbname=..."); libpq parses it when tokend connects.
 * Returns NULL or a reason.
 */
static const char *
store_url_check(const char *s)
{
	if (s[0] == '\0')
		return (NULL);
	if (strlen(s) > TK_CONF_URL_MAX)
		return ("too long");
	if (has_control(s))
		return ("control character");
	if (strncmp(s, "postgresql://", 13) != 0 &&
	    strncmp(s, "postgres://", 11) != 0 && strchr(s, '=') == NULL)
		return ("not a postgresql:// URL nor a libpq conninfo "
		    "(key=value ...)");
	return (NULL);
}

int
tk_conf_aaguids(const struct tk_conf *c, unsigned char (*out)[16],
    size_t max, size_t *n)
{
	if (c == NULL || out == NULL || n == NULL)
		return (TK_ERR_CONFIG);
	if (c->fido2_allowed_aaguids == NULL) {
		*n = 0;
		return (0);
	}
	if (aaguids_walk(c->fido2_allowed_aaguids, out, max, n) != NULL)
		return (TK_ERR_CONFIG);
	return (0);
}

static int
set_string(struct tk_conf *c, size_t off, const char *value)
{
	char **dst, *dup;

	if ((dup = strdup(value)) == NULL)
		return (TK_ERR_NOMEM);
	dst = (char **)(void *)((unsigned char *)c + off);
	free(*dst);
	*dst = dup;
	return (0);
}

int
tk_conf_set(struct tk_conf *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct conf_key *k;
	const char *why;
	unsigned u;
	bool b;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (c == NULL || section == NULL || key == NULL || value == NULL) {
		conf_err(err, errlen, "invalid argument");
		return (TK_ERR_CONFIG);
	}
	if (!section_known(section)) {
		conf_err(err, errlen, "unknown section [%s]", section);
		return (TK_ERR_CONFIG);
	}
	if ((k = conf_key_find(section, key, NULL)) == NULL) {
		conf_err(err, errlen, "unknown key '%s' in section [%s]", key,
		    section);
		return (TK_ERR_CONFIG);
	}
	switch (k->kind) {
	case K_PATH:
	case K_SOCKET:
		if (value[0] != '/' || has_control(value)) {
			conf_err(err, errlen, "%s: not an absolute path", key);
			return (TK_ERR_CONFIG);
		}
		if (strlen(value) >= (k->kind == K_SOCKET ?
		    sizeof(((struct sockaddr_un *)NULL)->sun_path) :
		    (size_t)PATH_MAX)) {
			conf_err(err, errlen, "%s: path too long", key);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_NAME:
		if (!name_valid(value)) {
			conf_err(err, errlen, "%s: '%s' is not a valid name "
			    "(1..%d of A-Z a-z 0-9 . _ -)", key, value,
			    TK_CONF_NAME_MAX);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_ISSUER:
		if (value[0] == '\0' || strlen(value) > TK_CONF_ISSUER_MAX ||
		    has_control(value) || strchr(value, ':') != NULL) {
			conf_err(err, errlen, "%s: must be 1..%d printable "
			    "bytes without ':'", key, TK_CONF_ISSUER_MAX);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_UINT:
		if (!parse_uint(value, k->min, k->max, &u)) {
			conf_err(err, errlen, "%s: '%s' is not a number in "
			    "%u..%u", key, value, k->min, k->max);
			return (TK_ERR_CONFIG);
		}
		*(unsigned *)(void *)((unsigned char *)c + k->off) = u;
		return (0);
	case K_BOOL:
		if (!parse_bool(value, &b)) {
			conf_err(err, errlen, "%s: '%s' is not a boolean "
			    "(yes/no, true/false, on/off, 1/0)", key, value);
			return (TK_ERR_CONFIG);
		}
		*(bool *)(void *)((unsigned char *)c + k->off) = b;
		return (0);
	case K_FACTORS:
		if ((why = factors_check(value)) != NULL) {
			conf_err(err, errlen, "%s: '%s': %s (known: totp, fido2)",
			    key, value, why);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_RP_ID:
		if (!rp_id_valid(value)) {
			conf_err(err, errlen, "%s: '%s' is not a valid RP ID "
			    "(1..253 of a-z 0-9 - .)", key, value);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_UV:
		if (strcmp(value, "required") != 0 &&
		    strcmp(value, "preferred") != 0 &&
		    strcmp(value, "discouraged") != 0) {
			conf_err(err, errlen, "%s: '%s' is not one of "
			    "required, preferred, discouraged", key, value);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_STORE_URL:
		if ((why = store_url_check(value)) != NULL) {
			conf_err(err, errlen, "%s: %s", key, why);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	case K_AAGUIDS:
		why = has_control(value) ? "control character" :
		    aaguids_walk(value, NULL, 0, NULL);
		if (why != NULL) {
			conf_err(err, errlen, "%s: %s", key, why);
			return (TK_ERR_CONFIG);
		}
		return (set_string(c, k->off, value));
	}
	conf_err(err, errlen, "%s: internal error", key);
	return (TK_ERR_CONFIG);
}

int
tk_conf_init(struct tk_conf *c)
{
	if (c == NULL)
		return (TK_ERR_INVAL);
	memset(c, 0, sizeof(*c));
	if ((c->socket = strdup("/run/tokend/socket")) == NULL ||
	    (c->database = strdup(LOCALSTATEDIR "/lib/tokend/tokend.db")) ==
	    NULL ||
	    (c->master_key = strdup(SYSCONFDIR "/tokend/master.key")) ==
	    NULL ||
	    (c->admin_group = strdup("tokend-admin")) == NULL ||
	    (c->user = strdup("tokend")) == NULL ||
	    (c->totp_issuer = strdup("tokend")) == NULL ||
	    (c->factors = strdup("fido2,totp")) == NULL ||
	    (c->fido2_rp_id = strdup("tokend")) == NULL ||
	    (c->fido2_uv = strdup("required")) == NULL ||
	    (c->fido2_allowed_aaguids = strdup("")) == NULL ||
	    (c->store_url = strdup("")) == NULL) {
		tk_conf_clear(c);
		return (TK_ERR_NOMEM);
	}
	c->idle_timeout = 10;
	c->max_connections = 256;
	c->totp_window = 1;
	c->totp_pending_ttl = 900;
	c->max_failures = 10;
	c->delay_base = 1;
	c->delay_max = 30;
	c->grant_max_duration = 86400;
	c->fido2_challenge_ttl = 60;
	c->fido2_enroll_ttl = 300;
	c->fido2_wait = 30;
	c->nullok = false;
	c->timeout = 10;
	c->cue = false;
	c->debug = false;
	return (0);
}

void
tk_conf_clear(struct tk_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->socket);
	free(c->database);
	free(c->master_key);
	free(c->admin_group);
	free(c->user);
	free(c->totp_issuer);
	free(c->factors);
	free(c->fido2_rp_id);
	free(c->fido2_uv);
	free(c->fido2_allowed_aaguids);
	/* a conninfo may hold a password: wiped, not just freed */
	if (c->store_url != NULL)
		tk_freezero(c->store_url, strlen(c->store_url));
	memset(c, 0, sizeof(*c));
}

/* state of one tk_conf_load() */
struct load {
	struct tk_conf	*c;
	FILE		*f;
	int		 line;		/* lines given to inih */
	size_t		 bytes;		/* bytes read */
	uint32_t	 seen;		/* conf_keys[] set in this file */
	int		 r;		/* first handler or reader error */
	int		 err_line;	/* its line */
	char		 msg[256];	/* its message */
};

static void
load_fail(struct load *l, int r, const char *msg)
{
	if (l->r != 0)
		return;
	l->r = r;
	l->err_line = l->line;
	conf_err(l->msg, sizeof(l->msg), "%s", msg);
}

/* inih's line reader: counts lines, caps their length and the total */
static char *
load_reader(char *str, int num, void *arg)
{
	struct load *l = arg;
	size_t n = 0;
	int ch = 0;

	if (l->r != 0 || num < 2)
		return (NULL);
	/*
	 * fgets() by hand: a NUL byte would hide the rest of its line from
	 * strlen(), so the length check below would pass and the rest of a
	 * long line would be parsed as a line of its own (found by
	 * tests/fuzz/fuzz_conf)
	 */
	while (n < (size_t)num - 1 && (ch = getc(l->f)) != EOF) {
		if (ch == '\0') {
			l->line++;
			load_fail(l, TK_ERR_CONFIG, "NUL byte in a line");
			return (NULL);
		}
		str[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return (NULL);
	str[n] = '\0';
	l->line++;
	if (TK_CONF_MAX_BYTES - l->bytes < n) {
		load_fail(l, TK_ERR_CONFIG, "file larger than 64 KiB");
		return (NULL);
	}
	l->bytes += n;
	if (n > 0 && (size_t)num - 1 == n && str[n - 1] != '\n' &&
	    !feof(l->f)) {
		load_fail(l, TK_ERR_CONFIG, "line too long");
		return (NULL);
	}
	return (str);
}

static int
load_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct load *l = arg;
	char msg[sizeof(l->msg)];
	size_t idx;
	int r;

	if (l->r != 0)
		return (0);
	if (section[0] == '\0') {
		conf_err(msg, sizeof(msg), "key '%s' outside any section",
		    name);
		load_fail(l, TK_ERR_CONFIG, msg);
		return (0);
	}
	if (conf_key_find(section, name, &idx) != NULL) {
		if (l->seen & (UINT32_C(1) << idx)) {
			conf_err(msg, sizeof(msg), "duplicate key '%s' in "
			    "section [%s]", name, section);
			load_fail(l, TK_ERR_CONFIG, msg);
			return (0);
		}
		l->seen |= UINT32_C(1) << idx;
	}
	if ((r = tk_conf_set(l->c, section, name, value, msg,
	    sizeof(msg))) != 0) {
		load_fail(l, r, r == TK_ERR_NOMEM ? "out of memory" : msg);
		return (0);
	}
	return (1);
}

int
tk_conf_load(struct tk_conf *c, const char *path, bool missing_ok,
    char *err, size_t errlen)
{
	struct load *l = NULL;
	struct stat st;
	char *dup = NULL;
	int fd = -1, r, line, saved;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (c == NULL || path == NULL) {
		conf_err(err, errlen, "invalid argument");
		r = TK_ERR_CONFIG;
		goto fail;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (dup = strdup(path)) == NULL) {
		conf_err(err, errlen, "%s: out of memory", path);
		r = TK_ERR_NOMEM;
		goto fail;
	}
	/* O_NONBLOCK: opening a FIFO must not hang; fstat refuses it */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		saved = errno;
		if (saved == ENOENT && missing_ok) {
			r = 0;
			goto fail;
		}
		conf_err(err, errlen, "%s: %s", path, saved == ELOOP ?
		    "is a symbolic link" : strerror(saved));
		r = saved == ENOENT ? TK_ERR_NOTFOUND :
		    saved == ELOOP ? TK_ERR_PERM : TK_ERR_CONFIG;
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		conf_err(err, errlen, "%s: %s", path, strerror(errno));
		r = TK_ERR_CONFIG;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(err, errlen, "%s: not a regular file", path);
		r = TK_ERR_PERM;
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		conf_err(err, errlen, "%s: owned by uid %lu, not by root or "
		    "uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		r = TK_ERR_PERM;
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		conf_err(err, errlen, "%s: writable by group or others", path);
		r = TK_ERR_PERM;
		goto fail;
	}
	if (st.st_size > TK_CONF_MAX_BYTES) {
		conf_err(err, errlen, "%s: larger than 64 KiB", path);
		r = TK_ERR_CONFIG;
		goto fail;
	}
	if ((l->f = fdopen(fd, "r")) == NULL) {
		saved = errno;
		conf_err(err, errlen, "%s: %s", path, strerror(saved));
		r = saved == ENOMEM ? TK_ERR_NOMEM : TK_ERR_CONFIG;
		goto fail;
	}
	fd = -1;	/* the stream owns it now */
	l->c = c;
	line = ini_parse_stream(load_reader, l, load_handler, l);
	if (line == -2) {
		conf_err(err, errlen, "%s: out of memory", path);
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if (line > 0 && (l->r == 0 || line < l->err_line)) {
		/* inih's own complaint came first */
		conf_err(err, errlen, "%s:%d: syntax error", path, line);
		r = TK_ERR_CONFIG;
		goto fail;
	}
	if (l->r != 0) {
		conf_err(err, errlen, "%s:%d: %s", path, l->err_line, l->msg);
		r = l->r;
		goto fail;
	}
	if (line != 0 || ferror(l->f)) {
		conf_err(err, errlen, "%s: read error", path);
		r = TK_ERR_CONFIG;
		goto fail;
	}
	free(c->path);
	c->path = dup;
	dup = NULL;

	r = 0; /* success */
fail:
	if (l != NULL && l->f != NULL)
		(void)fclose(l->f);
	if (fd != -1)
		(void)close(fd);
	free(l);
	free(dup);
	return (r);
}
