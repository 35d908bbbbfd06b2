/*
 * fido2.c -- the FIDO2 login step: FIDO2_BEGIN, the security key (found,
 * chosen, asked for its PIN, touched), FIDO2_FINISH.  tokend holds the
 * public keys and checks the signature; this file only talks to the key.
 * It is built into the FIDO2 object (tokend_fido2.so), which alone
 * links libfido2; pam_tokend.so loads it when the factor is tried
 * (fido2_load.c, fido2_api.h).
 *
 * MUST:
 * 1. Every wait is bounded: for a key to appear (fido2_wait, never past
 *    the challenge's end), for each device request (fido_dev_set_timeout
 *    before fido_dev_open and before every request), and for the touch.
 *    A key that hangs or never answers cannot hang the login.
 * 2. Keys are found with fido_dev_info_manifest -> fido_dev_new ->
 *    fido_dev_open(path) and nothing else.
 * 3. The PIN is asked with echo off, never logged, and wiped on every
 *    path as soon as the key has been sent it.
 * 4. The outcome's status comes only from tokend's answers (FIDO2_BEGIN's
 *    refusal or FIDO2_FINISH's verdict); every failure of the key is
 *    TK_PAM_ERR_KEY or TK_PAM_ERR_NOKEY, a failure.
 * 5. At most PIN_PROMPTS_MAX PIN prompts and ATTEMPTS_MAX assertions in
 *    one login: no loop without bound.
 * 6. libfido2 never writes to stderr (FIDO_DEBUG in the environment of
 *    a set-uid program is the user's to set, not ours to obey).
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fido.h>
#include <security/pam_appl.h>

#include "conv.h"
#include "err.h"
#include "fido2.h"
#include "fido2_api.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "wipe.h"

#define MS_PER_S	1000
#define POLL_MS		250	/* between two looks for a key */
#define MANIFEST_MAX	16	/* keys listed in one look */
#define KEYS_MAX	8	/* keys opened at once */
#define DEV_OP_MS	5000	/* open, probe, retry count, cancel: each */
#define TOUCH_NOWAIT_MS	15000	/* time to touch when fido2_wait=0 */
#define FINISH_MARGIN_MS 2000	/* left for FIDO2_FINISH before the end */
#define CHALLENGE_MIN_MS 5000	/* less left than this: a fresh one */
#define CHALLENGE_SKEW_MS 10000	/* assumed left when the clocks differ */
#define CHALLENGE_MAX_MS 600000	/* the longest [fido2] challenge_ttl */
#define PIN_PROMPTS_MAX	3	/* PIN prompts in one login */
#define ATTEMPTS_MAX	5	/* assertions in one login */
#define PIN_MAX		63	/* bytes (CTAP2) */
#define MESSAGE_MAX	256	/* one line shown to the person, bytes */

enum uv_policy {
	UV_REQUIRED,
	UV_PREFERRED,
	UV_DISCOURAGED
};

/* how the key verifies the person, for one assertion */
enum uv_mode {
	MODE_NONE,		/* no user verification */
	MODE_BUILTIN,		/* the key's own (fingerprint, ...) */
	MODE_PIN		/* the key's PIN, asked here */
};

/* one FIDO2_BEGIN answer; every pointer points into `ans' */
struct challenge {
	tk_msg_t		*ans;
	uint64_t		 id;
	const unsigned char	*cdh;		/* TK_FIDO2_CHALLENGE_BYTES */
	const char		*rp_id;
	enum uv_policy		 uv;
	bool			 up;
	int64_t			 end_ms;	/* monotonic ms it ends */
};

/* the keys open at one time */
struct keys {
	fido_dev_t	*dev[KEYS_MAX];
	char		*path[KEYS_MAX];
	size_t		 n;
};

static pthread_once_t fido_once = PTHREAD_ONCE_INIT;

/* libfido2's debug lines hold protocol data: they go nowhere (MUST 6) */
static void
drop_log(const char *line)
{
}

static void
fido_setup(void)
{
	fido_init(0);
	fido_set_log_handler(drop_log);
}

/* monotonic milliseconds */
static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / MS_PER_S);
	ts.tv_nsec = (long)(ms % MS_PER_S) * 1000000;
	(void)nanosleep(&ts, NULL);
}

/* ms to an int for libfido2, at least 1 (0 would mean "do not wait") */
static int
ms_int(int64_t ms)
{
	if (ms < 1)
		return (1);
	return (ms > INT_MAX ? INT_MAX : (int)ms);
}

/* A message to the person, unless PAM_SILENT. */
static void
tell(const struct tk_login *l, const char *msg)
{
	if (!l->silent)
		(void)tk_conv_error(l->pamh, msg);
}

static void
inform(const struct tk_login *l, const char *msg)
{
	if (!l->silent)
		(void)tk_conv_info(l->pamh, msg);
}

int
tk_fido2_authdata_raw(const unsigned char *cbor, size_t len,
    const unsigned char **raw, size_t *rawlen)
{
	uint64_t n = 0;
	size_t hdr, i, extra;
	unsigned ai;

	*raw = NULL;
	*rawlen = 0;
	/* major type 2, definite length */
	if (cbor == NULL || len < 1 || (cbor[0] >> 5) != 2)
		return (TK_ERR_PROTO);
	ai = cbor[0] & 0x1f;
	if (ai < 24) {
		extra = 0;
		n = ai;
	} else if (ai <= 27)
		extra = (size_t)1 << (ai - 24);		/* 1, 2, 4, 8 */
	else
		return (TK_ERR_PROTO);
	hdr = 1 + extra;
	if (len < hdr)
		return (TK_ERR_PROTO);
	for (i = 0; i < extra; i++)
		n = (n << 8) | cbor[1 + i];
	if (n == 0 || n > TK_FIDO2_AUTHDATA_MAX || n != len - hdr)
		return (TK_ERR_PROTO);
	*raw = cbor + hdr;
	*rawlen = (size_t)n;
	return (0);
}

/* --- tokend --- */

static void
challenge_clear(struct challenge *ch)
{
	tk_msg_free(&ch->ans);
	memset(ch, 0, sizeof(*ch));
}

/* ms left before the challenge ends */
static int64_t
challenge_left(const struct challenge *ch)
{
	return (ch->end_ms - now_ms());
}

/*
 * Reads an ok FIDO2_BEGIN answer into *ch.  Returns 0 or TK_ERR_PROTO
 * for an answer that lacks what a login needs.
 */
static int
challenge_read(struct challenge *ch, uint64_t now_unix)
{
	const tk_msg_t *rec;
	const unsigned char *p;
	const char *uv;
	uint64_t expires;
	size_t i, n, len;
	int64_t left;

	if (tk_msg_get_uint(ch->ans, TK_KEY_CHALLENGE_ID, &ch->id) != 0 ||
	    tk_msg_get_bytes(ch->ans, TK_KEY_CHALLENGE, &ch->cdh, &len) != 0 ||
	    len != TK_FIDO2_CHALLENGE_BYTES ||
	    (ch->rp_id = tk_msg_get_text(ch->ans, TK_KEY_RP_ID)) == NULL ||
	    *ch->rp_id == '\0' ||
	    (uv = tk_msg_get_text(ch->ans, TK_KEY_UV)) == NULL ||
	    tk_msg_get_bool(ch->ans, TK_KEY_UP, &ch->up) != 0 ||
	    tk_msg_get_uint(ch->ans, TK_KEY_EXPIRES, &expires) != 0)
		return (TK_ERR_PROTO);
	if (strcmp(uv, "required") == 0)
		ch->uv = UV_REQUIRED;
	else if (strcmp(uv, "preferred") == 0)
		ch->uv = UV_PREFERRED;
	else if (strcmp(uv, "discouraged") == 0)
		ch->uv = UV_DISCOURAGED;
	else
		return (TK_ERR_PROTO);
	/* an "ok" names at least one credential, each non-empty */
	if ((n = tk_msg_count(ch->ans, TK_KEY_CRED_IDS)) == 0)
		return (TK_ERR_PROTO);
	for (i = 0; i < n; i++)
		if ((rec = tk_msg_record(ch->ans, TK_KEY_CRED_IDS, i)) ==
		    NULL || tk_msg_get_bytes(rec, TK_KEY_CRED_ID, &p,
		    &len) != 0 || len == 0)
			return (TK_ERR_PROTO);
	/*
	 * EXPIRES is tokend's UNIX time; count down on the monotonic
	 * clock.  When it is already past here, the two clocks differ:
	 * wait a short while anyway, tokend decides at FIDO2_FINISH.
	 */
	if (expires > now_unix + CHALLENGE_MAX_MS / MS_PER_S)
		expires = now_unix + CHALLENGE_MAX_MS / MS_PER_S;
	left = expires > now_unix ?
	    (int64_t)(expires - now_unix) * MS_PER_S : 0;
	if (left < CHALLENGE_SKEW_MS) {
		tk_log(LOG_NOTICE, "FIDO2 challenge ends in %lld ms: is the "
		    "clock of this host behind tokend's?", (long long)left);
		left = CHALLENGE_SKEW_MS;
	}
	ch->end_ms = now_ms() + left;
	return (0);
}

/*
 * FIDO2_BEGIN.  Returns 0 with *ch filled, or 0 with *done set and
 * tokend's refusal in *out, or a negative TK_ERR_*.
 */
static int
begin(const struct tk_login *l, struct challenge *ch,
    struct tk_pam_outcome *out, bool *done)
{
	tk_msg_t *req = NULL;
	enum tk_status st;
	uint64_t wait;
	time_t t;
	int r;

	challenge_clear(ch);
	*done = false;
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_BEGIN)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(req, TK_KEY_USER, l->user)) != 0 ||
	    (r = tk_login_context(l, req)) != 0 ||
	    (r = tk_login_call(l, req, &ch->ans)) != 0)
		goto fail;
	if ((st = tk_msg_status(ch->ans)) != TK_ST_OK) {
		out->status = st;
		if (st == TK_ST_THROTTLED &&
		    tk_msg_get_uint(ch->ans, TK_KEY_RETRY_AFTER, &wait) == 0)
			out->retry_after = wait;
		*done = true;
		r = 0;
		goto fail;
	}
	t = time(NULL);
	if ((r = challenge_read(ch, t > 0 ? (uint64_t)t : 0)) != 0) {
		tk_log(LOG_ERR, "FIDO2_BEGIN answer lacks what a login "
		    "needs");
		goto fail;
	}
	tk_log(LOG_DEBUG, "%s: user %s: challenge %llu, %zu credential(s), "
	    "uv %d, up %d", __func__, l->user, (unsigned long long)ch->id,
	    tk_msg_count(ch->ans, TK_KEY_CRED_IDS), (int)ch->uv, (int)ch->up);
	tk_msg_free(&req);
	return (0);
 fail:
	tk_msg_free(&req);
	challenge_clear(ch);
	return (r);
}

/*
 * FIDO2_FINISH with the assertion; tokend's verdict becomes out->status.
 * Returns 0 or a negative TK_ERR_*.
 */
static int
finish(const struct tk_login *l, const struct challenge *ch,
    const fido_assert_t *a, struct tk_pam_outcome *out)
{
	tk_msg_t *req = NULL, *ans = NULL;
	const tk_msg_t *rec;
	const unsigned char *id, *ad;
	size_t idlen, adlen;
	uint64_t wait;
	int r;

	if (fido_assert_count(a) < 1 || fido_assert_sig_len(a, 0) == 0 ||
	    fido_assert_sig_len(a, 0) > TK_FIDO2_SIG_MAX ||
	    tk_fido2_authdata_raw(fido_assert_authdata_ptr(a, 0),
	    fido_assert_authdata_len(a, 0), &ad, &adlen) != 0) {
		tk_log(LOG_ERR, "the security key's assertion is malformed");
		r = TK_PAM_ERR_KEY;
		goto fail;
	}
	/* a key may leave out the credential when the list had only one */
	id = fido_assert_id_ptr(a, 0);
	idlen = fido_assert_id_len(a, 0);
	if ((id == NULL || idlen == 0) &&
	    tk_msg_count(ch->ans, TK_KEY_CRED_IDS) == 1 &&
	    (rec = tk_msg_record(ch->ans, TK_KEY_CRED_IDS, 0)) != NULL &&
	    tk_msg_get_bytes(rec, TK_KEY_CRED_ID, &id, &idlen) != 0)
		idlen = 0;
	if (id == NULL || idlen == 0 || idlen > TK_FIDO2_CRED_ID_MAX) {
		tk_log(LOG_ERR, "the security key named no credential");
		r = TK_PAM_ERR_KEY;
		goto fail;
	}
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_FINISH)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(req, TK_KEY_USER, l->user)) != 0 ||
	    (r = tk_msg_set_uint(req, TK_KEY_CHALLENGE_ID, ch->id)) != 0 ||
	    (r = tk_msg_set_bytes(req, TK_KEY_CRED_ID, id, idlen)) != 0 ||
	    (r = tk_msg_set_bytes(req, TK_KEY_AUTHDATA, ad, adlen)) != 0 ||
	    (r = tk_msg_set_bytes(req, TK_KEY_SIG, fido_assert_sig_ptr(a, 0),
	    fido_assert_sig_len(a, 0))) != 0 ||
	    (r = tk_login_context(l, req)) != 0)
		goto fail;
	tk_log(LOG_DEBUG, "%s: user %s: verifying an assertion", __func__,
	    l->user);
	if ((r = tk_login_call(l, req, &ans)) != 0)
		goto fail;
	out->status = tk_msg_status(ans);
	if (out->status == TK_ST_THROTTLED &&
	    tk_msg_get_uint(ans, TK_KEY_RETRY_AFTER, &wait) == 0)
		out->retry_after = wait;

	r = 0; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (r);
}

/* --- the keys --- */

static void
keys_close(struct keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		(void)fido_dev_close(k->dev[i]);
		fido_dev_free(&k->dev[i]);
		free(k->path[i]);
		k->path[i] = NULL;
	}
	k->n = 0;
}

/* Keeps only key i open, as k->dev[0]. */
static void
keys_keep(struct keys *k, size_t keep)
{
	fido_dev_t *d;
	char *path;
	size_t i;

	d = k->dev[keep];
	path = k->path[keep];
	for (i = 0; i < k->n; i++) {
		if (i == keep)
			continue;
		(void)fido_dev_close(k->dev[i]);
		fido_dev_free(&k->dev[i]);
		free(k->path[i]);
		k->path[i] = NULL;
	}
	k->dev[0] = d;
	k->path[0] = path;
	k->n = 1;
}

/*
 * Opens every key plugged in now (at most KEYS_MAX), each open bounded
 * by DEV_OP_MS.  A key that cannot be opened is logged and left out.
 * Returns 0 or TK_ERR_NOMEM.
 */
static int
keys_scan(struct keys *k)
{
	fido_dev_info_t *list = NULL;
	const fido_dev_info_t *di;
	const char *path;
	fido_dev_t *d;
	size_t i, found = 0;
	int fr, r;

	k->n = 0;
	if ((list = fido_dev_info_new(MANIFEST_MAX)) == NULL)
		return (TK_ERR_NOMEM);
	if ((fr = fido_dev_info_manifest(list, MANIFEST_MAX,
	    &found)) != FIDO_OK) {
		tk_log(LOG_DEBUG, "%s: fido_dev_info_manifest: %s", __func__,
		    fido_strerr(fr));
		found = 0;
	}
	for (i = 0; i < found && k->n < KEYS_MAX; i++) {
		if ((di = fido_dev_info_ptr(list, i)) == NULL ||
		    (path = fido_dev_info_path(di)) == NULL)
			continue;
		if ((d = fido_dev_new()) == NULL ||
		    (k->path[k->n] = strdup(path)) == NULL) {
			fido_dev_free(&d);
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if ((fr = fido_dev_set_timeout(d, DEV_OP_MS)) != FIDO_OK ||
		    (fr = fido_dev_open(d, path)) != FIDO_OK) {
			tk_log(LOG_NOTICE, "cannot open security key %s: %s",
			    path, fido_strerr(fr));
			fido_dev_free(&d);
			free(k->path[k->n]);
			k->path[k->n] = NULL;
			continue;
		}
		tk_log(LOG_DEBUG, "%s: key %s: fido2 %d, pin %d, uv %d",
		    __func__, path, (int)fido_dev_is_fido2(d),
		    (int)fido_dev_has_pin(d), (int)fido_dev_has_uv(d));
		k->dev[k->n++] = d;
	}

	r = 0; /* success */
 fail:
	if (r != 0)
		keys_close(k);
	fido_dev_info_free(&list, MANIFEST_MAX);
	return (r);
}

/*
 * Waits for at least one key: looks every POLL_MS until fido2_wait has
 * passed or the challenge is about to end.  Returns 0 with k->n > 0,
 * TK_PAM_ERR_NOKEY, or TK_ERR_NOMEM.
 */
static int
keys_wait(const struct tk_login *l, const struct challenge *ch,
    struct keys *k)
{
	int64_t deadline, left, wait_ms;
	bool told = false;
	int r;

	wait_ms = (int64_t)l->conf->fido2_wait * MS_PER_S;
	left = challenge_left(ch) - FINISH_MARGIN_MS;
	if (wait_ms > left)
		wait_ms = left;
	deadline = now_ms() + wait_ms;
	for (;;) {
		if ((r = keys_scan(k)) != 0)
			return (r);
		if (k->n > 0)
			return (0);
		if (now_ms() >= deadline)
			break;
		if (!told) {
			inform(l, _("Insert your security key"));
			told = true;
		}
		left = deadline - now_ms();
		sleep_ms(left < POLL_MS ? left : POLL_MS);
	}
	tk_log(LOG_NOTICE, "user %s: no security key within %u s", l->user,
	    l->conf->fido2_wait);
	return (TK_PAM_ERR_NOKEY);
}

/*
 * A new assertion request for the challenge: its RP ID, client data
 * hash (the challenge itself) and allow list.  Returns NULL when out of
 * memory or when libfido2 refuses a value.
 */
static fido_assert_t *
assert_new(const struct challenge *ch, fido_opt_t up, fido_opt_t uv)
{
	fido_assert_t *a;
	const tk_msg_t *rec;
	const unsigned char *id;
	size_t i, n, idlen;

	if ((a = fido_assert_new()) == NULL)
		return (NULL);
	if (fido_assert_set_rp(a, ch->rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(a, ch->cdh,
	    TK_FIDO2_CHALLENGE_BYTES) != FIDO_OK ||
	    fido_assert_set_up(a, up) != FIDO_OK ||
	    fido_assert_set_uv(a, uv) != FIDO_OK)
		goto fail;
	n = tk_msg_count(ch->ans, TK_KEY_CRED_IDS);
	for (i = 0; i < n; i++)
		if ((rec = tk_msg_record(ch->ans, TK_KEY_CRED_IDS, i)) ==
		    NULL || tk_msg_get_bytes(rec, TK_KEY_CRED_ID, &id,
		    &idlen) != 0 ||
		    fido_assert_allow_cred(a, id, idlen) != FIDO_OK)
			goto fail;
	return (a);
 fail:
	fido_assert_free(&a);
	return (NULL);
}

/*
 * Asks each key, without touch or PIN, whether it holds one of the
 * listed credentials.  Returns the index of the first key that does;
 * else of the first key whose answer was not "no credentials" (let the
 * real request say what is wrong with it); else -1.  TK_ERR_NOMEM as
 * -2.
 */
static int
keys_pick(const struct challenge *ch, const struct keys *k)
{
	fido_assert_t *a;
	size_t i;
	int fr, unsure = -1;

	for (i = 0; i < k->n; i++) {
		if ((a = assert_new(ch, FIDO_OPT_FALSE, FIDO_OPT_OMIT)) ==
		    NULL)
			return (-2);
		if ((fr = fido_dev_set_timeout(k->dev[i],
		    DEV_OP_MS)) == FIDO_OK)
			fr = fido_dev_get_assert(k->dev[i], a, NULL);
		fido_assert_free(&a);
		tk_log(LOG_DEBUG, "%s: key %zu: %s", __func__, i,
		    fido_strerr(fr));
		if (fr == FIDO_OK)
			return ((int)i);
		if (fr != FIDO_ERR_NO_CREDENTIALS && unsure == -1)
			unsure = (int)i;
	}
	return (unsure);
}

/*
 * Asks the key's PIN.  Returns 0 with *pin (wipe it with
 * tk_strfreezero), TK_PAM_ERR_CONV, or TK_PAM_ERR_INPUT for an empty or
 * over-long answer.
 */
static int
ask_pin(const struct tk_login *l, char **pin)
{
	size_t len;
	int r;

	*pin = NULL;
	if ((r = tk_conv_prompt(l->pamh, _("Security key PIN: "), pin)) != 0)
		return (r);
	len = strnlen(*pin, PIN_MAX + 1);
	if (len == 0 || len > PIN_MAX) {
		tk_strfreezero(*pin);
		*pin = NULL;
		tell(l, _("That is not a PIN: it must be 1 to 63 characters."));
		return (TK_PAM_ERR_INPUT);
	}
	return (0);
}

/* true when the key's answer is one of those meaning "not touched" */
static bool
touch_timeout(int fr)
{
	return (fr == FIDO_ERR_ACTION_TIMEOUT ||
	    fr == FIDO_ERR_USER_ACTION_TIMEOUT || fr == FIDO_ERR_TIMEOUT);
}

/* true when libfido2 lost the key: unplugged, or stopped answering */
static bool
key_gone(int fr)
{
	return (fr == FIDO_ERR_TX || fr == FIDO_ERR_RX ||
	    fr == FIDO_ERR_RX_NOT_CBOR || fr == FIDO_ERR_RX_INVALID_CBOR);
}

/*
 * Whether the key at `path' is still plugged in.  libfido2 reports a key
 * pulled out half-way through a PIN exchange as an internal error, so
 * the list of keys tells.
 */
static bool
key_listed(const char *path)
{
	fido_dev_info_t *list;
	const fido_dev_info_t *di;
	const char *p;
	size_t i, found = 0;
	bool seen = false;

	if ((list = fido_dev_info_new(MANIFEST_MAX)) == NULL)
		return (true);		/* cannot tell: not "removed" */
	if (fido_dev_info_manifest(list, MANIFEST_MAX, &found) != FIDO_OK)
		found = 0;
	for (i = 0; i < found && !seen; i++)
		if ((di = fido_dev_info_ptr(list, i)) != NULL &&
		    (p = fido_dev_info_path(di)) != NULL &&
		    strcmp(p, path) == 0)
			seen = true;
	fido_dev_info_free(&list, MANIFEST_MAX);
	return (seen);
}

/* After a wrong PIN: tells how many tries the key has left. */
static bool
pin_wrong(const struct tk_login *l, fido_dev_t *dev)
{
	char msg[MESSAGE_MAX];
	int left = -1, n;

	if (fido_dev_set_timeout(dev, DEV_OP_MS) != FIDO_OK ||
	    fido_dev_get_retry_count(dev, &left) != FIDO_OK)
		left = -1;
	if (left == 0) {
		tell(l, _("The security key's PIN is blocked. Contact your "
		    "administrator."));
		return (false);
	}
	if (left < 0) {
		tell(l, _("Wrong PIN."));
		return (true);
	}
	n = snprintf(msg, sizeof(msg), _("Wrong PIN (attempts left: %d)."),
	    left);
	if (n > 0 && (size_t)n < sizeof(msg))
		tell(l, msg);
	return (true);
}

/*
 * The assertion: chooses how the key verifies the person, asks the PIN
 * when needed, waits for the touch, and handles what the key answers
 * (a wrong PIN may be typed again, at most PIN_PROMPTS_MAX times; a key
 * that wants a PIN it was not given gets it).  A challenge about to end
 * is replaced first.  Returns 0 with *ap, 0 with *done and tokend's
 * refusal in *out (a fresh FIDO2_BEGIN refused), or TK_PAM_ERR_KEY,
 * TK_PAM_ERR_CONV, TK_PAM_ERR_INPUT, a negative TK_ERR_*.
 */
static int
assertion(const struct tk_login *l, struct challenge *ch, fido_dev_t *dev,
    const char *path, fido_assert_t **ap, struct tk_pam_outcome *out,
    bool *done)
{
	fido_assert_t *a = NULL;
	enum uv_mode mode;
	char *pin = NULL;
	int64_t budget, start, touch_ms;
	bool has_pin, has_uv;
	int attempt, prompts = 0, fr, r;

	*ap = NULL;
	*done = false;
	has_pin = fido_dev_has_pin(dev);
	has_uv = fido_dev_has_uv(dev);
	if (ch->uv == UV_DISCOURAGED)
		mode = MODE_NONE;
	else if (has_uv)
		mode = MODE_BUILTIN;
	else if (has_pin)
		mode = MODE_PIN;
	else if (ch->uv == UV_PREFERRED)
		mode = MODE_NONE;
	else {
		tk_log(LOG_NOTICE, "user %s: security key has no PIN and no "
		    "built-in user verification", l->user);
		tell(l, _("This security key has no PIN and no built-in user "
		    "verification, which this login needs. Contact your "
		    "administrator."));
		r = TK_PAM_ERR_KEY;
		goto fail;
	}
	touch_ms = l->conf->fido2_wait > 0 ?
	    (int64_t)l->conf->fido2_wait * MS_PER_S : TOUCH_NOWAIT_MS;

	for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
		if (mode == MODE_PIN && pin == NULL) {
			if (prompts == PIN_PROMPTS_MAX) {
				tell(l, _("Too many wrong PINs."));
				r = TK_PAM_ERR_KEY;
				goto fail;
			}
			prompts++;
			if ((r = ask_pin(l, &pin)) != 0)
				goto fail;
		}
		/* the PIN prompt may have taken long */
		if (challenge_left(ch) < CHALLENGE_MIN_MS + FINISH_MARGIN_MS) {
			tk_log(LOG_DEBUG, "%s: challenge about to end: a "
			    "fresh one", __func__);
			if ((r = begin(l, ch, out, done)) != 0 || *done)
				goto fail;
		}
		fido_assert_free(&a);
		if ((a = assert_new(ch, ch->up ? FIDO_OPT_TRUE :
		    FIDO_OPT_FALSE, mode == MODE_BUILTIN ? FIDO_OPT_TRUE :
		    FIDO_OPT_OMIT)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		budget = challenge_left(ch) - FINISH_MARGIN_MS;
		if (budget > touch_ms)
			budget = touch_ms;
		if (ch->up && l->conf->cue)
			inform(l, _("Touch your security key"));
		start = now_ms();
		if ((fr = fido_dev_set_timeout(dev, ms_int(budget))) ==
		    FIDO_OK)
			fr = fido_dev_get_assert(dev, a, pin);
		/* MUST 3: the key has had it */
		tk_strfreezero(pin);
		pin = NULL;
		tk_log(LOG_DEBUG, "%s: attempt %d: %s after %lld ms", __func__,
		    attempt + 1, fido_strerr(fr), (long long)(now_ms() - start));
		if (fr == FIDO_OK) {
			*ap = a;
			a = NULL;
			r = 0;
			goto fail;
		}
		/* libfido2 reports its own deadline as a read error */
		if (fr == FIDO_ERR_RX && now_ms() - start >= budget - POLL_MS)
			fr = FIDO_ERR_ACTION_TIMEOUT;
		tk_log(LOG_NOTICE, "user %s: security key: %s", l->user,
		    fido_strerr(fr));
		switch (fr) {
		case FIDO_ERR_PIN_INVALID:
			if (mode != MODE_PIN)
				break;
			if (pin_wrong(l, dev))
				continue;	/* asks again, bounded */
			r = TK_PAM_ERR_KEY;	/* blocked: already said */
			goto fail;
		case FIDO_ERR_PIN_REQUIRED:
		case FIDO_ERR_UV_INVALID:
		case FIDO_ERR_UV_BLOCKED:
			/* built-in verification failed, or none was given */
			if (mode != MODE_PIN && has_pin) {
				if (fr != FIDO_ERR_PIN_REQUIRED)
					tell(l, _("User verification on the "
					    "security key failed; use its PIN "
					    "instead."));
				mode = MODE_PIN;
				continue;
			}
			if (fr == FIDO_ERR_PIN_REQUIRED && !has_pin)
				tell(l, _("This security key needs a PIN, but "
				    "none is set. Contact your "
				    "administrator."));
			else
				tell(l, _("User verification on the security "
				    "key failed."));
			r = TK_PAM_ERR_KEY;
			goto fail;
		case FIDO_ERR_PIN_BLOCKED:
			tell(l, _("The security key's PIN is blocked. Contact "
			    "your administrator."));
			r = TK_PAM_ERR_KEY;
			goto fail;
		case FIDO_ERR_PIN_AUTH_BLOCKED:
			tell(l, _("Too many wrong PINs: remove and reinsert "
			    "the security key, or contact your "
			    "administrator."));
			r = TK_PAM_ERR_KEY;
			goto fail;
		case FIDO_ERR_NO_CREDENTIALS:
		case FIDO_ERR_INVALID_CREDENTIAL:
			tell(l, _("This security key is not registered for "
			    "you."));
			r = TK_PAM_ERR_KEY;
			goto fail;
		default:
			break;
		}
		if (touch_timeout(fr)) {
			/* stop the blinking; bounded like any request */
			if (fido_dev_set_timeout(dev, DEV_OP_MS) == FIDO_OK)
				(void)fido_dev_cancel(dev);
			tell(l, _("No touch: timed out."));
		} else if (key_gone(fr) || !key_listed(path))
			tell(l, _("The security key was removed or stopped "
			    "answering."));
		else
			tell(l, _("The security key failed."));
		r = TK_PAM_ERR_KEY;
		goto fail;
	}
	tell(l, _("Too many wrong PINs."));
	r = TK_PAM_ERR_KEY;
 fail:
	tk_strfreezero(pin);
	fido_assert_free(&a);
	return (r);
}

void
tk_fido2_login(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback)
{
	struct challenge ch;
	struct keys k;
	fido_assert_t *a = NULL;
	bool done;
	int pick, r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;
	out->recovery_left = -1;
	out->factor = TK_FACTOR_FIDO2;
	*fallback = false;
	memset(&ch, 0, sizeof(ch));
	memset(&k, 0, sizeof(k));
	(void)pthread_once(&fido_once, fido_setup);

	if ((r = begin(l, &ch, out, &done)) != 0)
		goto fail;
	if (done) {
		/* no FIDO2 credential after all: the next factor may do */
		*fallback = out->status == TK_ST_NOT_ENROLLED;
		goto fail;
	}
	if ((r = keys_wait(l, &ch, &k)) != 0) {
		if (r == TK_PAM_ERR_NOKEY) {
			tell(l, _("No security key found."));
			*fallback = true;
		}
		goto fail;
	}
	if ((pick = keys_pick(&ch, &k)) == -2) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if (pick < 0) {
		tk_log(LOG_NOTICE, "user %s: no security key holds a listed "
		    "credential", l->user);
		tell(l, _("This security key is not registered for you."));
		r = TK_PAM_ERR_KEY;
		*fallback = true;
		goto fail;
	}
	keys_keep(&k, (size_t)pick);
	if ((r = assertion(l, &ch, k.dev[0], k.path[0], &a, out,
	    &done)) != 0) {
		*fallback = r == TK_PAM_ERR_KEY || r == TK_PAM_ERR_INPUT;
		goto fail;
	}
	if (done) {
		*fallback = out->status == TK_ST_NOT_ENROLLED;
		goto fail;
	}
	keys_close(&k);
	/* from here on, tokend's verdict is final (no fallback) */
	r = finish(l, &ch, a, out);
 fail:
	out->err = r;
	fido_assert_free(&a);
	keys_close(&k);
	challenge_clear(&ch);
}
