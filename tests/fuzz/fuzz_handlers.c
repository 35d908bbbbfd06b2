/*
 * fuzz_handlers.c -- libFuzzer harness of tokend's request path:
 * arbitrary request bytes go through the daemon's own decode
 * (tk_msg_decode, or tk_dispatch_error when it fails), role check and
 * dispatch (tk_dispatch) into the real handlers, over a real SQLite
 * store and a fixed master key.
 *
 * Every input starts from the same small dataset (fuzz_dataset.h),
 * made once per process: TOTP credentials with fixed secrets (one
 * pending, one of a locked user), recovery codes, two grants.  The
 * input is a sequence of requests (format in fuzz_dataset.h), each
 * sent by a peer and at a clock the input chooses.  The request type
 * is whatever the input names, the harness links libtokend.la as
 * built, and the role oracle reads tokend's dispatch table
 * (tk_dispatch_lookup): a handler added to the table is fuzzed with no
 * change here.
 *
 * Oracles (any breach aborts, which libFuzzer reports as a crash):
 *  - TOTP_VERIFY answers OK only for a code that the harness, with
 *    liboath and the secrets it knows, finds valid for that credential
 *    of that user at that clock, at a step later than any step the
 *    credential accepted before, the credential active and the user
 *    not locked before the request; or, for a recovery code, one of
 *    the user's codes not used yet.
 *  - TOTP_ENROLL_CONFIRM answers OK only for a pending credential,
 *    not expired, and a code valid for its secret (known from the
 *    dataset or read back from the ENROLL_BEGIN answer's URI).
 *  - GRANT_USE answers GRANTED only when the user had an active grant
 *    ending after the clock and was not locked.
 *  - FIDO2_FINISH never answers OK: no input can hold a signature made
 *    with a private key, because the harness never has one.
 *  - A peer of no role is refused every request; a self peer is
 *    refused every request its role may not send.
 *  - Every answer has the request's type, encodes within TK_FRAME_MAX
 *    and decodes again as an answer.
 *  - After every input the audit chain verifies.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "audit.h"
#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "err.h"
#include "fuzz_dataset.h"
#include "log.h"
#include "msg.h"
#include "recovery.h"
#include "seal.h"
#include "store.h"
#include "wipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_CREDS	64		/* credentials the oracle tracks */
#define MAX_CODES	64		/* recovery codes the oracle tracks */
#define SECRET_MAX	64

/* what the oracle knows about one TOTP credential */
struct fz_cred {
	uint64_t	 id;
	char		 user[TK_USER_MAX + 1];
	unsigned char	 secret[SECRET_MAX];
	size_t		 secret_len;
	int		 alg;
	unsigned	 digits;
	uint64_t	 last_step;	/* highest step answered OK, 0 = none */
};

struct fz_code {
	char		 user[TK_USER_MAX + 1];
	char		 norm[TK_RECOVERY_CHARS + 1];
	bool		 used;
};

struct fz_oracle {
	struct fz_cred	 creds[MAX_CREDS];
	size_t		 ncreds;
	struct fz_code	 codes[MAX_CODES];
	size_t		 ncodes;
};

static char dir[PATH_MAX], db[PATH_MAX], backup[PATH_MAX];
static unsigned char *pristine;		/* the dataset's database file */
static size_t pristine_len;
static tk_master_key_t *key;
static unsigned char audit_key[TK_AUDIT_KEY_BYTES];
static struct tk_conf conf;
static struct tk_peer peers[FZ_NPEERS];
static struct fz_oracle seeded;		/* the oracle's view of the dataset */
static int64_t fz_now = FZ_T0;
static bool trace;			/* FUZZ_TRACE=1: one line a request */

static void die(const char *what) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_handlers: %s\n", what);
	abort();
}

static void
quiet(void *arg, int priority, const char *fmt, va_list ap)
{
	(void)arg;
	(void)priority;
	(void)fmt;
	(void)ap;
}

static int
fz_clock(void *arg, int64_t *now)
{
	(void)arg;
	*now = fz_now;
	return (0);
}

static void
path_join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", a, b);

	if (n < 0 || n >= PATH_MAX)
		die("path too long");
}

static void
peer_set(enum fz_peer i, uid_t uid, enum tk_role role, const char *user)
{
	peers[i].uid = uid;
	peers[i].gid = uid;
	peers[i].pid = 4242;
	peers[i].role = role;
	snprintf(peers[i].user, sizeof(peers[i].user), "%s", user);
}

/* --- the oracle's own TOTP (liboath) ---------------------------------- */

static bool
code_valid_at(const struct fz_cred *c, uint64_t step, const char *code)
{
	char cand[16];
	int flags = c->alg == TK_TOTP_SHA256 ? OATH_TOTP_HMAC_SHA256 :
	    c->alg == TK_TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512 : 0;

	if (oath_totp_generate2((const char *)c->secret, c->secret_len,
	    (time_t)(step * FZ_PERIOD), FZ_PERIOD, 0, c->digits, flags,
	    cand) != OATH_OK)
		die("liboath cannot make a code");
	return (strcmp(cand, code) == 0);
}

/*
 * The highest step in the window around now at which `code' is valid
 * for c and later than c->last_step, or 0 when there is none.
 */
static uint64_t
code_fresh_step(const struct fz_cred *c, const char *code, int64_t now)
{
	uint64_t t = (uint64_t)now / FZ_PERIOD, w = conf.totp_window, s, best;

	best = 0;
	for (s = t - w; s <= t + w; s++)
		if (s > c->last_step && code_valid_at(c, s, code))
			best = s;
	return (best);
}

static struct fz_cred *
cred_find(struct fz_oracle *o, uint64_t id)
{
	size_t i;

	for (i = 0; i < o->ncreds; i++)
		if (o->creds[i].id == id)
			return (&o->creds[i]);
	return (NULL);
}

static struct fz_cred *
cred_add(struct fz_oracle *o, uint64_t id, const char *user)
{
	struct fz_cred *c;

	if (o->ncreds == MAX_CREDS)
		return (NULL);
	c = &o->creds[o->ncreds++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	snprintf(c->user, sizeof(c->user), "%s", user);
	return (c);
}

static int
b32_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return (ch - 'A');
	if (ch >= '2' && ch <= '7')
		return (ch - '2' + 26);
	return (-1);
}

/* the secret of an otpauth URI (unpadded base32), and its parameters */
static bool
uri_parse(const char *uri, struct fz_cred *c)
{
	const char *p, *q;
	unsigned bits = 0, acc = 0;
	int v;

	if ((p = strstr(uri, "secret=")) == NULL)
		return (false);
	c->secret_len = 0;
	for (p += 7; *p != '\0' && *p != '&'; p++) {
		if ((v = b32_value(*p)) < 0)
			return (false);
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			if (c->secret_len == SECRET_MAX)
				return (false);
			c->secret[c->secret_len++] =
			    (unsigned char)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	c->digits = (q = strstr(uri, "digits=")) != NULL &&
	    q[7] == '8' ? 8 : 6;
	c->alg = strstr(uri, "algorithm=SHA512") != NULL ? TK_TOTP_SHA512 :
	    strstr(uri, "algorithm=SHA256") != NULL ? TK_TOTP_SHA256 :
	    TK_TOTP_SHA1;
	return (c->secret_len > 0);
}

/* --- the dataset ------------------------------------------------------ */

static void
seed_totp(tk_store_t *st, const struct fz_totp_seed *s)
{
	struct tk_cred c;
	struct fz_cred *fc;
	unsigned char *blob = NULL;
	size_t blob_len = 0, len = strlen(s->secret);

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", s->user);
	c.kind = TK_CRED_TOTP;
	c.state = TK_CRED_PENDING;
	snprintf(c.label, sizeof(c.label), "seed");
	c.created = FZ_T0 - 1000;
	c.expires = FZ_T0 + 900;
	c.digits = s->digits;
	c.algorithm = s->alg;
	c.period = FZ_PERIOD;
	c.key_id = tk_master_key_id(key);
	if (tk_store_cred_insert(st, &c) != 0 ||
	    tk_seal(key, c.user, c.id, (const unsigned char *)s->secret, len,
	    &blob, &blob_len) != 0 ||
	    tk_store_cred_set_secret(st, c.id, c.key_id, blob, blob_len) != 0 ||
	    (!s->pending && tk_store_cred_set_state(st, c.user, c.id,
	    TK_CRED_ACTIVE) != 0))
		die("cannot seed a TOTP credential");
	free(blob);
	if ((fc = cred_add(&seeded, c.id, s->user)) == NULL ||
	    len > SECRET_MAX)
		die("oracle table full");
	memcpy(fc->secret, s->secret, len);
	fc->secret_len = len;
	fc->alg = s->alg;
	fc->digits = s->digits;
	tk_cred_clear(&c);
}

static void
seed_recovery(tk_store_t *st, const char *user)
{
	unsigned char hashes[FZ_NRECOVERY][TK_RECOVERY_HASH_BYTES];
	size_t i, n = 0;

	for (i = 0; i < FZ_NRECOVERY; i++) {
		if (strcmp(fz_recovery_seeds[i].user, user) != 0)
			continue;
		if (tk_recovery_hash(key, user, fz_recovery_seeds[i].norm,
		    hashes[n]) != 0)
			die("cannot hash a recovery code");
		n++;
		snprintf(seeded.codes[seeded.ncodes].user, TK_USER_MAX + 1,
		    "%s", user);
		snprintf(seeded.codes[seeded.ncodes].norm,
		    TK_RECOVERY_CHARS + 1, "%s", fz_recovery_seeds[i].norm);
		seeded.ncodes++;
	}
	if (tk_store_recovery_replace(st, user,
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])hashes, n,
	    FZ_T0 - 500) != 0)
		die("cannot seed recovery codes");
}

static void
seed_grant(tk_store_t *st, const char *user, int64_t expires)
{
	struct tk_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.user, sizeof(g.user), "%s", user);
	g.created = FZ_T0 - 100;
	g.expires = expires;
	g.granted_by = 0;
	g.state = TK_GRANT_ACTIVE;
	snprintf(g.reason, sizeof(g.reason), "fuzz");
	if (tk_store_grant_insert(st, &g) != 0)
		die("cannot seed a grant");
}

static void
seed(void)
{
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_daemon d;
	tk_store_t *st = NULL;
	size_t i;

	if (tk_store_open_sqlite(db, audit_key, sizeof(audit_key), &st) != 0)
		die("cannot open the store");
	if (tk_daemon_init(&d, &conf, st, key) != 0)
		die("tk_daemon_init");
	tk_daemon_set_clock(&d, fz_clock, NULL);
	if (tk_store_begin(st) != 0)
		die("begin");
	for (i = 0; i < FZ_NTOTP; i++)
		seed_totp(st, &fz_totp_seeds[i]);
	seed_recovery(st, "bob");
	seed_recovery(st, "frank");
	seed_grant(st, "carol", FZ_GRANT_CAROL_EXPIRES);
	seed_grant(st, "frank", FZ_GRANT_FRANK_EXPIRES);
	memset(&th, 0, sizeof(th));
	snprintf(th.user, sizeof(th.user), "erin");
	th.failures = conf.max_failures;
	th.last_failure = FZ_T0 - 30;
	th.locked = true;
	if (tk_store_throttle_put(st, &th) != 0)
		die("cannot lock erin");
	tk_audit_event_init(&ev, &d, &peers[FZ_PEER_ROOT], "fuzz_seed",
	    NULL, FZ_T0 - 1000);
	ev.result = "ok";
	if (tk_audit_append(&d, &ev) != 0 || tk_store_commit(st) != 0)
		die("cannot commit the dataset");
	tk_store_close(&st);
}

/* reads the whole file at path into a malloc'd buffer */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) != 0 || sb.st_size <= 0 ||
	    (buf = malloc((size_t)sb.st_size)) == NULL ||
	    read(fd, buf, (size_t)sb.st_size) != sb.st_size)
		die("cannot read the dataset");
	close(fd);
	*len = (size_t)sb.st_size;
	return (buf);
}

static void
cleanup(void)
{
	char p[PATH_MAX];

	(void)unlink(db);
	path_join(p, dir, "tokend.db-wal");
	(void)unlink(p);
	path_join(p, dir, "tokend.db-shm");
	(void)unlink(p);
	path_join(p, dir, "master.key");
	(void)unlink(p);
	(void)unlink(backup);
	(void)rmdir(dir);
}

static void
init(void)
{
	unsigned char raw[TK_MASTER_KEY_BYTES];
	char err[256], keypath[PATH_MAX];
	const char *tmp;
	int fd;

	if (sodium_init() < 0 || oath_init() != OATH_OK)
		die("sodium_init or oath_init");
	tk_log_to_function(quiet, NULL);
	trace = getenv("FUZZ_TRACE") != NULL;
	/* a tmpfs when there is one: the store syncs every commit */
	if ((tmp = getenv("FUZZ_TMPDIR")) == NULL || *tmp == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	path_join(dir, tmp, "tk-fuzz-handlers.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	path_join(db, dir, "tokend.db");
	path_join(backup, dir, "backup.db");
	path_join(keypath, dir, "master.key");

	/* a fixed master key: the same sealing in every process */
	memset(raw, 0x5a, sizeof(raw));
	if ((fd = open(keypath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0400)) == -1 || write(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw) ||
	    close(fd) != 0)
		die("cannot write the master key");
	if (tk_master_key_load(keypath, &key, err, sizeof(err)) != 0 ||
	    tk_master_key_derive(key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key) != 0)
		die("cannot load the master key");

	if (tk_conf_init(&conf) != 0)
		die("tk_conf_init");
	conf.totp_window = 1;
	conf.max_failures = 5;
	conf.delay_base = 1;
	conf.delay_max = 30;
	conf.totp_pending_ttl = 900;
	conf.grant_max_duration = 86400;

	peer_set(FZ_PEER_ROOT, 0, TK_ROLE_ROOT, "root");
	peer_set(FZ_PEER_ADMIN, 1001, TK_ROLE_ADMIN, "admin");
	peer_set(FZ_PEER_ALICE, 1002, TK_ROLE_SELF, "alice");
	peer_set(FZ_PEER_BOB, 1003, TK_ROLE_SELF, "bob");
	peer_set(FZ_PEER_CAROL, 1004, TK_ROLE_SELF, "carol");
	peer_set(FZ_PEER_NONE, 65534, TK_ROLE_NONE, "nobody");

	fz_now = FZ_T0;
	seed();
	pristine = slurp(db, &pristine_len);
}

/* puts the dataset's database back and opens it */
static tk_store_t *
reset(void)
{
	char p[PATH_MAX];
	tk_store_t *st = NULL;
	int fd;

	path_join(p, dir, "tokend.db-wal");
	(void)unlink(p);
	path_join(p, dir, "tokend.db-shm");
	(void)unlink(p);
	(void)unlink(backup);
	if ((fd = open(db, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 ||
	    write(fd, pristine, pristine_len) != (ssize_t)pristine_len ||
	    close(fd) != 0)
		die("cannot reset the database");
	if (tk_store_open_sqlite(db, audit_key, sizeof(audit_key), &st) != 0)
		die("cannot reopen the store");
	return (st);
}

/* --- the oracles ------------------------------------------------------ */

/* what the store said about the request's user before the request */
struct before {
	bool		 locked;
	bool		 grant;		/* an active grant ending after now */
	int		 cred_state;	/* of TK_KEY_CRED, 0 = none */
	int64_t		 cred_expires;
	char		 cred_user[TK_USER_MAX + 1];
};

static void
look_before(tk_store_t *st, const tk_msg_t *rq, int64_t now,
    struct before *b)
{
	struct tk_throttle th;
	struct tk_grant g;
	struct tk_cred c;
	const char *user = tk_msg_get_text(rq, TK_KEY_USER);
	uint64_t id;

	memset(b, 0, sizeof(*b));
	if (user == NULL || *user == '\0' || strlen(user) > TK_USER_MAX)
		return;
	if (tk_store_begin(st) != 0)
		die("begin (oracle)");
	memset(&th, 0, sizeof(th));
	if (tk_store_throttle_get(st, user, &th) != 0)
		die("throttle_get (oracle)");
	b->locked = th.locked;
	memset(&g, 0, sizeof(g));
	b->grant = tk_store_grant_active(st, user, &g) == 0 &&
	    g.state == TK_GRANT_ACTIVE && g.expires > now;
	if (tk_msg_get_uint(rq, TK_KEY_CRED, &id) == 0) {
		memset(&c, 0, sizeof(c));
		if (tk_store_cred_get(st, user, id, &c) == 0) {
			b->cred_state = c.state;
			b->cred_expires = c.expires;
			snprintf(b->cred_user, sizeof(b->cred_user), "%s",
			    c.user);
		}
		tk_cred_clear(&c);
	}
	tk_store_rollback(st);
}

static void
check_answer_shape(const tk_msg_t *an, uint32_t type)
{
	unsigned char *enc = NULL;
	size_t len = 0;
	tk_msg_t *again = NULL;

	if (an == NULL)
		die("no answer");
	if (type != 0 && tk_msg_type(an) != type)
		die("answer of another type");
	if (tk_msg_encode(an, &enc, &len) != 0)
		die("answer does not encode");
	if (len == 0 || len > TK_FRAME_MAX)
		die("answer over the frame limit");
	if (tk_msg_decode(enc, len, TK_DIR_ANSWER, &again) != 0)
		die("answer does not decode");
	tk_msg_free(&again);
	tk_freezero(enc, len);
}

static void
oracle_verify(struct fz_oracle *o, const tk_msg_t *rq, const tk_msg_t *an,
    const struct before *b, int64_t now)
{
	char norm[TK_RECOVERY_CHARS + 1];
	const char *user = tk_msg_get_text(rq, TK_KEY_USER);
	const char *code = tk_msg_get_text(rq, TK_KEY_CODE);
	struct fz_cred *c;
	uint64_t id, step, left;
	size_t i;

	if (tk_msg_status(an) != TK_ST_OK)
		return;
	if (user == NULL || code == NULL || b->locked)
		die("TOTP_VERIFY ok without a user, a code, or while locked");
	if (tk_msg_get_uint(an, TK_KEY_CRED, &id) == 0) {
		if ((c = cred_find(o, id)) == NULL ||
		    strcmp(c->user, user) != 0)
			die("TOTP_VERIFY ok for a credential not the user's");
		if ((step = code_fresh_step(c, code, now)) == 0)
			die("TOTP_VERIFY ok for an invalid or replayed code");
		c->last_step = step;
		return;
	}
	if (tk_msg_get_uint(an, TK_KEY_RECOVERY_LEFT, &left) != 0 ||
	    tk_recovery_normalize(code, norm) != 0)
		die("TOTP_VERIFY ok that is neither TOTP nor recovery");
	for (i = 0; i < o->ncodes; i++)
		if (!o->codes[i].used && strcmp(o->codes[i].user, user) == 0 &&
		    strcmp(o->codes[i].norm, norm) == 0) {
			o->codes[i].used = true;
			return;
		}
	die("recovery ok for a code that is not an unused code of the user");
}

static void
oracle_confirm(struct fz_oracle *o, const tk_msg_t *rq, const tk_msg_t *an,
    const struct before *b, int64_t now)
{
	const char *user = tk_msg_get_text(rq, TK_KEY_USER);
	const char *code = tk_msg_get_text(rq, TK_KEY_CODE);
	struct fz_cred *c;
	uint64_t id, step;

	if (tk_msg_status(an) != TK_ST_OK)
		return;
	if (user == NULL || code == NULL ||
	    tk_msg_get_uint(rq, TK_KEY_CRED, &id) != 0)
		die("ENROLL_CONFIRM ok without user, code or credential");
	if (b->cred_state != TK_CRED_PENDING || b->cred_expires <= now)
		die("ENROLL_CONFIRM ok for a credential not pending");
	if ((c = cred_find(o, id)) == NULL || strcmp(c->user, user) != 0)
		die("ENROLL_CONFIRM ok for a credential of unknown secret");
	if ((step = code_fresh_step(c, code, now)) == 0)
		die("ENROLL_CONFIRM ok for an invalid code");
	c->last_step = step;
}

/* learns the secret of a new pending credential from its URI */
static void
learn_enroll(struct fz_oracle *o, const tk_msg_t *an)
{
	const char *user = tk_msg_get_text(an, TK_KEY_USER);
	const char *uri = tk_msg_get_text(an, TK_KEY_URI);
	struct fz_cred *c;
	uint64_t id;

	if (tk_msg_status(an) != TK_ST_OK)
		return;
	if (user == NULL || uri == NULL ||
	    tk_msg_get_uint(an, TK_KEY_CRED, &id) != 0)
		die("ENROLL_BEGIN ok without user, URI or credential");
	if ((c = cred_add(o, id, user)) == NULL)
		return;		/* untracked: its confirm will abort */
	if (!uri_parse(uri, c))
		die("ENROLL_BEGIN URI without a secret");
}

/* learns the new recovery codes of a user (the old ones are void) */
static void
learn_recovery(struct fz_oracle *o, const tk_msg_t *rq, const tk_msg_t *an)
{
	const char *user = tk_msg_get_text(rq, TK_KEY_USER);
	const tk_msg_t *rec;
	char norm[TK_RECOVERY_CHARS + 1];
	size_t i, n;

	if (tk_msg_status(an) != TK_ST_OK || user == NULL)
		return;
	for (i = 0; i < o->ncodes; i++)
		if (strcmp(o->codes[i].user, user) == 0)
			o->codes[i].used = true;
	n = tk_msg_count(an, TK_KEY_CODES);
	for (i = 0; i < n && o->ncodes < MAX_CODES; i++) {
		rec = tk_msg_record(an, TK_KEY_CODES, i);
		if (tk_recovery_normalize(tk_msg_get_text(rec, TK_KEY_CODE),
		    norm) != 0)
			die("RECOVERY_ISSUE gave a malformed code");
		snprintf(o->codes[o->ncodes].user, TK_USER_MAX + 1, "%s",
		    user);
		memcpy(o->codes[o->ncodes].norm, norm, sizeof(norm));
		o->codes[o->ncodes].used = false;
		o->ncodes++;
	}
}

static void
oracle_role(enum fz_peer p, uint32_t type, const tk_msg_t *rq,
    const tk_msg_t *an)
{
	const struct tk_dispatch_entry *e = tk_dispatch_lookup(type);
	const char *user = tk_msg_get_text(rq, TK_KEY_USER);
	enum tk_status st = tk_msg_status(an);

	if (e == NULL)
		return;
	if (peers[p].role == TK_ROLE_NONE && st != TK_ST_DENIED)
		die("a peer of no role was not refused");
	if (peers[p].role < e->role && st != TK_ST_DENIED)
		die("a request above the peer's role was not refused");
	if (peers[p].role == TK_ROLE_SELF && (e->flags & TK_DF_OWN_USER) &&
	    user != NULL && strcmp(user, peers[p].user) != 0 &&
	    st != TK_ST_DENIED)
		die("a self peer acted for another user");
}

/* one request: decode, dispatch, check */
static void
one(struct tk_daemon *d, struct fz_oracle *o, enum fz_peer p,
    const uint8_t *body, size_t len)
{
	tk_msg_t *rq = NULL, *an = NULL;
	struct before b;
	uint32_t type;
	bool close_after = false;
	int r;

	if ((r = tk_msg_decode(body, len, TK_DIR_REQUEST, &rq)) != 0) {
		/* the server answers what it can tell, or closes */
		if (tk_dispatch_error(body, len, r, &an) == 0) {
			check_answer_shape(an, 0);
			if (tk_msg_status(an) == TK_ST_OK)
				die("a malformed request answered ok");
		}
		tk_msg_free(&an);
		return;
	}
	type = tk_msg_type(rq);
	/* the only request that writes a file: keep it in our directory */
	if (type == TK_MSG_BACKUP && tk_msg_has(rq, TK_KEY_PATH) &&
	    tk_msg_set_text(rq, TK_KEY_PATH, backup) != 0)
		die("cannot redirect BACKUP");
	look_before(d->store, rq, fz_now, &b);
	if (tk_dispatch(d, &peers[p], rq, &an, &close_after) != 0)
		die("tk_dispatch gave no answer");
	check_answer_shape(an, type);
	if (trace)
		fprintf(stderr, "fuzz_handlers: %s from %s at %+lld: "
		    "status %u\n", tk_msg_type_name(type), peers[p].user,
		    (long long)(fz_now - FZ_T0), (unsigned)tk_msg_status(an));
	oracle_role(p, type, rq, an);
	switch (type) {
	case TK_MSG_TOTP_VERIFY:
		oracle_verify(o, rq, an, &b, fz_now);
		break;
	case TK_MSG_TOTP_ENROLL_BEGIN:
		learn_enroll(o, an);
		break;
	case TK_MSG_TOTP_ENROLL_CONFIRM:
		oracle_confirm(o, rq, an, &b, fz_now);
		break;
	case TK_MSG_RECOVERY_ISSUE:
		learn_recovery(o, rq, an);
		break;
	case TK_MSG_GRANT_USE:
		if (tk_msg_status(an) == TK_ST_GRANTED &&
		    (!b.grant || b.locked))
			die("GRANT_USE granted without an active grant");
		break;
	case TK_MSG_FIDO2_FINISH:
		if (tk_msg_status(an) == TK_ST_OK)
			die("FIDO2_FINISH ok without any private key");
		break;
	case TK_MSG_BACKUP:
		(void)unlink(backup);
		break;
	}
	if (type != TK_MSG_GRANT_USE && tk_msg_status(an) == TK_ST_GRANTED)
		die("GRANTED answered to another request");
	tk_msg_free(&an);
	tk_msg_free(&rq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static struct fz_oracle o;
	struct tk_daemon d;
	tk_store_t *st;
	uint64_t rows = 0, bad = 0;
	size_t off = 0, len;
	unsigned n;
	enum fz_peer p;

	if (!ready) {
		init();
		ready = true;
	}
	o = seeded;
	st = reset();
	fz_now = FZ_T0;
	if (tk_daemon_init(&d, &conf, st, key) != 0)
		die("tk_daemon_init");
	tk_daemon_set_clock(&d, fz_clock, NULL);
	for (n = 0; n < FZ_MAX_REQUESTS && size - off >= FZ_RECORD_HDR; n++) {
		p = (enum fz_peer)(data[off] % FZ_NPEERS);
		fz_now = FZ_NOW(data[off + 1]);
		len = (size_t)data[off + 2] << 8 | data[off + 3];
		off += FZ_RECORD_HDR;
		if (len > size - off)
			len = size - off;
		one(&d, &o, p, data + off, len);
		off += len;
	}
	if (tk_store_audit_verify(st, &rows, &bad) != 0)
		die("the audit chain does not verify");
	tk_store_close(&st);
	return (0);
}
