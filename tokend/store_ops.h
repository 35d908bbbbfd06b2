/*
 * store_ops.h -- internal: what a store backend provides behind store.h.
 *
 * store_core.c holds the public tk_store_* calls: it checks every
 * argument once for all backends, then calls the backend through struct
 * tk_store_ops.  store_audit.c builds the audit chain (sequence numbers,
 * MACs, verification) on top of three small backend operations, so every
 * backend computes the very same chain.  Only store_*.c include this.
 */
#ifndef TK_STORE_OPS_H
#define TK_STORE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "store.h"

#define TK_STORE_MAC_BYTES	32	/* audit chain MAC, bytes */
#define TK_STORE_SEALED_MAX	4096	/* largest sealed blob, bytes */
#define TK_STORE_HOST_MAX	255	/* audit host name, bytes */

/*
 * Called once per audit row, in sequence order; `mac' is what the row
 * holds (any length: a tampered row may hold anything).  Returns 0 to go
 * on, or an error that stops the walk and is returned by it.
 */
typedef int tk_store_audit_fn_t(void *arg, uint64_t seq,
    const struct tk_audit_event *ev, const unsigned char *mac,
    size_t mac_len);

/*
 * Backend operations.  Arguments have already been checked by
 * store_core.c (texts non-NULL where required, within their limits, ids
 * and steps within INT64_MAX).  Return values are those of store.h.
 */
struct tk_store_ops {
	const char	*kind;
	void	(*close)(tk_store_t *);
	int	(*begin)(tk_store_t *);
	int	(*commit)(tk_store_t *);
	void	(*rollback)(tk_store_t *);
	int	(*cred_insert)(tk_store_t *, struct tk_cred *);
	int	(*cred_get)(tk_store_t *, const char *, uint64_t,
		    struct tk_cred *);
	int	(*cred_list)(tk_store_t *, const char *, int, bool,
		    struct tk_cred **, size_t *);
	int	(*cred_set_state)(tk_store_t *, const char *, uint64_t, int);
	int	(*cred_set_secret)(tk_store_t *, uint64_t, uint32_t,
		    const unsigned char *, size_t);
	int	(*cred_revoke_all)(tk_store_t *, const char *, uint64_t *);
	int	(*cred_expire)(tk_store_t *, int64_t, uint64_t *);
	int	(*totp_accept_step)(tk_store_t *, uint64_t, uint64_t,
		    int64_t);
	int	(*throttle_get)(tk_store_t *, const char *,
		    struct tk_throttle *);
	int	(*throttle_put)(tk_store_t *, const struct tk_throttle *);
	int	(*stats)(tk_store_t *, struct tk_store_stats *);
	int	(*ping)(tk_store_t *);
	/* true inside tk_store_begin() .. commit/rollback */
	bool	(*in_transaction)(tk_store_t *);
	/* the last audit row's seq and MAC; *seq = 0 when there is none */
	int	(*audit_last)(tk_store_t *, uint64_t *seq,
		    unsigned char mac[TK_STORE_MAC_BYTES]);
	int	(*audit_insert)(tk_store_t *, uint64_t seq,
		    const struct tk_audit_event *,
		    const unsigned char mac[TK_STORE_MAC_BYTES]);
	int	(*audit_walk)(tk_store_t *, tk_store_audit_fn_t *, void *);
	int	(*audit_read)(tk_store_t *, const struct tk_audit_filter *,
		    struct tk_audit_row *, size_t, size_t *, bool *);
	int	(*recovery_replace)(tk_store_t *, const char *,
		    const unsigned char (*)[TK_RECOVERY_HASH_BYTES], size_t,
		    int64_t);
	int	(*recovery_unused)(tk_store_t *, const char *,
		    struct tk_recovery **, size_t *);
	int	(*recovery_use)(tk_store_t *, uint64_t, int64_t);
	int	(*recovery_count)(tk_store_t *, const char *, uint64_t *);
	int	(*grant_insert)(tk_store_t *, struct tk_grant *);
	int	(*grant_active)(tk_store_t *, const char *, struct tk_grant *);
	/* user NULL: all; due_before > 0: only those expiring by then */
	int	(*grant_list)(tk_store_t *, const char *, int64_t,
		    struct tk_grant **, size_t *);
	int	(*grant_end)(tk_store_t *, uint64_t, int);
	int	(*backup)(tk_store_t *, const char *);
	/* FIDO2 */
	int	(*fido2_find)(tk_store_t *, const unsigned char *, size_t,
		    struct tk_cred *);
	int	(*fido2_accept_count)(tk_store_t *, uint64_t, uint32_t,
		    int64_t);
	int	(*challenge_insert)(tk_store_t *, struct tk_challenge *);
	int	(*challenge_take)(tk_store_t *, uint64_t, int,
		    struct tk_challenge *);
	int	(*challenge_expire)(tk_store_t *, int64_t, uint64_t *);
	/*
	 * Audit retention: the anchor (*seq = 0 when none); _prune as
	 * tk_store_audit_prune.  audit_last returns the anchor when no row
	 * is left after a prune.
	 */
	int	(*audit_anchor)(tk_store_t *, uint64_t *seq,
		    unsigned char mac[TK_STORE_MAC_BYTES]);
	int	(*audit_prune)(tk_store_t *, int64_t, uint64_t *, uint64_t *);
	/*
	 * Group commit (store.h, tk_store_batch_*).  While a batch is open,
	 * begin/commit/rollback above act on one request's nested unit
	 * (SQLite: a SAVEPOINT) and in_transaction is true only inside such
	 * a unit.  All four NULL in a backend without batches: tokend then
	 * commits each request on its own (tk_store_can_batch()).
	 */
	int	(*batch_begin)(tk_store_t *);
	int	(*batch_commit)(tk_store_t *);
	void	(*batch_rollback)(tk_store_t *);
	bool	(*in_batch)(tk_store_t *);
	/*
	 * One page of credentials (tk_store_cred_page), `max' + 1 rows read
	 * at most, without sealed secrets; and the pending credentials
	 * expired before `now' (tk_store_cred_pending_due), through an
	 * index, never a scan of all credentials.  NULL: store_core.c falls
	 * back on cred_list (correct, but O(all credentials)).
	 */
	int	(*cred_page)(tk_store_t *, const char *, uint64_t, size_t,
		    struct tk_cred *, size_t *, bool *);
	int	(*cred_pending_due)(tk_store_t *, int64_t, struct tk_cred **,
		    size_t *);
};

/*
 * The part every backend shares; a backend's own struct begins with it.
 * audit_key is sodium_malloc'd, read-only after open, wiped on close.
 */
struct tk_store {
	const struct tk_store_ops	*ops;
	unsigned char			*audit_key;
};

/* store_core.c: sets up and tears down the shared part */
int tk_store_base_init(tk_store_t *, const struct tk_store_ops *,
    const unsigned char *audit_key, size_t audit_key_len);
void tk_store_base_clear(tk_store_t *);
/* 0 inside a transaction, else TK_ERR_INVAL with a log line naming `what' */
int tk_store_need_transaction(tk_store_t *, const char *what);

/*
 * store_audit.c: the MAC of one row, chained to `prev' (the previous
 * row's MAC, or TK_STORE_MAC_BYTES zero bytes for the first row).
 */
int tk_store_audit_mac(const unsigned char *key, uint64_t seq,
    const struct tk_audit_event *, const unsigned char *prev,
    unsigned char out[TK_STORE_MAC_BYTES]);

#endif /* TK_STORE_OPS_H */
