/*
 * gen_corpus.c -- writes the seed corpus of the fuzz harnesses:
 * gen_corpus DIR writes DIR/fuzz_msg/ (one request and one answer of
 * every type, a few near misses) and DIR/fuzz_frame/ (the same inside
 * frames, several frames in a row, bad lengths), DIR/fuzz_handlers/
 * (request sequences over the dataset of fuzz_dataset.h, with codes
 * valid at its clock, and one request of every type from every peer)
 * and DIR/fuzz_conf/ (configuration files and module arguments).  Run
 * by hand after a protocol change; the output is committed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "msg.h"
#include "wipe.h"

#include <liboath/oath.h>

#include "fuzz_dataset.h"

static const char *dir;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gen_corpus: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
put(const char *sub, const char *name, const unsigned char *p, size_t n)
{
	char path[512];
	FILE *f;
	int r;

	r = snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		die("path too long");
	if ((f = fopen(path, "wb")) == NULL)
		die("%s: write failed", path);
	if (n > 0 && fwrite(p, 1, n, f) != n)
		die("%s: write failed", path);
	if (fclose(f) != 0)
		die("%s: write failed", path);
}

/* writes m as a msg seed and, framed, as a frame seed */
static void
emit(const char *name, tk_msg_t *m)
{
	unsigned char *buf = NULL, *fr;
	size_t len = 0;

	if (m == NULL || tk_msg_encode(m, &buf, &len) != 0)
		die("%s: cannot encode", name);
	put("fuzz_msg", name, buf, len);
	if ((fr = malloc(len + TK_FRAME_HDR_BYTES)) == NULL ||
	    tk_frame_header_make(len, fr) != 0)
		die("%s: cannot frame", name);
	memcpy(fr + TK_FRAME_HDR_BYTES, buf, len);
	put("fuzz_frame", name, fr, len + TK_FRAME_HDR_BYTES);
	free(fr);
	tk_freezero(buf, len);
	tk_msg_free(&m);
}

static tk_msg_t *
rq(uint32_t type, const char *user)
{
	tk_msg_t *m;

	if ((m = tk_msg_new(TK_DIR_REQUEST, type)) == NULL)
		die("new");
	if (user != NULL && tk_msg_set_text(m, TK_KEY_USER, user) != 0)
		die("user");
	return (m);
}

static void
record(tk_msg_t *list, uint64_t id, const char *state)
{
	tk_msg_t *r;

	if ((r = tk_msg_add_record(list, TK_KEY_CREDS)) == NULL ||
	    tk_msg_set_text(r, TK_KEY_USER, "alice") != 0 ||
	    tk_msg_set_uint(r, TK_KEY_CRED, id) != 0 ||
	    tk_msg_set_text(r, TK_KEY_KIND, "totp") != 0 ||
	    tk_msg_set_text(r, TK_KEY_STATE, state) != 0 ||
	    tk_msg_set_text(r, TK_KEY_LABEL, "phone") != 0 ||
	    tk_msg_set_uint(r, TK_KEY_CREATED, 1700000000) != 0 ||
	    tk_msg_set_uint(r, TK_KEY_LAST_USED, 0) != 0 ||
	    tk_msg_set_uint(r, TK_KEY_DIGITS, 6) != 0 ||
	    tk_msg_set_text(r, TK_KEY_ALGORITHM, "sha1") != 0 ||
	    tk_msg_set_uint(r, TK_KEY_PERIOD, 30) != 0 ||
	    tk_msg_set_bool(r, TK_KEY_LOCKED, false) != 0 ||
	    tk_msg_set_uint(r, TK_KEY_FAILURES, 2) != 0)
		die("record");
}

/* --- fuzz_handlers: request sequences --------------------------------- */

static unsigned char seq[8192];
static size_t seq_len;

/* appends one record: peer, clock, the encoded request m (freed) */
static void
seq_add(int peer, int clock, tk_msg_t *m)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	if (m == NULL || tk_msg_encode(m, &buf, &len) != 0)
		die("handlers seed: cannot encode");
	if (len > 0xffff || seq_len + FZ_RECORD_HDR + len > sizeof(seq))
		die("handlers seed too long");
	seq[seq_len++] = (unsigned char)peer;
	seq[seq_len++] = (unsigned char)clock;
	seq[seq_len++] = (unsigned char)(len >> 8);
	seq[seq_len++] = (unsigned char)len;
	memcpy(seq + seq_len, buf, len);
	seq_len += len;
	tk_freezero(buf, len);
	tk_msg_free(&m);
}

/* a record of raw bytes (a request the encoder would refuse) */
static void
seq_add_raw(int peer, int clock, const unsigned char *p, size_t len)
{
	if (seq_len + FZ_RECORD_HDR + len > sizeof(seq))
		die("handlers seed too long");
	seq[seq_len++] = (unsigned char)peer;
	seq[seq_len++] = (unsigned char)clock;
	seq[seq_len++] = (unsigned char)(len >> 8);
	seq[seq_len++] = (unsigned char)len;
	memcpy(seq + seq_len, p, len);
	seq_len += len;
}

/*
 * A request of `type' naming alice: encoded when the schema allows it
 * with no other field, else by hand ({0: 1, 1: type, 10: "alice"}).
 */
static void
seq_add_type(int peer, int clock, uint32_t type)
{
	unsigned char raw[16] = { 0xa3, 0x00, 0x01, 0x01, 0, 0x0a, 0x65,
	    'a', 'l', 'i', 'c', 'e' };
	unsigned char *buf = NULL;
	size_t len = 0;
	tk_msg_t *m;

	if ((m = tk_msg_new(TK_DIR_REQUEST, type)) == NULL)
		die("new");
	(void)tk_msg_set_text(m, TK_KEY_USER, "alice");	/* if it has one */
	if (tk_msg_encode(m, &buf, &len) == 0) {
		seq_add_raw(peer, clock, buf, len);
		tk_freezero(buf, len);
	} else {
		raw[4] = (unsigned char)type;	/* types are below 24 */
		seq_add_raw(peer, clock, raw, 12);
	}
	tk_msg_free(&m);
}

static void
seq_put(const char *name)
{
	put("fuzz_handlers", name, seq, seq_len);
	seq_len = 0;
}

/* the code of dataset credential i at the clock byte `clock' */
static const char *
code_of(size_t i, int clock, int dstep)
{
	static char out[16];
	const struct fz_totp_seed *s = &fz_totp_seeds[i];
	int flags = s->alg == 2 ? OATH_TOTP_HMAC_SHA256 :
	    s->alg == 3 ? OATH_TOTP_HMAC_SHA512 : 0;
	long long step = FZ_NOW(clock) / FZ_PERIOD + dstep;

	if (oath_totp_generate2(s->secret, strlen(s->secret),
	    (time_t)(step * FZ_PERIOD), FZ_PERIOD, 0, s->digits, flags,
	    out) != OATH_OK)
		die("oath_totp_generate2");
	return (out);
}

static tk_msg_t *
verify_rq(const char *user, const char *code)
{
	tk_msg_t *m = rq(TK_MSG_TOTP_VERIFY, user);

	if (tk_msg_set_text(m, TK_KEY_CODE, code) != 0 ||
	    tk_msg_set_text(m, TK_KEY_SERVICE, "login") != 0 ||
	    tk_msg_set_text(m, TK_KEY_TTY, "tty1") != 0)
		die("verify_rq");
	return (m);
}

static tk_msg_t *
confirm_rq(const char *user, uint64_t id, const char *code)
{
	tk_msg_t *m = rq(TK_MSG_TOTP_ENROLL_CONFIRM, user);

	if (tk_msg_set_uint(m, TK_KEY_CRED, id) != 0 ||
	    tk_msg_set_text(m, TK_KEY_CODE, code) != 0)
		die("confirm_rq");
	return (m);
}

static void
gen_handlers(void)
{
	char name[64];
	tk_msg_t *m;
	uint32_t t;
	int p;

	/* a valid code, its replay, the next step's code, an old one */
	seq_add(FZ_PEER_ALICE, FZ_CLOCK_T0, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ALICE, FZ_CLOCK_T0, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0 + 2, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0 + 2, 0)));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0 + 2, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0, -1)));
	seq_put("seq-alice-replay");
	/* bob: an 8-digit SHA-256 code, then a recovery code twice */
	seq_add(FZ_PEER_BOB, FZ_CLOCK_T0, verify_rq("bob",
	    code_of(1, FZ_CLOCK_T0, 1)));
	seq_add(FZ_PEER_BOB, FZ_CLOCK_T0, verify_rq("bob", "ABCD-EFGH-JKMN"));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("bob", "abcdefghjkmn"));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("frank",
	    "2345-6789-abcd"));
	seq_put("seq-bob-recovery");
	/* dave's pending credential (id 3): confirm, then its code again */
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, confirm_rq("dave", 3,
	    code_of(2, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("dave",
	    code_of(2, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0 + 2, verify_rq("dave",
	    code_of(2, FZ_CLOCK_T0 + 2, 0)));
	seq_put("seq-dave-confirm");
	/* erin is locked: her valid code, an unlock, the code again */
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("erin",
	    code_of(3, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, rq(TK_MSG_USER_UNLOCK, "erin"));
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("erin",
	    code_of(3, FZ_CLOCK_T0, 0)));
	seq_put("seq-erin-unlock");
	/* grants: carol's is active, frank's runs out at T0 + 60 */
	m = rq(TK_MSG_GRANT_USE, "carol");
	tk_msg_set_text(m, TK_KEY_SERVICE, "login");
	seq_add(FZ_PEER_CAROL, FZ_CLOCK_T0, m);
	seq_add(FZ_PEER_ROOT, 15, rq(TK_MSG_GRANT_USE, "frank"));
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, rq(TK_MSG_GRANT_REVOKE,
	    "carol"));
	seq_add(FZ_PEER_CAROL, FZ_CLOCK_T0, rq(TK_MSG_GRANT_USE, "carol"));
	m = rq(TK_MSG_GRANT, "alice");
	tk_msg_set_uint(m, TK_KEY_DURATION, 600);
	tk_msg_set_text(m, TK_KEY_REASON, "key lost");
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, m);
	seq_add(FZ_PEER_ALICE, 8, rq(TK_MSG_GRANT_USE, "alice"));
	seq_put("seq-grants");
	/* a new enrollment and a wrong confirmation; recovery issue */
	m = rq(TK_MSG_TOTP_ENROLL_BEGIN, "zed");
	tk_msg_set_uint(m, TK_KEY_DIGITS, 8);
	tk_msg_set_text(m, TK_KEY_ALGORITHM, "sha512");
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, m);
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, confirm_rq("zed", 5, "12345678"));
	m = rq(TK_MSG_RECOVERY_ISSUE, "bob");
	tk_msg_set_uint(m, TK_KEY_COUNT, 3);
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, m);
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("bob", "ABCD-EFGH-JKMN"));
	seq_put("seq-enroll-recovery");
	/* revoke, list, audit, backup */
	m = rq(TK_MSG_CRED_REVOKE, "alice");
	tk_msg_set_bool(m, TK_KEY_ALL, true);
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, m);
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, rq(TK_MSG_CRED_LIST, NULL));
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, rq(TK_MSG_AUDIT_VERIFY, NULL));
	seq_add(FZ_PEER_ADMIN, FZ_CLOCK_T0, rq(TK_MSG_AUDIT_EXPORT, NULL));
	m = rq(TK_MSG_BACKUP, NULL);
	tk_msg_set_text(m, TK_KEY_PATH, "/nonexistent/backup.db");
	seq_add(FZ_PEER_ROOT, FZ_CLOCK_T0, m);
	seq_put("seq-admin");
	/* self peers acting for others, a peer of no role */
	seq_add(FZ_PEER_ALICE, FZ_CLOCK_T0, verify_rq("bob",
	    code_of(1, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_CAROL, FZ_CLOCK_T0, rq(TK_MSG_CRED_LIST, NULL));
	seq_add(FZ_PEER_NONE, FZ_CLOCK_T0, verify_rq("alice",
	    code_of(0, FZ_CLOCK_T0, 0)));
	seq_add(FZ_PEER_NONE, FZ_CLOCK_T0, rq(TK_MSG_STATUS, NULL));
	seq_put("seq-roles");
	/* every type, from every peer, naming alice */
	for (t = 1; t < TK_MSG_TYPE_END; t++) {
		for (p = 0; p < FZ_NPEERS; p++)
			seq_add_type(p, FZ_CLOCK_T0, t);
		snprintf(name, sizeof(name), "type-%02u", (unsigned)t);
		seq_put(name);
	}
}

/* --- fuzz_conf: files and module arguments ---------------------------- */

static void
gen_conf(void)
{
	static const char every[] =
	    "[tokend]\nsocket = /run/tokend/socket\n"
	    "database = /var/lib/tokend/tokend.db\n"
	    "master_key = /etc/tokend/master.key\nadmin_group = tokend-admin\n"
	    "user = tokend\nidle_timeout = 10\nmax_connections = 256\n"
	    "[totp]\nwindow = 1\nissuer = Example City\npending_ttl = 900\n"
	    "[throttle]\nmax_failures = 10\ndelay_base = 1\ndelay_max = 30\n"
	    "[grant]\nmax_duration = 86400\n"
	    "[fido2]\nrp_id = tokend\nchallenge_ttl = 60\nenroll_ttl = 300\n"
	    "user_verification = required\nallowed_aaguids = "
	    "cb69481e-8ff7-4039-93ec-0a2729a154a8\n"
	    "[pam]\nfactors = totp,fido2\nnullok = no\ntimeout = 10\n"
	    "fido2_wait = 30\ncue = yes\ndebug = off\n";
	static const struct {
		const char	*name;
		const char	*text;
		size_t		 len;	/* 0: strlen */
	} seeds[] = {
		{ "every-key", every, 0 },
		{ "comments", "; a comment\n# another\n\n[pam]\n"
		    "nullok = true ; inline\n", 0 },
		{ "duplicate", "[pam]\nnullok = yes\nnullok = no\n", 0 },
		{ "unknown-key", "[pam]\nnulok = yes\n", 0 },
		{ "unknown-section", "[pan]\nnullok = yes\n", 0 },
		{ "outside", "nullok = yes\n", 0 },
		{ "bad-values", "[totp]\nwindow = 11\n[tokend]\n"
		    "socket = relative\n", 0 },
		{ "syntax", "[pam\nnullok\n", 0 },
		{ "args", "[pam]\ntimeout = 5\n\0\0nullok\0factors=fido2,totp\0"
		    "config=x\0timeout=7\0cue\0debug\0socket=/run/x", 88 },
		{ "args-only", "\0\0nullok\0timeout=300\0socket=/tmp/s", 34 },
		{ "args-bad", "\0\0nullok=1\0factors=\0config=\0nulok\0timeout=0",
		    43 },
	};
	size_t i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("fuzz_conf", seeds[i].name, (const unsigned char *)
		    seeds[i].text, seeds[i].len != 0 ? seeds[i].len :
		    strlen(seeds[i].text));
}

int
main(int argc, char **argv)
{
	static const unsigned char raw_frames[][12] = {
		{ 0, 0, 0, 0 },				/* zero length */
		{ 0, 1, 0, 1, 0xa0 },		/* over the limit */
		{ 0, 0, 0, 8, 0xa2, 0, 1 },		/* EOF mid-body */
	};
	unsigned char two[64];
	tk_msg_t *m, *rec;

	if (argc != 2)
		die("usage: gen_corpus DIR");
	dir = argv[1];

	emit("rq-status", rq(TK_MSG_STATUS, NULL));
	emit("rq-user-status", rq(TK_MSG_USER_STATUS, "alice"));
	m = rq(TK_MSG_TOTP_VERIFY, "alice");
	tk_msg_set_text(m, TK_KEY_CODE, "123456");
	tk_msg_set_text(m, TK_KEY_SERVICE, "login");
	tk_msg_set_text(m, TK_KEY_RHOST, "192.0.2.1");
	tk_msg_set_text(m, TK_KEY_TTY, "tty1");
	emit("rq-totp-verify", m);
	m = rq(TK_MSG_TOTP_ENROLL_BEGIN, "\xe5\xb1\xb1\xe7\x94\xb0");
	tk_msg_set_text(m, TK_KEY_LABEL, "phone");
	tk_msg_set_uint(m, TK_KEY_DIGITS, 8);
	tk_msg_set_text(m, TK_KEY_ALGORITHM, "sha256");
	emit("rq-totp-enroll-begin", m);
	m = rq(TK_MSG_TOTP_ENROLL_CONFIRM, "alice");
	tk_msg_set_uint(m, TK_KEY_CRED, 7);
	tk_msg_set_text(m, TK_KEY_CODE, "87654321");
	emit("rq-totp-enroll-confirm", m);
	emit("rq-cred-list", rq(TK_MSG_CRED_LIST, NULL));
	m = rq(TK_MSG_CRED_REVOKE, "alice");
	tk_msg_set_bool(m, TK_KEY_ALL, true);
	emit("rq-cred-revoke", m);
	emit("rq-user-unlock", rq(TK_MSG_USER_UNLOCK, "alice"));

	m = tk_msg_new_answer(TK_MSG_STATUS, TK_ST_OK);
	tk_msg_set_text(m, TK_KEY_DAEMON_VERSION, "0.1.0");
	tk_msg_set_uint(m, TK_KEY_UPTIME, 86400);
	tk_msg_set_uint(m, TK_KEY_USERS, 12);
	tk_msg_set_uint(m, TK_KEY_CREDS_COUNT, 14);
	tk_msg_set_uint(m, TK_KEY_LOCKED_USERS, 1);
	tk_msg_set_bool(m, TK_KEY_STORE_OK, true);
	tk_msg_set_text(m, TK_KEY_STORE_KIND, "sqlite");
	emit("an-status", m);
	m = tk_msg_new_answer(TK_MSG_USER_STATUS, TK_ST_OK);
	tk_msg_set_uint(m, TK_KEY_FACTORS, TK_FACTOR_TOTP);
	tk_msg_set_bool(m, TK_KEY_LOCKED, false);
	tk_msg_set_uint(m, TK_KEY_FAILURES, 0);
	emit("an-user-status", m);
	m = tk_msg_new_answer(TK_MSG_TOTP_VERIFY, TK_ST_THROTTLED);
	tk_msg_set_text(m, TK_KEY_REASON, "too soon");
	tk_msg_set_uint(m, TK_KEY_FAILURES, 3);
	tk_msg_set_uint(m, TK_KEY_RETRY_AFTER, 4);
	emit("an-totp-verify", m);
	m = tk_msg_new_answer(TK_MSG_TOTP_ENROLL_BEGIN, TK_ST_OK);
	tk_msg_set_text(m, TK_KEY_USER, "alice");
	tk_msg_set_uint(m, TK_KEY_CRED, 7);
	tk_msg_set_text(m, TK_KEY_URI, "otpauth://totp/tokend:alice?secret="
	    "JBSWY3DPEHPK3PXP&issuer=tokend&digits=6&period=30");
	tk_msg_set_text(m, TK_KEY_STATE, "pending");
	emit("an-totp-enroll-begin", m);
	m = tk_msg_new_answer(TK_MSG_TOTP_ENROLL_CONFIRM, TK_ST_OK);
	tk_msg_set_uint(m, TK_KEY_CRED, 7);
	tk_msg_set_text(m, TK_KEY_STATE, "active");
	emit("an-totp-enroll-confirm", m);
	m = tk_msg_new_answer(TK_MSG_CRED_LIST, TK_ST_OK);
	record(m, 1, "active");
	record(m, 2, "revoked");
	emit("an-cred-list", m);
	emit("an-cred-list-empty", tk_msg_new_answer(TK_MSG_CRED_LIST,
	    TK_ST_OK));
	m = tk_msg_new_answer(TK_MSG_CRED_REVOKE, TK_ST_OK);
	tk_msg_set_uint(m, TK_KEY_CREDS_COUNT, 2);
	emit("an-cred-revoke", m);
	m = tk_msg_new_answer(TK_MSG_USER_UNLOCK, TK_ST_NOT_FOUND);
	tk_msg_set_text(m, TK_KEY_REASON, "no such user");
	emit("an-user-unlock", m);

	/* issue 5: audit, recovery codes, grants, backup */
	emit("rq-audit-verify", rq(TK_MSG_AUDIT_VERIFY, NULL));
	m = rq(TK_MSG_AUDIT_EXPORT, "alice");
	tk_msg_set_uint(m, TK_KEY_SEQ, 40);
	tk_msg_set_uint(m, TK_KEY_SINCE, 1700000000);
	tk_msg_set_uint(m, TK_KEY_UNTIL, 1800000000);
	emit("rq-audit-export", m);
	m = rq(TK_MSG_RECOVERY_ISSUE, "alice");
	tk_msg_set_uint(m, TK_KEY_COUNT, 10);
	emit("rq-recovery-issue", m);
	m = rq(TK_MSG_GRANT, "alice");
	tk_msg_set_uint(m, TK_KEY_DURATION, 3600);
	tk_msg_set_text(m, TK_KEY_REASON, "key lost");
	emit("rq-grant", m);
	emit("rq-grant-revoke", rq(TK_MSG_GRANT_REVOKE, "alice"));
	emit("rq-grant-list", rq(TK_MSG_GRANT_LIST, NULL));
	m = rq(TK_MSG_GRANT_USE, "alice");
	tk_msg_set_text(m, TK_KEY_SERVICE, "login");
	emit("rq-grant-use", m);
	m = rq(TK_MSG_BACKUP, NULL);
	tk_msg_set_text(m, TK_KEY_PATH, "/var/backups/tokend.db");
	emit("rq-backup", m);
	m = tk_msg_new_answer(TK_MSG_AUDIT_VERIFY, TK_ST_OK);
	tk_msg_set_uint(m, TK_KEY_COUNT, 100000);
	tk_msg_set_uint(m, TK_KEY_BAD_SEQ, 5);
	emit("an-audit-verify", m);
	m = tk_msg_new_answer(TK_MSG_AUDIT_EXPORT, TK_ST_OK);
	rec = tk_msg_add_record(m, TK_KEY_AUDIT);
	tk_msg_set_uint(rec, TK_KEY_SEQ, 41);
	tk_msg_set_uint(rec, TK_KEY_TIME, 1700000000);
	tk_msg_set_text(rec, TK_KEY_HOST, "term01");
	tk_msg_set_text(rec, TK_KEY_EVENT, "totp_verify");
	tk_msg_set_text(rec, TK_KEY_USER, "alice");
	tk_msg_set_uint(rec, TK_KEY_UID, 0);
	tk_msg_set_uint(rec, TK_KEY_PID, 1234);
	tk_msg_set_text(rec, TK_KEY_RESULT, "ok");
	tk_msg_set_bool(m, TK_KEY_MORE, true);
	emit("an-audit-export", m);
	m = tk_msg_new_answer(TK_MSG_RECOVERY_ISSUE, TK_ST_OK);
	tk_msg_set_text(m, TK_KEY_USER, "alice");
	rec = tk_msg_add_record(m, TK_KEY_CODES);
	tk_msg_set_text(rec, TK_KEY_CODE, "k7m2-x9qd-4hfa");
	emit("an-recovery-issue", m);
	m = tk_msg_new_answer(TK_MSG_GRANT_USE, TK_ST_GRANTED);
	tk_msg_set_uint(m, TK_KEY_EXPIRES, 1700003600);
	emit("an-grant-use", m);
	m = tk_msg_new_answer(TK_MSG_GRANT_LIST, TK_ST_OK);
	rec = tk_msg_add_record(m, TK_KEY_GRANTS);
	tk_msg_set_text(rec, TK_KEY_USER, "alice");
	tk_msg_set_uint(rec, TK_KEY_CREATED, 1700000000);
	tk_msg_set_uint(rec, TK_KEY_EXPIRES, 1700003600);
	tk_msg_set_text(rec, TK_KEY_REASON, "key lost");
	emit("an-grant-list", m);

	/* near misses: a later version, a trailing byte */
	put("fuzz_msg", "bad-version", (const unsigned char *)
	    "\xa3\x00\x02\x01\x02\x0a\x61\x61", 8);
	put("fuzz_msg", "bad-trailing", (const unsigned char *)
	    "\xa2\x00\x01\x01\x01\x00", 6);
	put("fuzz_frame", "bad-zero", raw_frames[0], 4);
	put("fuzz_frame", "bad-over", raw_frames[1], 5);
	put("fuzz_frame", "bad-eof", raw_frames[2], 7);
	/* two frames in a row: STATUS request twice */
	memcpy(two, "\0\0\0\5\xa2\x00\x01\x01\x01\0\0\0\5\xa2\x00\x01\x01\x01",
	    18);
	put("fuzz_frame", "two-frames", two, 18);

	gen_handlers();
	gen_conf();
	return (0);
}
