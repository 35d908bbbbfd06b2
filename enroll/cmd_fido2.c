/*
 * cmd_fido2.c -- FIDO2 on the administrator's machine: tokenadm enroll
 * fido2 (make a credential on the security key plugged in there and have
 * tokend verify and store it), tokenadm devices (the keys plugged in)
 * and tokenadm reinstate (a suspended credential becomes active again).
 *
 * Enrollment: FIDO2_ENROLL_BEGIN first (a refusal, e.g. permission
 * denied, is told before anyone is asked to plug in a key), then the key
 * is found and opened, user verification is arranged as tokend's answer
 * asks (built-in UV, else the key's PIN, else --set-pin sets one), the
 * key makes the credential, and FIDO2_ENROLL_FINISH sends the
 * attestation.  tokend verifies it and decides; tokenadm stores nothing.
 *
 * MUST:
 * 1. A PIN is read from the terminal only (tty.c), never from the
 *    command line, the environment or standard input, and every copy is
 *    wiped as soon as libfido2 has used it.
 * 2. Every wait is bounded: for a key to be plugged in ([pam]
 *    fido2_wait, default 30 s), for a touch (TOUCH_MS), for each other
 *    exchange with the key (KEY_MS), for wrong PINs (PIN_TRIES).
 * 3. Everything about the credential comes from tokend's BEGIN answer:
 *    RP ID, challenge, user handle, algorithms, UV and the exclude list.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fido.h>

#include "aaguid.h"
#include "i18n.h"
#include "json.h"
#include "out.h"
#include "tokenadm.h"
#include "tty.h"
#include "wipe.h"

#define KEYS_MAX	16	/* keys looked at in one manifest */
#define KEY_MS		5000	/* one exchange with a key, ms */
#define TOUCH_MS	30000	/* waiting for a touch, ms */
#define POLL_MS		250	/* between looks for a plugged-in key */
#define PIN_MIN		4	/* CTAP: at least 4 code points */
#define PIN_MAX		63	/* CTAP: at most 63 bytes */
#define PIN_BUF		(PIN_MAX + 2)
#define PIN_TRIES	3	/* wrong PINs typed before giving up */
#define NEW_PIN_TRIES	3	/* attempts at choosing a new PIN */
#define DISPLAY_MAX	64	/* user display name, bytes (WebAuthn) */
#define ALGS_MAX	8	/* names in ALGORITHMS */
#define B64_MAX(n)	(((n) + 2) / 3 * 4 + 1)
#define NUM_MAX		24
#define ARGS_HELP	(-1)	/* fido2_args() printed the help */
#define MS_PER_S	1000

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* the algorithms tokend names, and their COSE numbers */
static const struct {
	const char	*name;
	int		 cose;
} algs[] = {
	{ "es256", COSE_ES256 },
	{ "eddsa", COSE_EDDSA },
	{ "rs256", COSE_RS256 },
};

struct fido2_enroll {
	const char	*user;
	const char	*label;
	const char	*device;	/* --device, or NULL: the only key */
	const char	*uv;		/* --uv, or NULL: tokend's policy */
	bool		 set_pin;
};

/* the fields of a FIDO2_ENROLL_BEGIN answer (owned by the answer) */
struct begin {
	uint64_t		 challenge_id;
	const unsigned char	*challenge;
	size_t			 challenge_len;
	const char		*rp_id;
	const unsigned char	*handle;
	size_t			 handle_len;
	const char		*algorithms;
	const char		*uv;
};

/* how the key will verify the user */
enum verify {
	VERIFY_NONE = 0,	/* presence (touch) only */
	VERIFY_BUILTIN,		/* the key's own UV (fingerprint) */
	VERIFY_PIN		/* the key's PIN, typed on the tty */
};


/* What a libfido2 error means, for the administrator. */
static const char *
key_error(int r)
{
	switch (r) {
	case FIDO_ERR_ACTION_TIMEOUT:
	case FIDO_ERR_USER_ACTION_TIMEOUT:
	case FIDO_ERR_USER_ACTION_PENDING:
		return (_("the key was not touched in time"));
	case FIDO_ERR_CREDENTIAL_EXCLUDED:
		return (_("this key already holds a credential of this user "
		    "(it is enrolled already)"));
	case FIDO_ERR_UNSUPPORTED_ALGORITHM:
		return (_("the key does not support the algorithm"));
	case FIDO_ERR_OPERATION_DENIED:
	case FIDO_ERR_KEEPALIVE_CANCEL:
		return (_("the key refused or the operation was cancelled"));
	case FIDO_ERR_UV_INVALID:
		return (_("the key did not recognise the user (built-in "
		    "verification failed)"));
	case FIDO_ERR_UV_BLOCKED:
		return (_("the key's built-in verification is blocked; "
		    "use its PIN"));
	case FIDO_ERR_PIN_INVALID:
		return (_("wrong PIN"));
	case FIDO_ERR_PIN_BLOCKED:
		return (_("the key's PIN is blocked; only a reset of the key "
		    "(which erases its credentials) unblocks it"));
	case FIDO_ERR_PIN_AUTH_BLOCKED:
		return (_("too many wrong PINs: unplug the key, plug it in "
		    "again and retry"));
	case FIDO_ERR_PIN_POLICY_VIOLATION:
		return (_("the key refused this PIN (too short or too "
		    "simple)"));
	case FIDO_ERR_PIN_REQUIRED:
	case FIDO_ERR_PIN_NOT_SET:
		return (_("the key needs a PIN"));
	case FIDO_ERR_KEY_STORE_FULL:
		return (_("the key's storage is full"));
	case FIDO_ERR_TX:
	case FIDO_ERR_RX:
	case FIDO_ERR_RX_NOT_CBOR:
	case FIDO_ERR_RX_INVALID_CBOR:
	case FIDO_ERR_TIMEOUT:
		return (_("the key stopped answering (was it unplugged?)"));
	}
	return (fido_strerr(r));
}

/* Prints "tokenadm: WHAT: why" for a libfido2 error; TK_EXIT_FAIL. */
static int
key_failed(const char *what, int r)
{
	fprintf(stderr, "tokenadm: %s: %s\n", what, key_error(r));
	return (TK_EXIT_FAIL);
}

/* --- small helpers --- */

/* base64url without padding (WebAuthn's form of a credential id) */
static void
b64url(const unsigned char *p, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = tab[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
	}
	*out = '\0';
}

/* milliseconds of the monotonic clock */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000);
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / MS_PER_S;
	ts.tv_nsec = (ms % MS_PER_S) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Unicode code points in UTF-8 text (bytes that do not continue one). */
static size_t
code_points(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/* true when s is valid UTF-8 without control characters */
static bool
clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return (false);
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return (false);
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return (false);
		p += n + 1;
	}
	return (true);
}

/*
 * The display name of `user' for the key: the first field of the
 * passwd GECOS when it is clean UTF-8, else the user name; cut to
 * DISPLAY_MAX bytes at a character boundary.
 */
static void
display_name(const char *user, char *buf, size_t len)
{
	struct passwd *pw;
	const char *name = user;
	size_t n;

	buf[0] = '\0';
	if ((pw = getpwnam(user)) != NULL && pw->pw_gecos != NULL &&
	    pw->pw_gecos[0] != '\0' && pw->pw_gecos[0] != ',') {
		snprintf(buf, len, "%s", pw->pw_gecos);
		buf[strcspn(buf, ",")] = '\0';
		if (clean_utf8(buf))
			name = buf;
	}
	if (name != buf)
		snprintf(buf, len, "%s", name);
	n = strlen(buf);
	if (n > DISPLAY_MAX) {
		n = DISPLAY_MAX;
		while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
			n--;
		buf[n] = '\0';
	}
}

/* --- the key --- */

/* Prints the keys of a manifest, one a line, for "choose one". */
static void
list_paths(const fido_dev_info_t *di, size_t n)
{
	const fido_dev_info_t *d;
	const char *m, *p;
	size_t i;

	for (i = 0; i < n; i++) {
		d = fido_dev_info_ptr(di, i);
		m = fido_dev_info_manufacturer_string(d);
		p = fido_dev_info_product_string(d);
		fprintf(stderr, "  %s  (%s %s)\n", fido_dev_info_path(d),
		    m != NULL ? m : "?", p != NULL ? p : "?");
	}
}

/*
 * Finds the path of the only key plugged in, waiting up to wait_s
 * seconds for one.  Returns TK_EXIT_OK and a malloc'd *pathp, or
 * TK_EXIT_FAIL after saying why (none, several, or libfido2 failed).
 */
static int
find_key(unsigned wait_s, char **pathp)
{
	fido_dev_info_t *di = NULL;
	int64_t deadline;
	size_t n = 0;
	bool told = false;
	int r, ex = TK_EXIT_FAIL;

	*pathp = NULL;
	deadline = now_ms() + (int64_t)wait_s * MS_PER_S;
	if ((di = fido_dev_info_new(KEYS_MAX)) == NULL)
		return (tk_adm_oom());
	for (;;) {
		if ((r = fido_dev_info_manifest(di, KEYS_MAX, &n)) !=
		    FIDO_OK) {
			fprintf(stderr, _("tokenadm: cannot list the security "
			    "keys: %s\n"), fido_strerr(r));
			goto out;
		}
		if (n > 0 || now_ms() >= deadline)
			break;
		if (!told) {
			fprintf(stderr, _("Insert the security key (waiting "
			    "up to %u s)\n"), wait_s);
			told = true;
		}
		sleep_ms(POLL_MS);
	}
	if (n == 0) {
		fprintf(stderr, "tokenadm: %s\n",
		    _("no security key found"));
		goto out;
	}
	if (n > 1) {
		fprintf(stderr, _("tokenadm: %zu security keys are plugged "
		    "in; choose one with --device PATH:\n"), n);
		list_paths(di, n);
		goto out;
	}
	if ((*pathp = strdup(fido_dev_info_path(fido_dev_info_ptr(di,
	    0)))) == NULL) {
		ex = tk_adm_oom();
		goto out;
	}
	ex = TK_EXIT_OK; /* success */
 out:
	fido_dev_info_free(&di, KEYS_MAX);
	return (ex);
}

/* Opens the key at path; TK_EXIT_OK or TK_EXIT_FAIL after saying why. */
static int
open_key(const char *path, fido_dev_t **devp)
{
	fido_dev_t *dev;
	int r;

	*devp = NULL;
	if ((dev = fido_dev_new()) == NULL)
		return (tk_adm_oom());
	if ((r = fido_dev_open(dev, path)) != FIDO_OK) {
		fprintf(stderr, _("tokenadm: cannot open the security key "
		    "%s: %s\n"), path, key_error(r));
		fido_dev_free(&dev);
		return (TK_EXIT_FAIL);
	}
	(void)fido_dev_set_timeout(dev, KEY_MS);
	*devp = dev;
	return (TK_EXIT_OK);
}

static void
close_key(fido_dev_t **devp)
{
	if (*devp == NULL)
		return;
	(void)fido_dev_close(*devp);
	fido_dev_free(devp);
}

/*
 * Chooses the first algorithm of tokend's list (comma-separated, in
 * order of preference) that the key says it supports; a key that lists
 * none (CTAP 2.0) gets es256 when tokend allows it.  Returns the index
 * in algs[], or -1.
 */
static int
choose_alg(const char *list, const fido_cbor_info_t *ci)
{
	char buf[TK_SHORT_TEXT_MAX + 1], *p, *save = NULL;
	size_t i, k, nk;
	int first_es256 = -1;

	nk = ci != NULL ? fido_cbor_info_algorithm_count(ci) : 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NITEMS(algs); i++) {
			if (strcmp(p, algs[i].name) != 0)
				continue;
			if (algs[i].cose == COSE_ES256)
				first_es256 = (int)i;
			for (k = 0; k < nk; k++)
				if (fido_cbor_info_algorithm_cose(ci, k) ==
				    algs[i].cose)
					return ((int)i);
		}
	}
	return (nk == 0 ? first_es256 : -1);
}

/*
 * Asks the key's PIN on the terminal into pin (PIN_BUF bytes), telling
 * the retries left when few remain.  TK_EXIT_OK or TK_EXIT_FAIL after
 * saying why (blocked, no terminal, nothing typed).
 */
static int
ask_pin(fido_dev_t *dev, char *pin)
{
	int r, retries = -1;

	if (fido_dev_get_retry_count(dev, &retries) == FIDO_OK) {
		if (retries == 0)
			return (key_failed(_("security key"),
			    FIDO_ERR_PIN_BLOCKED));
		if (retries <= PIN_TRIES)
			fprintf(stderr, _("The key allows %d more PIN "
			    "attempt(s) before it blocks.\n"), retries);
	}
	for (;;) {
		r = tk_tty_secret(_("PIN of the security key: "), pin,
		    PIN_BUF);
		if (r == TK_TTY_OK && pin[0] != '\0')
			return (TK_EXIT_OK);
		switch (r) {
		case TK_TTY_LONG:
			fprintf(stderr, _("A PIN is at most %d bytes.\n"),
			    PIN_MAX);
			continue;
		case TK_TTY_NONE:
			fprintf(stderr, "tokenadm: %s\n", _("the key needs "
			    "its PIN, but there is no terminal to ask it "
			    "on"));
			return (TK_EXIT_FAIL);
		}
		tk_memzero(pin, PIN_BUF);
		fprintf(stderr, "tokenadm: %s\n", _("no PIN given"));
		return (TK_EXIT_FAIL);
	}
}

/*
 * Asks a new PIN twice and sets it on a key that has none; on success
 * pin holds it (for the credential that follows).
 */
static int
set_new_pin(fido_dev_t *dev, char *pin)
{
	char again[PIN_BUF];
	int i, r, ex = TK_EXIT_FAIL;

	fputs(_("The key has no PIN yet: choose one (4 to 63 characters; "
	    "the user types it at every login).\n"), stderr);
	for (i = 0; i < NEW_PIN_TRIES; i++) {
		r = tk_tty_secret(_("New PIN for the security key: "), pin,
		    PIN_BUF);
		if (r == TK_TTY_NONE) {
			fprintf(stderr, "tokenadm: %s\n", _("--set-pin needs "
			    "a terminal to ask the new PIN on"));
			goto out;
		}
		if (r == TK_TTY_EOF) {
			fprintf(stderr, "tokenadm: %s\n", _("no PIN given"));
			goto out;
		}
		if (r == TK_TTY_LONG || code_points(pin) < PIN_MIN) {
			fprintf(stderr, _("A PIN has %d to %d characters; "
			    "try again.\n"), PIN_MIN, PIN_MAX);
			continue;
		}
		r = tk_tty_secret(_("Repeat the new PIN: "), again,
		    sizeof(again));
		if (r != TK_TTY_OK || strcmp(pin, again) != 0) {
			tk_memzero(again, sizeof(again));
			fprintf(stderr, "%s\n", _("The two PINs differ; try "
			    "again."));
			continue;
		}
		tk_memzero(again, sizeof(again));
		if ((r = fido_dev_set_pin(dev, pin, NULL)) == FIDO_OK) {
			fprintf(stderr, "%s\n", _("The PIN of the key is "
			    "set."));
			ex = TK_EXIT_OK;
			goto out;
		}
		if (r != FIDO_ERR_PIN_POLICY_VIOLATION) {
			key_failed(_("cannot set the PIN"), r);
			goto out;
		}
		fprintf(stderr, "%s\n", key_error(r));
	}
	fprintf(stderr, "tokenadm: %s\n", _("no PIN set"));
 out:
	tk_memzero(again, sizeof(again));
	if (ex != TK_EXIT_OK)
		tk_memzero(pin, PIN_BUF);
	return (ex);
}

/*
 * Decides how the key verifies the user under tokend's policy `uv',
 * asking or setting the PIN as needed (into pin).  Returns an exit
 * code; *how is set on success.
 */
static int
arrange_uv(const struct fido2_enroll *e, fido_dev_t *dev, const char *uv,
    char *pin, enum verify *how)
{
	bool has_uv = fido_dev_has_uv(dev), has_pin = fido_dev_has_pin(dev);
	bool required = strcmp(uv, "required") == 0;
	bool discouraged = strcmp(uv, "discouraged") == 0;
	int ex;

	*how = VERIFY_NONE;
	if (e->set_pin && has_pin)
		fprintf(stderr, "%s\n", _("The key has a PIN already; "
		    "--set-pin leaves it as it is."));
	if (e->set_pin && !has_pin) {
		if (!fido_dev_supports_pin(dev)) {
			fprintf(stderr, "tokenadm: %s\n", _("this key "
			    "cannot have a PIN"));
			return (TK_EXIT_FAIL);
		}
		if ((ex = set_new_pin(dev, pin)) != TK_EXIT_OK)
			return (ex);
		has_pin = true;
		if (!has_uv || discouraged) {
			*how = VERIFY_PIN;	/* the PIN just typed */
			return (TK_EXIT_OK);
		}
		tk_memzero(pin, PIN_BUF);
	}
	if (discouraged)
		return (TK_EXIT_OK);	/* the PIN is asked if the key
					   insists (FIDO_ERR_PIN_REQUIRED) */
	if (has_uv) {
		*how = VERIFY_BUILTIN;
		return (TK_EXIT_OK);
	}
	if (has_pin) {
		if ((ex = ask_pin(dev, pin)) != TK_EXIT_OK)
			return (ex);
		*how = VERIFY_PIN;
		return (TK_EXIT_OK);
	}
	if (required) {
		fprintf(stderr, "tokenadm: %s\n", _("tokend requires user "
		    "verification, but this key has neither a PIN nor "
		    "built-in verification; give it a PIN with --set-pin, "
		    "or use another key"));
		return (TK_EXIT_FAIL);
	}
	return (TK_EXIT_OK);		/* preferred: touch only */
}

/*
 * fido_dev_make_cred() with the touch message, bounded tries at the
 * PIN, and the PIN asked when a key insists on one.  The PIN is wiped
 * before returning.
 */
static int
make_cred(fido_dev_t *dev, fido_cred_t *cred, enum verify how, char *pin)
{
	int r, tries = 0, retries, ex = TK_EXIT_FAIL;

	for (;;) {
		(void)fido_cred_set_uv(cred, how == VERIFY_BUILTIN ?
		    FIDO_OPT_TRUE : FIDO_OPT_OMIT);
		fprintf(stderr, "%s\n", _("Touch your security key"));
		(void)fido_dev_set_timeout(dev, TOUCH_MS);
		r = fido_dev_make_cred(dev, cred,
		    how == VERIFY_PIN ? pin : NULL);
		(void)fido_dev_set_timeout(dev, KEY_MS);
		if (r == FIDO_OK) {
			ex = TK_EXIT_OK;
			break;
		}
		if (r == FIDO_ERR_PIN_REQUIRED && how != VERIFY_PIN &&
		    fido_dev_has_pin(dev)) {
			if (ask_pin(dev, pin) != TK_EXIT_OK)
				break;
			how = VERIFY_PIN;
			continue;
		}
		if (r == FIDO_ERR_PIN_INVALID && ++tries < PIN_TRIES) {
			tk_memzero(pin, PIN_BUF);
			if (fido_dev_get_retry_count(dev, &retries) ==
			    FIDO_OK && retries == 0) {
				key_failed(_("security key"),
				    FIDO_ERR_PIN_BLOCKED);
				break;
			}
			fprintf(stderr, "%s\n", _("Wrong PIN."));
			if (ask_pin(dev, pin) != TK_EXIT_OK)
				break;
			continue;
		}
		key_failed(_("cannot make the credential"), r);
		break;
	}
	tk_memzero(pin, PIN_BUF);
	return (ex);
}

/* --- enroll fido2 --- */

/* Fills *b from a BEGIN answer; -1 when it is not usable. */
static int
begin_fields(const tk_msg_t *ans, struct begin *b)
{
	memset(b, 0, sizeof(*b));
	b->rp_id = tk_msg_get_text(ans, TK_KEY_RP_ID);
	b->algorithms = tk_msg_get_text(ans, TK_KEY_ALGORITHMS);
	b->uv = tk_msg_get_text(ans, TK_KEY_UV);
	if (b->rp_id == NULL || b->algorithms == NULL || b->uv == NULL ||
	    tk_msg_get_uint(ans, TK_KEY_CHALLENGE_ID, &b->challenge_id) !=
	    0 ||
	    tk_msg_get_bytes(ans, TK_KEY_CHALLENGE, &b->challenge,
	    &b->challenge_len) != 0 ||
	    b->challenge_len != TK_FIDO2_CHALLENGE_BYTES ||
	    tk_msg_get_bytes(ans, TK_KEY_USER_HANDLE, &b->handle,
	    &b->handle_len) != 0 ||
	    b->handle_len != TK_FIDO2_USER_HANDLE_BYTES)
		return (-1);
	/* an unknown policy is treated as the strictest */
	if (strcmp(b->uv, "preferred") != 0 &&
	    strcmp(b->uv, "discouraged") != 0)
		b->uv = "required";
	return (0);
}

/* Sets up the credential to make; an exit code. */
static int
cred_setup(fido_cred_t *cred, const struct begin *b, const char *user,
    int cose, const tk_msg_t *ans)
{
	char display[DISPLAY_MAX * 4 + 1];
	const tk_msg_t *rec;
	const unsigned char *id;
	size_t i, len;
	int r;

	display_name(user, display, sizeof(display));
	if ((r = fido_cred_set_type(cred, cose)) != FIDO_OK ||
	    (r = fido_cred_set_rp(cred, b->rp_id, b->rp_id)) != FIDO_OK ||
	    (r = fido_cred_set_user(cred, b->handle, b->handle_len, user,
	    display, NULL)) != FIDO_OK ||
	    (r = fido_cred_set_clientdata_hash(cred, b->challenge,
	    b->challenge_len)) != FIDO_OK ||
	    (r = fido_cred_set_rk(cred, FIDO_OPT_FALSE)) != FIDO_OK)
		return (key_failed(_("cannot prepare the credential"), r));
	for (i = 0; i < tk_msg_count(ans, TK_KEY_CRED_IDS); i++) {
		rec = tk_msg_record(ans, TK_KEY_CRED_IDS, i);
		if (tk_msg_get_bytes(rec, TK_KEY_CRED_ID, &id, &len) != 0)
			continue;
		if ((r = fido_cred_exclude(cred, id, len)) != FIDO_OK)
			return (key_failed(_("cannot prepare the "
			    "credential"), r));
	}
	return (TK_EXIT_OK);
}

/* Builds FIDO2_ENROLL_FINISH from the made credential; an exit code. */
static int
finish_request(const struct fido2_enroll *e, const struct begin *b,
    const char *alg, const fido_cred_t *cred, tk_msg_t **reqp)
{
	tk_msg_t *req;
	const char *fmt = fido_cred_fmt(cred);
	size_t sig_len = fido_cred_sig_len(cred);
	size_t x5c_len = fido_cred_x5c_len(cred);
	size_t ad_len = fido_cred_authdata_raw_len(cred);

	*reqp = NULL;
	if (fmt == NULL || ad_len == 0) {
		fprintf(stderr, "tokenadm: %s\n", _("the key gave an "
		    "incomplete attestation"));
		return (TK_EXIT_FAIL);
	}
	if (ad_len > TK_FIDO2_AUTHDATA_MAX || sig_len > TK_FIDO2_SIG_MAX ||
	    x5c_len > TK_FIDO2_X5C_MAX || strlen(fmt) > TK_SHORT_TEXT_MAX) {
		fprintf(stderr, "tokenadm: %s\n", _("the key's attestation "
		    "is too large for tokend"));
		return (TK_EXIT_FAIL);
	}
	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_FIDO2_ENROLL_FINISH)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, e->user) != 0 ||
	    tk_msg_set_uint(req, TK_KEY_CHALLENGE_ID, b->challenge_id) != 0 ||
	    tk_msg_set_text(req, TK_KEY_ALGORITHM, alg) != 0 ||
	    tk_msg_set_text(req, TK_KEY_FMT, fmt) != 0 ||
	    tk_msg_set_bytes(req, TK_KEY_AUTHDATA,
	    fido_cred_authdata_raw_ptr(cred), ad_len) != 0 ||
	    (sig_len > 0 && tk_msg_set_bytes(req, TK_KEY_SIG,
	    fido_cred_sig_ptr(cred), sig_len) != 0) ||
	    (x5c_len > 0 && tk_msg_set_bytes(req, TK_KEY_X5C,
	    fido_cred_x5c_ptr(cred), x5c_len) != 0)) {
		tk_msg_free(&req);
		return (tk_adm_oom());
	}
	*reqp = req;
	return (TK_EXIT_OK);
}

/* Explains a refused FIDO2_ENROLL_FINISH; returns TK_EXIT_FAIL. */
static int
finish_refused(struct tk_adm *c, const tk_msg_t *ans, const char *user,
    const fido_cred_t *cred)
{
	char aaguid[TK_AAGUID_TEXT_MAX];
	const char *reason = tk_msg_get_text(ans, TK_KEY_REASON);
	const char *fmt = fido_cred_fmt(cred), *model, *text, *atext;
	size_t len = fido_cred_aaguid_len(cred);

	switch (tk_msg_status(ans)) {
	case TK_ST_NOT_ALLOWED:
		tk_adm_refused(c, ans, user);
		if (fmt != NULL && strcmp(fmt, "none") == 0) {
			fprintf(stderr, "tokenadm: %s\n", _("the key gave no "
			    "attestation (format \"none\"), which tokend "
			    "does not accept"));
			return (TK_EXIT_FAIL);
		}
		atext = tk_aaguid_text(fido_cred_aaguid_ptr(cred), len,
		    aaguid);
		model = tk_aaguid_model(fido_cred_aaguid_ptr(cred), len);
		fprintf(stderr, _("tokenadm: this key: %s, AAGUID %s; the "
		    "approved models are [fido2] allowed_aaguids in "
		    "tokend.conf\n"), model != NULL ? model :
		    _("unknown model"), atext != NULL ? atext : "-");
		return (TK_EXIT_FAIL);
	case TK_ST_EXISTS:
		text = _("this key's credential is registered already");
		break;
	case TK_ST_EXPIRED:
		text = _("the enrollment took too long and expired; run the "
		    "command again");
		break;
	case TK_ST_REPLAY:
		text = _("this enrollment was finished already; run the "
		    "command again");
		break;
	case TK_ST_WRONG:
		text = _("tokend could not verify the key's attestation");
		break;
	default:
		return (tk_adm_refused(c, ans, user));
	}
	fprintf(stderr, "tokenadm: %s: %s", user, text);
	if (reason != NULL)
		fprintf(stderr, " (%s)", reason);
	fputc('\n', stderr);
	return (TK_EXIT_FAIL);
}

/* Prints the stored credential; an exit code. */
static int
print_enrolled(struct tk_adm *c, const struct fido2_enroll *e,
    const char *uv, const char *path, const tk_msg_t *ans)
{
	char aaguid[TK_AAGUID_TEXT_MAX], *id64 = NULL;
	const unsigned char *ag, *id;
	const char *state, *alg, *fmt, *model, *atext;
	tk_table_t *t = NULL;
	const char *cells[2];
	struct tk_json j;
	size_t aglen, idlen;
	uint64_t cred;
	int ex;

	state = tk_msg_get_text(ans, TK_KEY_STATE);
	alg = tk_msg_get_text(ans, TK_KEY_ALGORITHM);
	fmt = tk_msg_get_text(ans, TK_KEY_FMT);
	if (state == NULL || alg == NULL || fmt == NULL ||
	    tk_msg_get_uint(ans, TK_KEY_CRED, &cred) != 0 ||
	    tk_msg_get_bytes(ans, TK_KEY_AAGUID, &ag, &aglen) != 0 ||
	    tk_msg_get_bytes(ans, TK_KEY_CRED_ID, &id, &idlen) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		return (TK_EXIT_FAIL);
	}
	atext = tk_aaguid_text(ag, aglen, aaguid);
	model = tk_aaguid_model(ag, aglen);
	if ((id64 = malloc(B64_MAX(idlen))) == NULL)
		return (tk_adm_oom());
	b64url(id, idlen, id64);

	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, e->user);
		tk_json_key(&j, "credential");
		tk_json_uint(&j, cred);
		tk_json_key(&j, "kind");
		tk_json_string(&j, "fido2");
		tk_json_key(&j, "label");
		tk_json_string(&j, e->label);
		tk_json_key(&j, "state");
		tk_json_string(&j, state);
		tk_json_key(&j, "credential_id");
		tk_json_string(&j, id64);
		tk_json_key(&j, "aaguid");
		tk_json_string(&j, atext);
		tk_json_key(&j, "model");
		tk_json_string(&j, model);
		tk_json_key(&j, "algorithm");
		tk_json_string(&j, alg);
		tk_json_key(&j, "attestation_format");
		tk_json_string(&j, fmt);
		tk_json_key(&j, "user_verification");
		tk_json_string(&j, uv);
		tk_json_key(&j, "device");
		tk_json_string(&j, path);
		tk_json_object_end(&j);
		ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
		goto out;
	}
	printf(_("Credential %" PRIu64 " of %s is %s.\n"), cred, e->user,
	    state);
	if ((t = tk_table_new(2, NULL)) == NULL) {
		ex = tk_adm_oom();
		goto out;
	}
#define ROW(name, value)						\
	do {								\
		cells[0] = (name);					\
		cells[1] = (value);					\
		if (tk_table_add(t, cells) != 0) {			\
			ex = tk_adm_oom();					\
			goto out;					\
		}							\
	} while (0)
	ROW(_("  Key model:"), model != NULL ? model : _("unknown model"));
	ROW(_("  AAGUID:"), atext);
	ROW(_("  Algorithm:"), alg);
	ROW(_("  Attestation:"), fmt);
	ROW(_("  User verification:"), uv);
	ROW(_("  Credential ID:"), id64);
#undef ROW
	tk_table_print(t, stdout);
	ex = TK_EXIT_OK;
 out:
	tk_table_free(&t);
	free(id64);
	return (ex);
}

bool
tk_adm_enroll_is_fido2(int argc, char **argv)
{
	/* every option of "enroll", of both kinds */
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "label", required_argument, NULL, TK_OPT_LABEL },
		{ "digits", required_argument, NULL, TK_OPT_DIGITS },
		{ "algorithm", required_argument, NULL, TK_OPT_ALGORITHM },
		{ "qr-png", required_argument, NULL, TK_OPT_QR_PNG },
		{ "device", required_argument, NULL, TK_OPT_DEVICE },
		{ "uv", required_argument, NULL, TK_OPT_UV },
		{ "set-pin", no_argument, NULL, TK_OPT_SET_PIN },
		{ NULL, 0, NULL, 0 }
	};
	char **copy;
	bool fido2;
	int i;

	/* getopt_long() permutes: look at a copy */
	if (argc < 1 || (copy = calloc((size_t)argc + 1,
	    sizeof(*copy))) == NULL)
		return (false);
	for (i = 0; i < argc; i++)
		copy[i] = argv[i];
	optind = 0;
	opterr = 0;
	while (getopt_long(argc, copy, ":" TK_ADM_SHORTOPTS, opts, NULL) !=
	    -1)
		;
	fido2 = optind < argc && strcmp(copy[optind], "fido2") == 0;
	free(copy);
	optind = 0;
	return (fido2);
}

/*
 * Parses the arguments of "enroll fido2".  Returns TK_EXIT_OK,
 * ARGS_HELP, or TK_EXIT_USAGE after printing why.
 */
static int
fido2_args(struct tk_adm *c, int argc, char **argv, struct fido2_enroll *e)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "label", required_argument, NULL, TK_OPT_LABEL },
		{ "device", required_argument, NULL, TK_OPT_DEVICE },
		{ "uv", required_argument, NULL, TK_OPT_UV },
		{ "set-pin", no_argument, NULL, TK_OPT_SET_PIN },
		{ "digits", required_argument, NULL, TK_OPT_DIGITS },
		{ "algorithm", required_argument, NULL, TK_OPT_ALGORITHM },
		{ "qr-png", required_argument, NULL, TK_OPT_QR_PNG },
		{ NULL, 0, NULL, 0 }
	};
	int ch, ex;

	memset(e, 0, sizeof(*e));
	while ((ch = tk_adm_getopt(c, "enroll", argc, argv, opts, &ex)) !=
	    -1) {
		switch (ch) {
		case 'h':
			tk_adm_help("enroll", stdout);
			return (ARGS_HELP);
		case TK_OPT_LABEL:
			if (tk_adm_check_text(optarg, TK_LABEL_MAX) != 0)
				return (tk_adm_usage("enroll", _("--label "
				    "needs 1 to %d printable bytes"),
				    TK_LABEL_MAX));
			e->label = optarg;
			break;
		case TK_OPT_DEVICE:
			if (*optarg == '\0')
				return (tk_adm_usage("enroll",
				    _("--device needs a path")));
			e->device = optarg;
			break;
		case TK_OPT_UV:
			if (strcmp(optarg, "required") != 0 &&
			    strcmp(optarg, "preferred") != 0 &&
			    strcmp(optarg, "discouraged") != 0)
				return (tk_adm_usage("enroll", _("--uv must "
				    "be required, preferred or discouraged")));
			e->uv = optarg;
			break;
		case TK_OPT_SET_PIN:
			e->set_pin = true;
			break;
		case TK_OPT_DIGITS:
		case TK_OPT_ALGORITHM:
		case TK_OPT_QR_PNG:
			return (tk_adm_usage("enroll", _("%s is for TOTP; "
			    "a FIDO2 key takes --label, --device, --uv and "
			    "--set-pin"), argv[optind - 1]));
		default:
			return (tk_adm_usage("enroll", _("unknown option")));
		}
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 2 || strcmp(argv[optind], "fido2") != 0)
		return (tk_adm_usage("enroll",
		    _("expected: enroll fido2 USER")));
	e->user = argv[optind + 1];
	if (tk_adm_check_text(e->user, TK_USER_MAX) != 0)
		return (tk_adm_usage("enroll", _("invalid user name")));
	return (TK_EXIT_OK);
}

int
tk_cmd_enroll_fido2(struct tk_adm *c, int argc, char **argv)
{
	struct fido2_enroll e;
	struct begin b;
	tk_msg_t *req = NULL, *ans = NULL, *fin = NULL;
	fido_dev_t *dev = NULL;
	fido_cbor_info_t *ci = NULL;
	fido_cred_t *cred = NULL;
	char pin[PIN_BUF], *path = NULL;
	enum verify how = VERIFY_NONE;
	int ex, r, ai;

	memset(pin, 0, sizeof(pin));
	if ((ex = fido2_args(c, argc, argv, &e)) != TK_EXIT_OK)
		return (ex == ARGS_HELP ? TK_EXIT_OK : ex);
	fido_init(0);

	/* 1. tokend: the parameters of the credential */
	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_FIDO2_ENROLL_BEGIN)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, e.user) != 0 ||
	    (e.label != NULL &&
	    tk_msg_set_text(req, TK_KEY_LABEL, e.label) != 0) ||
	    (e.uv != NULL && tk_msg_set_text(req, TK_KEY_UV, e.uv) != 0)) {
		ex = tk_adm_oom();
		goto out;
	}
	if ((ex = tk_adm_call(c, req, e.user, &ans)) != TK_EXIT_OK)
		goto out;
	tk_msg_free(&req);
	if (begin_fields(ans, &b) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto out;
	}

	/* 2. the key */
	if (e.device == NULL &&
	    (ex = find_key(c->conf.fido2_wait, &path)) != TK_EXIT_OK)
		goto out;
	if ((ex = open_key(e.device != NULL ? e.device : path, &dev)) !=
	    TK_EXIT_OK)
		goto out;
	ex = TK_EXIT_FAIL;
	if (!fido_dev_is_fido2(dev)) {
		fprintf(stderr, "tokenadm: %s\n", _("this key speaks U2F "
		    "only; tokend needs a FIDO2 key"));
		goto out;
	}
	if ((ci = fido_cbor_info_new()) == NULL) {
		ex = tk_adm_oom();
		goto out;
	}
	if ((r = fido_dev_get_cbor_info(dev, ci)) != FIDO_OK) {
		ex = key_failed(_("cannot read the key's information"), r);
		goto out;
	}
	if ((ai = choose_alg(b.algorithms, ci)) < 0) {
		fprintf(stderr, _("tokenadm: the key supports none of the "
		    "algorithms tokend allows (%s)\n"), b.algorithms);
		goto out;
	}

	/* 3. user verification, then the credential */
	if ((ex = arrange_uv(&e, dev, b.uv, pin, &how)) != TK_EXIT_OK)
		goto out;
	if ((cred = fido_cred_new()) == NULL) {
		ex = tk_adm_oom();
		goto out;
	}
	if ((ex = cred_setup(cred, &b, e.user, algs[ai].cose, ans)) !=
	    TK_EXIT_OK)
		goto out;
	if ((ex = make_cred(dev, cred, how, pin)) != TK_EXIT_OK)
		goto out;
	close_key(&dev);

	/* 4. tokend verifies and stores it */
	if ((ex = finish_request(&e, &b, algs[ai].name, cred, &req)) !=
	    TK_EXIT_OK)
		goto out;
	if ((ex = tk_adm_exchange(c, req, &fin)) != TK_EXIT_OK)
		goto out;
	if (tk_msg_status(fin) != TK_ST_OK) {
		ex = finish_refused(c, fin, e.user, cred);
		goto out;
	}
	ex = print_enrolled(c, &e, b.uv, e.device != NULL ? e.device : path,
	    fin);
 out:
	tk_memzero(pin, sizeof(pin));
	fido_cred_free(&cred);
	fido_cbor_info_free(&ci);
	close_key(&dev);
	free(path);
	tk_msg_free(&req);
	tk_msg_free(&ans);
	tk_msg_free(&fin);
	return (ex);
}

/* --- devices --- */

/* what one key says about itself */
struct keyinfo {
	const char	*path;
	const char	*manufacturer;
	const char	*product;
	const char	*error;		/* could not be asked, or NULL */
	bool		 fido2;
	char		 aaguid[TK_AAGUID_TEXT_MAX];
	bool		 has_aaguid;
	const char	*model;
	int		 pin;		/* -1 unsupported, 0 not set, 1 set */
	int		 uv;		/* -1 no built-in UV, 0 not set up, 1 */
	int		 retries;	/* PIN retries, -1 unknown */
	char		 versions[128];	/* comma-separated */
};

/* the value of option `name' of getInfo: -1 absent, 0 false, 1 true */
static int
info_option(const fido_cbor_info_t *ci, const char *name)
{
	char **names = fido_cbor_info_options_name_ptr(ci);
	const bool *values = fido_cbor_info_options_value_ptr(ci);
	size_t i, n = fido_cbor_info_options_len(ci);

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (values[i] ? 1 : 0);
	return (-1);
}

/* Opens the key of `d' and asks it; info->error says what failed. */
static void
key_ask(const fido_dev_info_t *d, fido_cbor_info_t *ci,
    struct keyinfo *k)
{
	fido_dev_t *dev = NULL;
	char **v;
	size_t i, n, used = 0;
	int r;

	memset(k, 0, sizeof(*k));
	k->path = fido_dev_info_path(d);
	k->manufacturer = fido_dev_info_manufacturer_string(d);
	k->product = fido_dev_info_product_string(d);
	k->pin = k->uv = k->retries = -1;
	if ((dev = fido_dev_new()) == NULL) {
		k->error = _("out of memory");
		return;
	}
	if ((r = fido_dev_open(dev, k->path)) != FIDO_OK) {
		k->error = key_error(r);
		fido_dev_free(&dev);
		return;
	}
	(void)fido_dev_set_timeout(dev, KEY_MS);
	if (!(k->fido2 = fido_dev_is_fido2(dev)))
		goto out;
	if ((r = fido_dev_get_cbor_info(dev, ci)) != FIDO_OK) {
		k->error = key_error(r);
		goto out;
	}
	k->has_aaguid = tk_aaguid_text(fido_cbor_info_aaguid_ptr(ci),
	    fido_cbor_info_aaguid_len(ci), k->aaguid) != NULL;
	k->model = tk_aaguid_model(fido_cbor_info_aaguid_ptr(ci),
	    fido_cbor_info_aaguid_len(ci));
	k->pin = info_option(ci, "clientPin");
	k->uv = info_option(ci, "uv");
	if (k->pin == 1 && fido_dev_get_retry_count(dev, &k->retries) !=
	    FIDO_OK)
		k->retries = -1;
	v = fido_cbor_info_versions_ptr(ci);
	n = fido_cbor_info_versions_len(ci);
	for (i = 0; i < n; i++) {
		r = snprintf(k->versions + used, sizeof(k->versions) - used,
		    "%s%s", i > 0 ? "," : "", v[i]);
		if (r < 0 || (size_t)r >= sizeof(k->versions) - used)
			break;
		used += (size_t)r;
	}
 out:
	(void)fido_dev_close(dev);
	fido_dev_free(&dev);
}

static void
key_json(struct tk_json *j, const struct keyinfo *k)
{
	char buf[sizeof(k->versions)], *p, *save = NULL;

	tk_json_object_begin(j);
	tk_json_key(j, "path");
	tk_json_string(j, k->path);
	tk_json_key(j, "manufacturer");
	tk_json_string(j, k->manufacturer);
	tk_json_key(j, "product");
	tk_json_string(j, k->product);
	tk_json_key(j, "fido2");
	tk_json_bool(j, k->fido2);
	tk_json_key(j, "aaguid");
	tk_json_string(j, k->has_aaguid ? k->aaguid : NULL);
	tk_json_key(j, "model");
	tk_json_string(j, k->model);
	tk_json_key(j, "pin_supported");
	tk_json_bool(j, k->pin >= 0);
	tk_json_key(j, "pin_set");
	tk_json_bool(j, k->pin == 1);
	tk_json_key(j, "pin_retries");
	if (k->retries >= 0)
		tk_json_uint(j, (uint64_t)k->retries);
	else
		tk_json_null(j);
	tk_json_key(j, "uv_supported");
	tk_json_bool(j, k->uv >= 0);
	tk_json_key(j, "uv_builtin");
	tk_json_bool(j, k->uv == 1);
	tk_json_key(j, "versions");
	tk_json_array_begin(j);
	snprintf(buf, sizeof(buf), "%s", k->versions);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		tk_json_string(j, p);
	tk_json_array_end(j);
	tk_json_key(j, "error");
	tk_json_string(j, k->error);
	tk_json_object_end(j);
}

/* Prints one key as a block of "name: value" lines; -1 out of memory. */
static int
key_print(const struct keyinfo *k)
{
	char pin[128], model[TK_AAGUID_TEXT_MAX + 64];
	char versions[2 * sizeof(k->versions)];
	const char *cells[2], *uv, *v;
	tk_table_t *t;
	size_t n = 0;
	int ex = -1;

	/* "FIDO_2_0, FIDO_2_1" */
	for (v = k->versions; *v != '\0' && n + 3 < sizeof(versions); v++) {
		versions[n++] = *v;
		if (*v == ',')
			versions[n++] = ' ';
	}
	versions[n] = '\0';

	if ((t = tk_table_new(2, NULL)) == NULL)
		return (-1);
#define ROW(name, value)						\
	do {								\
		cells[0] = (name);					\
		cells[1] = (value);					\
		if (tk_table_add(t, cells) != 0)			\
			goto out;					\
	} while (0)
	printf("%s\n", k->path);
	ROW(_("  Manufacturer:"), k->manufacturer);
	ROW(_("  Product:"), k->product);
	if (k->error != NULL) {
		ROW(_("  Error:"), k->error);
	} else if (!k->fido2) {
		ROW(_("  FIDO2:"), _("no (U2F only: tokend cannot use it)"));
	} else {
		snprintf(model, sizeof(model), "%s (%s)",
		    k->has_aaguid ? k->aaguid : "-",
		    k->model != NULL ? k->model : _("unknown model"));
		ROW(_("  AAGUID:"), model);
		if (k->pin < 0)
			snprintf(pin, sizeof(pin), "%s", _("not supported"));
		else if (k->pin == 0)
			snprintf(pin, sizeof(pin), "%s", _("not set"));
		else if (k->retries >= 0)
			snprintf(pin, sizeof(pin), _("set (%d retries "
			    "left)"), k->retries);
		else
			snprintf(pin, sizeof(pin), "%s", _("set"));
		ROW(_("  PIN:"), pin);
		uv = k->uv < 0 ? _("none") : k->uv == 0 ?
		    _("supported, not set up") : _("yes");
		ROW(_("  Built-in UV:"), uv);
		ROW(_("  Versions:"), versions);
	}
#undef ROW
	tk_table_print(t, stdout);
	ex = 0;
 out:
	tk_table_free(&t);
	return (ex);
}

int
tk_cmd_devices(struct tk_adm *c, int argc, char **argv)
{
	fido_dev_info_t *di = NULL;
	fido_cbor_info_t *ci = NULL;
	struct keyinfo k;
	struct tk_json j;
	size_t i, n = 0;
	int ch, ex, r;
	bool failed = false;

	while ((ch = tk_adm_getopt(c, "devices", argc, argv, NULL, &ex)) !=
	    -1) {
		if (ch != 'h')
			return (tk_adm_usage("devices", _("unknown option")));
		tk_adm_help("devices", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 0)
		return (tk_adm_usage("devices", _("too many arguments")));

	fido_init(0);
	if ((di = fido_dev_info_new(KEYS_MAX)) == NULL)
		return (tk_adm_oom());
	if ((r = fido_dev_info_manifest(di, KEYS_MAX, &n)) != FIDO_OK) {
		fprintf(stderr, _("tokenadm: cannot list the security keys: "
		    "%s\n"), fido_strerr(r));
		ex = TK_EXIT_FAIL;
		goto out;
	}
	if (c->json) {
		tk_json_init(&j, stdout);
		tk_json_array_begin(&j);
	} else if (n == 0)
		printf("%s\n", _("No security key found."));
	for (i = 0; i < n; i++) {
		fido_cbor_info_free(&ci);
		if ((ci = fido_cbor_info_new()) == NULL) {
			ex = tk_adm_oom();
			goto out;
		}
		key_ask(fido_dev_info_ptr(di, i), ci, &k);
		if (k.error != NULL)
			failed = true;
		if (c->json)
			key_json(&j, &k);
		else {
			if (i > 0)
				fputc('\n', stdout);
			if (key_print(&k) != 0) {
				ex = tk_adm_oom();
				goto out;
			}
		}
	}
	ex = failed ? TK_EXIT_FAIL : TK_EXIT_OK;
	if (c->json) {
		tk_json_array_end(&j);
		if (tk_json_finish(&j) != 0)
			ex = TK_EXIT_FAIL;
	}
 out:
	fido_cbor_info_free(&ci);
	fido_dev_info_free(&di, KEYS_MAX);
	return (ex);
}

/* --- reinstate --- */

int
tk_cmd_reinstate(struct tk_adm *c, int argc, char **argv)
{
	tk_msg_t *req = NULL, *ans = NULL;
	struct tk_json j;
	const char *user, *state;
	uint64_t cred, got;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "reinstate", argc, argv, NULL, &ex)) !=
	    -1) {
		if (ch != 'h')
			return (tk_adm_usage("reinstate",
			    _("unknown option")));
		tk_adm_help("reinstate", stdout);
		return (TK_EXIT_OK);
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 2)
		return (tk_adm_usage("reinstate",
		    _("expected: reinstate USER CREDENTIAL")));
	user = argv[optind];
	if (tk_adm_check_text(user, TK_USER_MAX) != 0)
		return (tk_adm_usage("reinstate", _("invalid user name")));
	if (tk_adm_parse_uint(argv[optind + 1], 1, UINT64_MAX, &cred) != 0)
		return (tk_adm_usage("reinstate",
		    _("CREDENTIAL is a credential number")));

	if ((req = tk_msg_new(TK_DIR_REQUEST,
	    TK_MSG_CRED_REINSTATE)) == NULL ||
	    tk_msg_set_text(req, TK_KEY_USER, user) != 0 ||
	    tk_msg_set_uint(req, TK_KEY_CRED, cred) != 0) {
		ex = tk_adm_oom();
		goto out;
	}
	if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
		goto out;
	state = tk_msg_get_text(ans, TK_KEY_STATE);
	if (state == NULL || tk_msg_get_uint(ans, TK_KEY_CRED, &got) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
		ex = TK_EXIT_FAIL;
		goto out;
	}
	if (!c->json) {
		printf(_("Credential %" PRIu64 " of %s is %s.\n"), got, user,
		    state);
		ex = TK_EXIT_OK;
		goto out;
	}
	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "user");
	tk_json_string(&j, user);
	tk_json_key(&j, "credential");
	tk_json_uint(&j, got);
	tk_json_key(&j, "state");
	tk_json_string(&j, state);
	tk_json_object_end(&j);
	ex = tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL;
 out:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}
