/*
 * handlers.h -- one handler per request type, and the helpers they
 * share.  Handlers are called by tk_dispatch() after the role table has
 * allowed the request; they may also be called directly (tests).
 *
 * A handler returns 0 with *an set to a complete answer of the request's
 * type (any status, including refusals such as TK_ST_WRONG), or a
 * negative TK_ERR_* with *an NULL when it could not decide; the caller
 * then answers TK_ST_INTERNAL.  Either way every store change has been
 * committed or rolled back, and the event has been audited and logged.
 * Handlers never exit, never log a code, secret or URI, and read the
 * time only through tk_daemon_now().
 */
#ifndef TK_HANDLERS_H
#define TK_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "daemon.h"
#include "msg.h"
#include "role.h"

typedef int tk_handler_fn_t(struct tk_daemon *, const struct tk_peer *,
    const tk_msg_t *rq, tk_msg_t **an);

tk_handler_fn_t tk_handle_status;		/* h_status.c */
tk_handler_fn_t tk_handle_user_status;		/* h_status.c */
tk_handler_fn_t tk_handle_totp_verify;		/* h_totp.c */
tk_handler_fn_t tk_handle_totp_enroll_begin;	/* h_enroll.c */
tk_handler_fn_t tk_handle_totp_enroll_confirm;	/* h_enroll.c */
tk_handler_fn_t tk_handle_cred_list;		/* h_cred.c */
tk_handler_fn_t tk_handle_cred_revoke;		/* h_cred.c */
tk_handler_fn_t tk_handle_user_unlock;		/* h_cred.c */
tk_handler_fn_t tk_handle_audit_verify;		/* h_audit.c */
tk_handler_fn_t tk_handle_audit_export;		/* h_audit.c */
tk_handler_fn_t tk_handle_audit_prune;		/* h_audit.c */
tk_handler_fn_t tk_handle_backup;		/* h_audit.c */
tk_handler_fn_t tk_handle_recovery_issue;	/* h_recovery.c */
tk_handler_fn_t tk_handle_grant;		/* h_grant.c */
tk_handler_fn_t tk_handle_grant_revoke;		/* h_grant.c */
tk_handler_fn_t tk_handle_grant_list;		/* h_grant.c */
tk_handler_fn_t tk_handle_grant_use;		/* h_grant.c */
tk_handler_fn_t tk_handle_fido2_enroll_begin;	/* h_fido2.c */
tk_handler_fn_t tk_handle_fido2_enroll_finish;	/* h_fido2.c */
tk_handler_fn_t tk_handle_fido2_begin;		/* h_fido2.c */
tk_handler_fn_t tk_handle_fido2_finish;		/* h_fido2.c */
tk_handler_fn_t tk_handle_cred_reinstate;	/* h_fido2.c */

/*
 * Removes expired pending enrollments, one audit row each (event
 * "enroll_expire"), after ending the emergency grants that ran out
 * (tk_handle_expire_grants) and deleting expired FIDO2 challenges
 * (tk_handle_expire_challenges).  *count says how many enrollments.
 * Returns 0 or a store error (rolled back).  Called periodically by the
 * event loop.
 */
int tk_handle_expire_pending(struct tk_daemon *, uint64_t *count);
/*
 * Ends every active grant whose expiry has passed on tokend's clock,
 * one audit row each (event "grant_expire").  *count says how many.
 * Returns 0 or a store error (rolled back).  h_grant.c.
 */
int tk_handle_expire_grants(struct tk_daemon *, uint64_t *count);
/*
 * Deletes the FIDO2 challenges that expired on tokend's clock, used or
 * not (no audit row: a challenge is not a decision; its use was
 * audited).  *count says how many.  Returns 0 or a store error (rolled
 * back).  h_fido2.c; run by tk_handle_expire_pending().
 */
int tk_handle_expire_challenges(struct tk_daemon *, uint64_t *count);
/*
 * Checks a normalized recovery code (recovery.h) of `user' against the
 * user's unused codes inside the caller's transaction, and uses it up
 * when it matches.  *st is TK_ST_OK or TK_ST_WRONG; *left is the number
 * of unused codes afterwards.  Returns 0 or a store or crypto error.
 * h_recovery.c.
 */
int tk_recovery_check(struct tk_daemon *, const char *user,
    const char *norm, int64_t now, enum tk_status *st, uint64_t *left);

/*
 * Makes an answer of `type' with `status' and, when not NULL, a reason
 * text.  Returns 0 and *an, or TK_ERR_NOMEM.
 */
int tk_answer_new(uint32_t type, enum tk_status status, const char *reason,
    tk_msg_t **an);
/*
 * Commits the store; a failure is logged in plain words (a full disk
 * says so).  Returns 0 or the store's error.
 */
int tk_handler_commit(struct tk_daemon *);
/*
 * The end of every change a handler makes, in the order that keeps the
 * answer honest: appends the audit row `ev' inside the open transaction,
 * commits (rolling back when the row cannot be written), logs the event
 * to syslog, and only then hands the answer *mp over to *an.  The
 * transaction is closed whatever the result.  Returns 0, or the store's
 * error with *mp still the caller's.
 */
int tk_handler_finish(struct tk_daemon *, struct tk_audit_event *ev,
    tk_msg_t **mp, tk_msg_t **an);
/*
 * Logs the event of a handler that failed with `r' (result=internal,
 * reason the error's name) and counts it.
 */
void tk_handler_failed(struct tk_daemon *, struct tk_audit_event *, int r);
/*
 * Unseals the secret of TOTP credential `c' and matches `code' in the
 * configured window around `now' (tk_totp_match); the secret is wiped
 * before returning.  Returns 0 with *matched and *step, or
 * TK_ERR_CRYPTO / TK_ERR_INVAL (a row that cannot be checked).  h_totp.c.
 */
int tk_totp_check_cred(const struct tk_daemon *, const struct tk_cred *c,
    const char *code, int64_t now, bool *matched, uint64_t *step);
/* "pending", "active", "revoked", "suspended", or "unknown" */
const char *tk_cred_state_name(int state);

#endif /* TK_HANDLERS_H */
