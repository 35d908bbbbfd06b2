/*
 * store.h -- tokend's store: credentials, replay state, throttling and
 * the audit chain.  Callers see only this interface; store_sqlite.c is
 * the embedded implementation, and a PostgreSQL one can follow behind
 * the same calls (struct tk_store_ops).
 *
 * Invariants every implementation MUST keep:
 *  1. Every change made between tk_store_begin() and tk_store_commit()
 *     is durable when tk_store_commit() returns 0, and none of it is
 *     visible or kept when it returns an error or tk_store_rollback()
 *     is called.  tokend answers a client only after the commit (of
 *     the batch, under a group commit: tk_store_batch_begin).
 *  2. tk_store_totp_accept_step() is the replay check: it succeeds only
 *     when the step is strictly greater than the last accepted one, and
 *     records it, in one statement.
 *  3. A sealed secret is returned exactly as stored; the store never
 *     sees a secret in the clear.
 *  4. Text fields are bound as parameters, never pasted into SQL.
 */
#ifndef TK_STORE_H
#define TK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto.h"

enum tk_cred_kind {
	TK_CRED_TOTP = 1,
	TK_CRED_FIDO2 = 2
};

enum tk_cred_state {
	TK_CRED_PENDING = 1,	/* enrolled, waiting for a first valid code */
	TK_CRED_ACTIVE = 2,
	TK_CRED_REVOKED = 3,
	TK_CRED_SUSPENDED = 4	/* FIDO2: counter did not grow (possible
				   clone); tokenadm reinstate or revoke */
};

/* FIDO2 credential algorithms (stored as these numbers, not COSE's) */
enum tk_fido2_alg {
	TK_FIDO2_ES256 = 1,
	TK_FIDO2_EDDSA = 2,
	TK_FIDO2_RS256 = 3
};

/* user verification policy of a challenge or credential */
enum tk_fido2_uv {
	TK_UV_REQUIRED = 1,
	TK_UV_PREFERRED = 2,
	TK_UV_DISCOURAGED = 3
};

enum tk_totp_alg {
	TK_TOTP_SHA1 = 1,
	TK_TOTP_SHA256 = 2,
	TK_TOTP_SHA512 = 3
};

struct tk_cred {
	uint64_t	 id;		/* assigned by tk_store_cred_insert */
	char		 user[TK_USER_MAX + 1];
	int		 kind;		/* enum tk_cred_kind */
	int		 state;		/* enum tk_cred_state */
	char		 label[TK_LABEL_MAX + 1];
	int64_t		 created;	/* UNIX time */
	int64_t		 last_used;	/* UNIX time, 0 = never */
	int64_t		 expires;	/* pending only: UNIX time, else 0 */
	/* TOTP */
	unsigned	 digits;	/* 6 or 8 */
	int		 algorithm;	/* enum tk_totp_alg */
	unsigned	 period;	/* seconds */
	uint64_t	 last_step;	/* last accepted time step, 0 = none */
	/* sealed secret (seal.h): key id and blob, owned by the struct */
	uint32_t	 key_id;
	unsigned char	*sealed;
	size_t		 sealed_len;
	/*
	 * FIDO2 (kind TK_CRED_FIDO2; `algorithm' then holds enum
	 * tk_fido2_alg).  cred_id and pubkey are owned by the struct and
	 * freed by tk_cred_clear(); pubkey is the raw key as libfido2's
	 * fido_cred_pubkey_ptr() gives it.  Public data: not sealed.
	 */
	unsigned char	*cred_id;
	size_t		 cred_id_len;
	unsigned char	*pubkey;
	size_t		 pubkey_len;
	unsigned char	 aaguid[TK_FIDO2_AAGUID_BYTES];
	char		 fmt[TK_SHORT_TEXT_MAX + 1]; /* attestation format */
	uint32_t	 flags;		/* authenticator data flags at
					   registration (UP 0x01, UV 0x04) */
	uint32_t	 sign_count;	/* last accepted signature counter */
	unsigned char	 user_handle[TK_FIDO2_USER_HANDLE_BYTES];
};

enum tk_challenge_purpose {
	TK_CHALLENGE_LOGIN = 1,
	TK_CHALLENGE_ENROLL = 2
};

/* a FIDO2 challenge held in the store (single use, short-lived) */
struct tk_challenge {
	uint64_t	 id;		/* assigned by _insert */
	char		 user[TK_USER_MAX + 1];
	int		 purpose;	/* enum tk_challenge_purpose */
	unsigned char	 challenge[TK_FIDO2_CHALLENGE_BYTES];
	unsigned char	 user_handle[TK_FIDO2_USER_HANDLE_BYTES]; /* enroll */
	int		 uv;		/* enum tk_fido2_uv asked for */
	char		 label[TK_LABEL_MAX + 1]; /* enroll */
	int64_t		 created;	/* UNIX time */
	int64_t		 expires;	/* UNIX time: no use at or after it */
};

struct tk_throttle {
	char		 user[TK_USER_MAX + 1];
	uint32_t	 failures;	/* consecutive failures */
	int64_t		 last_failure;	/* UNIX time, 0 = none */
	bool		 locked;
};

struct tk_store_stats {
	uint64_t	 users;		/* users with a non-revoked credential */
	uint64_t	 creds;		/* non-revoked credentials */
	uint64_t	 locked_users;
};

/* one audit event; every text may be NULL (stored as empty) */
struct tk_audit_event {
	int64_t		 time;		/* UNIX time (UTC) */
	const char	*host;
	const char	*event;		/* "totp_verify", "enroll_begin", ... */
	const char	*user;
	uint64_t	 cred;		/* 0 = none */
	const char	*service;
	const char	*rhost;
	const char	*tty;
	int64_t		 uid;		/* caller, -1 = none */
	int64_t		 pid;		/* caller, -1 = none */
	const char	*result;	/* "ok", "wrong", "replay", "denied", ... */
	const char	*reason;
};

/* one audit row read back (tk_store_audit_read); texts owned by it */
struct tk_audit_row {
	uint64_t	 seq;
	int64_t		 time;
	char		 host[TK_HOST_TEXT_MAX + 1];
	char		 event[TK_SHORT_TEXT_MAX + 1];
	char		 user[TK_USER_MAX + 1];
	uint64_t	 cred;
	char		 service[TK_SERVICE_MAX + 1];
	char		 rhost[TK_RHOST_MAX + 1];
	char		 tty[TK_TTY_MAX + 1];
	int64_t		 uid;		/* -1 = none */
	int64_t		 pid;		/* -1 = none */
	char		 result[TK_SHORT_TEXT_MAX + 1];
	char		 reason[TK_REASON_MAX + 1];
};

/* which audit rows tk_store_audit_read returns */
struct tk_audit_filter {
	uint64_t	 after;		/* rows with seq > after */
	int64_t		 since;		/* time >= since (0: no bound) */
	int64_t		 until;		/* time < until (0: no bound) */
	const char	*user;		/* NULL: every user */
};

#define TK_RECOVERY_HASH_BYTES	32	/* keyed BLAKE2b of one code */

/* one unused recovery code as stored: only its keyed hash */
struct tk_recovery {
	uint64_t	 id;
	unsigned char	 hash[TK_RECOVERY_HASH_BYTES];
};

enum tk_grant_state {
	TK_GRANT_ACTIVE = 1,
	TK_GRANT_EXPIRED = 2,	/* ran out; its expiry is audited */
	TK_GRANT_REVOKED = 3	/* replaced or ended early */
};

/* an emergency access grant (break-glass) */
struct tk_grant {
	uint64_t	 id;		/* assigned by tk_store_grant_insert */
	char		 user[TK_USER_MAX + 1];
	int64_t		 created;	/* UNIX time */
	int64_t		 expires;	/* UNIX time: no use at or after it */
	int64_t		 granted_by;	/* uid of the administrator */
	int		 state;		/* enum tk_grant_state */
	char		 reason[TK_REASON_MAX + 1];
};

typedef struct tk_store tk_store_t;

/*
 * Opens (creating and migrating when needed) the SQLite store at `path'.
 * `audit_key' (32 bytes, derived from the master key) keys the audit
 * chain MAC; the store keeps its own wiped copy.  Returns 0 and *sp, or
 * TK_ERR_STORE, TK_ERR_PERM (unsafe directory), TK_ERR_VERSION (schema
 * newer than this program), TK_ERR_NOMEM.
 */
int tk_store_open_sqlite(const char *path, const unsigned char *audit_key,
    size_t audit_key_len, tk_store_t **sp);
/*
 * Opens the PostgreSQL store (built with libpq only: HAVE_LIBPQ) named
 * by `conninfo', a postgresql:// URL or a libpq "key=value" string
 * (several hosts and target_session_attrs=read-write as libpq documents
 * them), creating or migrating the schema when the role may.  Several
 * tokend hosts may share it.  Returns 0 and *sp, or TK_ERR_STORE
 * (unreachable, or not a tokend database), TK_ERR_PERM (the role may
 * not create the schema: see schema-pg.sql), TK_ERR_VERSION,
 * TK_ERR_NOMEM.  While the server is unreachable later on, every call
 * fails with TK_ERR_STORE and the next transaction reconnects.
 */
int tk_store_open_pg(const char *conninfo, const unsigned char *audit_key,
    size_t audit_key_len, tk_store_t **sp);
/* Closes and frees *sp (NULL-safe), rolling back an open transaction. */
void tk_store_close(tk_store_t **sp);
/* "sqlite" or "postgresql" */
const char *tk_store_kind(const tk_store_t *);

/*
 * Transactions: every change below happens inside one (a change
 * attempted outside one is refused with TK_ERR_INVAL).  _begin inside a
 * transaction is TK_ERR_INVAL; when _commit fails, everything since
 * _begin is rolled back.
 */
int tk_store_begin(tk_store_t *);
int tk_store_commit(tk_store_t *);	/* TK_ERR_FULL on a full disk */
void tk_store_rollback(tk_store_t *);

/*
 * Credentials.  _insert assigns c->id.  _get fills *c (the caller frees
 * c->sealed with tk_cred_clear()).  _list returns every credential of
 * `user' (NULL: of all users), revoked ones included, ordered by user
 * then id; free with tk_cred_list_free().  Returns 0, TK_ERR_NOTFOUND,
 * TK_ERR_STORE, TK_ERR_FULL or TK_ERR_NOMEM.
 */
int tk_store_cred_insert(tk_store_t *, struct tk_cred *c);
int tk_store_cred_get(tk_store_t *, const char *user, uint64_t id,
    struct tk_cred *c);
int tk_store_cred_list(tk_store_t *, const char *user,
    struct tk_cred **list, size_t *n);
/* active credentials of `kind' for `user' (sealed secrets included) */
int tk_store_cred_active(tk_store_t *, const char *user, int kind,
    struct tk_cred **list, size_t *n);
/*
 * Allowed changes: pending -> active, any state but revoked -> revoked,
 * and for FIDO2 credentials only active -> suspended -> active; setting
 * the current state again is a no-op.  Anything else is TK_ERR_INVAL.
 * Revoking drops the sealed secret (a FIDO2 public key is kept).
 */
int tk_store_cred_set_state(tk_store_t *, const char *user, uint64_t id,
    int state);
/*
 * Stores the sealed secret of credential `id' (sealing binds the id, so
 * the handler inserts the row first, then seals, then calls this in the
 * same transaction).
 */
int tk_store_cred_set_secret(tk_store_t *, uint64_t id, uint32_t key_id,
    const unsigned char *sealed, size_t sealed_len);
/* revokes every non-revoked credential of `user'; *count = how many */
int tk_store_cred_revoke_all(tk_store_t *, const char *user,
    uint64_t *count);
/* removes pending credentials whose expiry is before `now' */
int tk_store_cred_expire(tk_store_t *, int64_t now, uint64_t *count);
void tk_cred_clear(struct tk_cred *);
/* wipes and frees the sealed secret only: a listed credential has none */
void tk_cred_clear_secret(struct tk_cred *);
void tk_cred_list_free(struct tk_cred **list, size_t n);

/*
 * The replay check: records `step' as the last accepted step of
 * credential `id' and sets its last use to `now' only if `step' is
 * strictly greater than the stored one.  Returns 0, TK_ERR_REPLAY (not
 * greater: nothing changed), TK_ERR_NOTFOUND, TK_ERR_STORE, TK_ERR_FULL.
 */
int tk_store_totp_accept_step(tk_store_t *, uint64_t id, uint64_t step,
    int64_t now);

/* Throttling: a user without a row has zero failures. */
int tk_store_throttle_get(tk_store_t *, const char *user,
    struct tk_throttle *t);
int tk_store_throttle_put(tk_store_t *, const struct tk_throttle *t);

int tk_store_stats(tk_store_t *, struct tk_store_stats *);
/* cheap health query; 0 when the store answers */
int tk_store_ping(tk_store_t *);

/*
 * Appends one row to the audit chain: sequence number and MAC over the
 * row and the previous row's MAC (keyed BLAKE2b under audit_key).  Must
 * be called inside the transaction of the change it records.
 */
int tk_store_audit_append(tk_store_t *, const struct tk_audit_event *);
/*
 * Recomputes the audit chain from its first row (or, after a prune, from
 * the anchor: the last pruned row's sequence number and MAC), in sequence
 * order, and checks every row's MAC and that sequence numbers have no
 * gap.  Returns
 * 0 when the chain is intact (*count = rows, *bad_seq = 0), TK_ERR_CRYPTO
 * when a row was altered, removed or reordered (*bad_seq = the first row
 * that fails, *count = rows read up to it), or TK_ERR_STORE.  Removing
 * the newest rows cannot be seen from the chain alone (compare *count
 * with the syslog copy).
 */
int tk_store_audit_verify(tk_store_t *, uint64_t *count, uint64_t *bad_seq);
/*
 * Reads at most `max' audit rows matching *f, in sequence order, into
 * rows[0..*n).  *more is true when further matching rows follow.  Rows
 * are returned as stored (not verified); a text that does not fit its
 * field is cut at the limit.  Returns 0, TK_ERR_INVAL or TK_ERR_STORE.
 */
int tk_store_audit_read(tk_store_t *, const struct tk_audit_filter *f,
    struct tk_audit_row *rows, size_t max, size_t *n, bool *more);

/*
 * Recovery codes: the store holds only keyed hashes.  _replace deletes
 * every code of `user' and stores n new hashes (n may be 0: voids the
 * set).  _unused returns the unused codes of `user' (free with free()).
 * _use marks code `id' used at `now' only if it was unused: 0, or
 * TK_ERR_REPLAY when it was used meanwhile (nothing changed), or
 * TK_ERR_NOTFOUND.  _count says how many unused codes `user' has.
 */
int tk_store_recovery_replace(tk_store_t *, const char *user,
    const unsigned char (*hashes)[TK_RECOVERY_HASH_BYTES], size_t n,
    int64_t now);
int tk_store_recovery_unused(tk_store_t *, const char *user,
    struct tk_recovery **list, size_t *n);
int tk_store_recovery_use(tk_store_t *, uint64_t id, int64_t now);
int tk_store_recovery_count(tk_store_t *, const char *user, uint64_t *n);

/*
 * Emergency access grants.  _insert ends (state revoked) any active
 * grant of g->user and stores *g as the active one, assigning g->id.
 * _active fills *g with the active grant of `user' (expired or not:
 * the caller compares g->expires with its clock), or TK_ERR_NOTFOUND.
 * _list returns active grants of `user' (NULL: all) by user; free with
 * free().  _due returns active grants with expires <= now.  _end sets
 * grant `id' from active to `state' (expired or revoked): 0, or
 * TK_ERR_NOTFOUND when it was not active.
 */
int tk_store_grant_insert(tk_store_t *, struct tk_grant *g);
int tk_store_grant_active(tk_store_t *, const char *user,
    struct tk_grant *g);
int tk_store_grant_list(tk_store_t *, const char *user,
    struct tk_grant **list, size_t *n);
int tk_store_grant_due(tk_store_t *, int64_t now, struct tk_grant **list,
    size_t *n);
int tk_store_grant_end(tk_store_t *, uint64_t id, int state);

/*
 * FIDO2.  _fido2_find fills *c with the credential (any user, any state)
 * holding FIDO2 credential id `cred_id', or TK_ERR_NOTFOUND; the store
 * keeps FIDO2 credential ids unique (an insert of a taken id is
 * TK_ERR_EXISTS).  _fido2_accept_count is the clone check: it records
 * `count' as the signature counter of credential `id' and sets its last
 * use to `now' only if `count' is greater than the stored counter, or
 * both are 0 (a key without a counter), and only while the credential
 * is active; otherwise nothing changes and it returns TK_ERR_REPLAY (an
 * active credential whose counter did not grow) or TK_ERR_NOTFOUND (no
 * active FIDO2 credential `id').  Credential states: active ->
 * suspended -> active (reinstate) or revoked, through
 * tk_store_cred_set_state().  An insert of kind TK_CRED_FIDO2 needs
 * cred_id, pubkey and fmt, no sealed secret, and a state of active,
 * suspended or revoked.
 */
int tk_store_fido2_find(tk_store_t *, const unsigned char *cred_id,
    size_t cred_id_len, struct tk_cred *c);
int tk_store_fido2_accept_count(tk_store_t *, uint64_t id, uint32_t count,
    int64_t now);

/*
 * FIDO2 challenges.  _insert assigns ch->id.  _take burns challenge `id'
 * of `purpose' in one statement: fills *ch and marks it used only if it
 * was unused; TK_ERR_REPLAY when it was used already (nothing changed,
 * *ch left cleared),
 * TK_ERR_NOTFOUND when there is no such challenge of that purpose.  The
 * caller checks ch->expires against its clock after taking it, so an
 * expired challenge is burnt too.  _expire deletes challenges that
 * expired at or before `now', used or not.
 */
int tk_store_challenge_insert(tk_store_t *, struct tk_challenge *ch);
int tk_store_challenge_take(tk_store_t *, uint64_t id, int purpose,
    struct tk_challenge *ch);
int tk_store_challenge_expire(tk_store_t *, int64_t now, uint64_t *count);

/*
 * Audit retention.  _audit_prune removes the longest run of oldest rows
 * (in sequence order) whose time is before `before', and records the
 * last removed row's sequence number and MAC as the chain's anchor, in
 * the current transaction; *count = rows removed (0: nothing changed),
 * *anchor_seq = the anchor's sequence number (0: none).  From then on
 * tk_store_audit_verify() starts from the anchor and appends chain to
 * the newest row, or to the anchor when every row was removed.
 */
int tk_store_audit_prune(tk_store_t *, int64_t before, uint64_t *count,
    uint64_t *anchor_seq);

/*
 * Group commit: the requests that arrive together are committed
 * together.  tk_store_batch_begin() opens one store transaction; each
 * tk_store_begin() .. tk_store_commit()/tk_store_rollback() made until
 * tk_store_batch_commit() is then one request's nested unit inside it
 * (a savepoint): its commit keeps its changes in the batch, its
 * rollback (or a failed commit) undoes only them, and the reads of a
 * later unit see the kept changes of the earlier ones (so the audit
 * chain goes on from the previous request's row).  Nothing of the batch
 * is durable until tk_store_batch_commit() returns 0 (invariant 1 holds
 * for the batch as a whole); when it fails, or when the backend lost the
 * transaction meanwhile, every unit is rolled back and the caller must
 * answer none of them as stored.  tk_store_batch_abort() rolls all back.
 * A batch cannot be opened inside a transaction or a batch
 * (TK_ERR_INVAL).  tk_store_can_batch() is false for a backend without
 * batches: then tk_store_batch_begin() returns TK_ERR_INVAL and the
 * caller commits each request alone.
 */
bool tk_store_can_batch(const tk_store_t *);
bool tk_store_in_batch(tk_store_t *);
int tk_store_batch_begin(tk_store_t *);
int tk_store_batch_commit(tk_store_t *);	/* TK_ERR_FULL on a full disk */
void tk_store_batch_abort(tk_store_t *);

/*
 * Paged credential listing for CRED_LIST: at most `max' credentials of
 * `user' (NULL: of all users) from position `offset' of the order of
 * tk_store_cred_list() (user, then id) into page[0..*n), without their
 * sealed secrets (sealed is NULL); *more says whether any follow.  Reads
 * the page, not every credential.  Free each with tk_cred_clear().
 * Returns 0, TK_ERR_INVAL, TK_ERR_STORE or TK_ERR_NOMEM.
 */
int tk_store_cred_page(tk_store_t *, const char *user, uint64_t offset,
    struct tk_cred *page, size_t max, size_t *n, bool *more);
/*
 * The pending credentials whose expiry is before `now' -- exactly those
 * tk_store_cred_expire(now) removes -- ordered by id, without sealed
 * secrets; free with tk_cred_list_free().  Found through an index, not
 * by reading every credential.
 */
int tk_store_cred_pending_due(tk_store_t *, int64_t now,
    struct tk_cred **list, size_t *n);

/*
 * Writes a consistent copy of the whole store into the new file `path'
 * (created here with O_EXCL|O_NOFOLLOW, mode 0600; an existing file or
 * link is never touched).  Must be called outside a transaction.
 * Returns 0, TK_ERR_EXISTS (a file or link is there), TK_ERR_PERM (the
 * directory refuses), TK_ERR_INVAL (not an absolute path), TK_ERR_FULL
 * or TK_ERR_STORE; a failed copy is removed.
 */
int tk_store_backup(tk_store_t *, const char *path);

#endif /* TK_STORE_H */
