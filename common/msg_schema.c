/*
 * msg_schema.c -- the per-message field tables.  Adding a message means
 * adding its type to proto.h, two tables here, and a section in
 * docs/protocol.md.
 */
#include "config.h"

#include <stddef.h>

#include "msg_schema.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define REQ		TK_F_REQUIRED
#define OPT		0

/* fields a PAM caller sends to say where a login happens */
#define LOGIN_CONTEXT							\
	{ TK_KEY_SERVICE, TK_V_TEXT, OPT, TK_SERVICE_MAX, NULL },	\
	{ TK_KEY_RHOST, TK_V_TEXT, OPT, TK_RHOST_MAX, NULL },		\
	{ TK_KEY_TTY, TK_V_TEXT, OPT, TK_TTY_MAX, NULL }

/* STATUS */
static const struct tk_field status_rq[] = { { 0, 0, 0, 0, NULL } };
static const struct tk_field status_an[] = {
	{ TK_KEY_DAEMON_VERSION, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_UPTIME, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_USERS, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CREDS_COUNT, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_LOCKED_USERS, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_STORE_OK, TK_V_BOOL, REQ, 0, NULL },
	{ TK_KEY_STORE_KIND, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
};

/* USER_STATUS */
static const struct tk_field user_status_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
};
static const struct tk_field user_status_an[] = {
	{ TK_KEY_FACTORS, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_LOCKED, TK_V_BOOL, REQ, 0, NULL },
	{ TK_KEY_FAILURES, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_RECOVERY_LEFT, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_EXPIRES, TK_V_UINT, OPT, 0, NULL },	/* active grant */
};

/* TOTP_VERIFY */
static const struct tk_field totp_verify_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CODE, TK_V_TEXT, REQ, TK_CODE_MAX, NULL },
	LOGIN_CONTEXT,
};
static const struct tk_field totp_verify_an[] = {
	{ TK_KEY_CRED, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_FAILURES, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_RETRY_AFTER, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_RECOVERY_LEFT, TK_V_UINT, OPT, 0, NULL }, /* code used */
};

/* TOTP_ENROLL_BEGIN */
static const struct tk_field totp_enroll_begin_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_LABEL, TK_V_TEXT, OPT, TK_LABEL_MAX, NULL },
	{ TK_KEY_DIGITS, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_ALGORITHM, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
};
static const struct tk_field totp_enroll_begin_an[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_URI, TK_V_TEXT, REQ, TK_URI_MAX, NULL },
	{ TK_KEY_STATE, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
};

/* TOTP_ENROLL_CONFIRM */
static const struct tk_field totp_enroll_confirm_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CODE, TK_V_TEXT, REQ, TK_CODE_MAX, NULL },
};
static const struct tk_field totp_enroll_confirm_an[] = {
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_STATE, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
};

/* a credential as CRED_LIST shows it */
static const struct tk_field cred_record[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_KIND, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_STATE, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_LABEL, TK_V_TEXT, OPT, TK_LABEL_MAX, NULL },
	{ TK_KEY_CREATED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_LAST_USED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_DIGITS, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_ALGORITHM, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_PERIOD, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_LOCKED, TK_V_BOOL, OPT, 0, NULL },
	{ TK_KEY_FAILURES, TK_V_UINT, OPT, 0, NULL },
	/*
	 * FIDO2 (ALGORITHM then holds "es256", "eddsa" or "rs256").  The
	 * credential id itself (up to 1 KiB) is not listed: a page must fit
	 * in a frame.
	 */
	{ TK_KEY_AAGUID, TK_V_BYTES, OPT, TK_FIDO2_AAGUID_BYTES, NULL },
	{ TK_KEY_SIGN_COUNT, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_FMT, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_UV, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
};
static const struct tk_schema cred_record_schema = {
	"CREDENTIAL", cred_record, NITEMS(cred_record)
};

/* CRED_LIST: one page of TK_LIST_PAGE records from OFFSET; MORE when
 * records follow */
static const struct tk_field cred_list_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, OPT, TK_USER_MAX, NULL },
	{ TK_KEY_OFFSET, TK_V_UINT, OPT, 0, NULL },
};
static const struct tk_field cred_list_an[] = {
	{ TK_KEY_CREDS, TK_V_LIST, REQ, TK_LIST_PAGE, &cred_record_schema },
	{ TK_KEY_MORE, TK_V_BOOL, OPT, 0, NULL },
};

/* CRED_REVOKE: exactly one of CRED and ALL is checked by tokend */
static const struct tk_field cred_revoke_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_ALL, TK_V_BOOL, OPT, 0, NULL },
};
static const struct tk_field cred_revoke_an[] = {
	{ TK_KEY_CREDS_COUNT, TK_V_UINT, REQ, 0, NULL },
};

/* USER_UNLOCK */
static const struct tk_field user_unlock_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
};
static const struct tk_field user_unlock_an[] = {
	{ TK_KEY_FAILURES, TK_V_UINT, REQ, 0, NULL },	/* count cleared */
};

/* AUDIT_VERIFY: BAD_SEQ present when the chain is broken there */
static const struct tk_field audit_verify_rq[] = { { 0, 0, 0, 0, NULL } };
static const struct tk_field audit_verify_an[] = {
	{ TK_KEY_COUNT, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_BAD_SEQ, TK_V_UINT, OPT, 0, NULL },
};

/* an audit row as AUDIT_EXPORT shows it; empty texts are left out */
static const struct tk_field audit_record[] = {
	{ TK_KEY_SEQ, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_TIME, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_HOST, TK_V_TEXT, OPT, TK_HOST_TEXT_MAX, NULL },
	{ TK_KEY_EVENT, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_USER, TK_V_TEXT, OPT, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_SERVICE, TK_V_TEXT, OPT, TK_SERVICE_MAX, NULL },
	{ TK_KEY_RHOST, TK_V_TEXT, OPT, TK_RHOST_MAX, NULL },
	{ TK_KEY_TTY, TK_V_TEXT, OPT, TK_TTY_MAX, NULL },
	{ TK_KEY_UID, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_PID, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_RESULT, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_REASON, TK_V_TEXT, OPT, TK_REASON_MAX, NULL },
};
static const struct tk_schema audit_record_schema = {
	"AUDIT", audit_record, NITEMS(audit_record)
};

/* AUDIT_EXPORT: rows after SEQ (0: from the first), filtered; MORE when
 * rows follow */
static const struct tk_field audit_export_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, OPT, TK_USER_MAX, NULL },
	{ TK_KEY_SEQ, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_SINCE, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_UNTIL, TK_V_UINT, OPT, 0, NULL },
};
static const struct tk_field audit_export_an[] = {
	{ TK_KEY_AUDIT, TK_V_LIST, REQ, TK_AUDIT_PAGE, &audit_record_schema },
	{ TK_KEY_MORE, TK_V_BOOL, OPT, 0, NULL },
};

/* one recovery code (secret) */
static const struct tk_field code_record[] = {
	{ TK_KEY_CODE, TK_V_TEXT, REQ, TK_CODE_MAX, NULL },
};
static const struct tk_schema code_record_schema = {
	"CODE", code_record, NITEMS(code_record)
};

/* RECOVERY_ISSUE */
static const struct tk_field recovery_issue_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_COUNT, TK_V_UINT, OPT, 0, NULL },
};
static const struct tk_field recovery_issue_an[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CODES, TK_V_LIST, REQ, TK_RECOVERY_COUNT_MAX,
	    &code_record_schema },
};

/* GRANT: REASON is required by tokend (checked there) */
static const struct tk_field grant_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_DURATION, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_REASON, TK_V_TEXT, REQ, TK_REASON_MAX, NULL },
};
static const struct tk_field grant_an[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_EXPIRES, TK_V_UINT, REQ, 0, NULL },
};

/* GRANT_REVOKE */
static const struct tk_field grant_revoke_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
};
static const struct tk_field grant_revoke_an[] = {
	{ TK_KEY_COUNT, TK_V_UINT, REQ, 0, NULL },
};

/* an active grant as GRANT_LIST shows it */
static const struct tk_field grant_record[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CREATED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_EXPIRES, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_UID, TK_V_UINT, OPT, 0, NULL },	/* granted by */
	{ TK_KEY_REASON, TK_V_TEXT, OPT, TK_REASON_MAX, NULL },
};
static const struct tk_schema grant_record_schema = {
	"GRANT", grant_record, NITEMS(grant_record)
};

/* GRANT_LIST: every active grant (at most TK_LIST_PAGE from OFFSET) */
static const struct tk_field grant_list_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, OPT, TK_USER_MAX, NULL },
	{ TK_KEY_OFFSET, TK_V_UINT, OPT, 0, NULL },
};
static const struct tk_field grant_list_an[] = {
	{ TK_KEY_GRANTS, TK_V_LIST, REQ, TK_LIST_PAGE, &grant_record_schema },
	{ TK_KEY_MORE, TK_V_BOOL, OPT, 0, NULL },
};

/* GRANT_USE: answered TK_ST_GRANTED (with EXPIRES) or a refusal */
static const struct tk_field grant_use_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	LOGIN_CONTEXT,
};
static const struct tk_field grant_use_an[] = {
	{ TK_KEY_EXPIRES, TK_V_UINT, OPT, 0, NULL },
};

/* BACKUP */
static const struct tk_field backup_rq[] = {
	{ TK_KEY_PATH, TK_V_TEXT, REQ, TK_PATH_MAX, NULL },
};
static const struct tk_field backup_an[] = {
	{ TK_KEY_PATH, TK_V_TEXT, REQ, TK_PATH_MAX, NULL },
};

/* AUDIT_PRUNE: removes the oldest rows, all older than UNTIL */
static const struct tk_field audit_prune_rq[] = {
	{ TK_KEY_UNTIL, TK_V_UINT, REQ, 0, NULL },
};
static const struct tk_field audit_prune_an[] = {
	{ TK_KEY_COUNT, TK_V_UINT, REQ, 0, NULL },	/* rows removed */
	{ TK_KEY_SEQ, TK_V_UINT, REQ, 0, NULL },	/* anchor: last
							   removed row */
};

/* one FIDO2 credential id (exclude and allow lists) */
static const struct tk_field cred_id_record[] = {
	{ TK_KEY_CRED_ID, TK_V_BYTES, REQ, TK_FIDO2_CRED_ID_MAX, NULL },
};
static const struct tk_schema cred_id_record_schema = {
	"CRED_ID", cred_id_record, NITEMS(cred_id_record)
};

/* FIDO2_ENROLL_BEGIN: UV overrides [fido2] user_verification */
static const struct tk_field fido2_enroll_begin_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_LABEL, TK_V_TEXT, OPT, TK_LABEL_MAX, NULL },
	{ TK_KEY_UV, TK_V_TEXT, OPT, TK_SHORT_TEXT_MAX, NULL },
};
static const struct tk_field fido2_enroll_begin_an[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CHALLENGE_ID, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CHALLENGE, TK_V_BYTES, REQ, TK_FIDO2_CHALLENGE_BYTES, NULL },
	{ TK_KEY_RP_ID, TK_V_TEXT, REQ, TK_RP_ID_MAX, NULL },
	{ TK_KEY_USER_HANDLE, TK_V_BYTES, REQ, TK_FIDO2_USER_HANDLE_BYTES,
	    NULL },
	{ TK_KEY_ALGORITHMS, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_UV, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_CRED_IDS, TK_V_LIST, OPT, TK_FIDO2_CREDS_MAX,
	    &cred_id_record_schema },			/* to exclude */
	{ TK_KEY_EXPIRES, TK_V_UINT, REQ, 0, NULL },
};

/* FIDO2_ENROLL_FINISH: the attestation, as libfido2 gives it */
static const struct tk_field fido2_enroll_finish_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CHALLENGE_ID, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_ALGORITHM, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_FMT, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_AUTHDATA, TK_V_BYTES, REQ, TK_FIDO2_AUTHDATA_MAX, NULL },
	{ TK_KEY_SIG, TK_V_BYTES, OPT, TK_FIDO2_SIG_MAX, NULL },
	{ TK_KEY_X5C, TK_V_BYTES, OPT, TK_FIDO2_X5C_MAX, NULL },
};
static const struct tk_field fido2_enroll_finish_an[] = {
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CRED_ID, TK_V_BYTES, REQ, TK_FIDO2_CRED_ID_MAX, NULL },
	{ TK_KEY_AAGUID, TK_V_BYTES, REQ, TK_FIDO2_AAGUID_BYTES, NULL },
	{ TK_KEY_ALGORITHM, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_FMT, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_STATE, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
};

/* FIDO2_BEGIN: a login challenge for the user's active credentials */
static const struct tk_field fido2_begin_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	LOGIN_CONTEXT,
};
static const struct tk_field fido2_begin_an[] = {
	{ TK_KEY_CHALLENGE_ID, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CHALLENGE, TK_V_BYTES, REQ, TK_FIDO2_CHALLENGE_BYTES, NULL },
	{ TK_KEY_RP_ID, TK_V_TEXT, REQ, TK_RP_ID_MAX, NULL },
	{ TK_KEY_CRED_IDS, TK_V_LIST, REQ, TK_FIDO2_CREDS_MAX,
	    &cred_id_record_schema },
	{ TK_KEY_UV, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
	{ TK_KEY_UP, TK_V_BOOL, REQ, 0, NULL },
	{ TK_KEY_EXPIRES, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_FAILURES, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_RETRY_AFTER, TK_V_UINT, OPT, 0, NULL },
};

/* FIDO2_FINISH: the assertion */
static const struct tk_field fido2_finish_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CHALLENGE_ID, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_CRED_ID, TK_V_BYTES, REQ, TK_FIDO2_CRED_ID_MAX, NULL },
	{ TK_KEY_AUTHDATA, TK_V_BYTES, REQ, TK_FIDO2_AUTHDATA_MAX, NULL },
	{ TK_KEY_SIG, TK_V_BYTES, REQ, TK_FIDO2_SIG_MAX, NULL },
	LOGIN_CONTEXT,
};
static const struct tk_field fido2_finish_an[] = {
	{ TK_KEY_CRED, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_SIGN_COUNT, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_FAILURES, TK_V_UINT, OPT, 0, NULL },
	{ TK_KEY_RETRY_AFTER, TK_V_UINT, OPT, 0, NULL },
};

/* CRED_REINSTATE: a suspended FIDO2 credential becomes active again */
static const struct tk_field cred_reinstate_rq[] = {
	{ TK_KEY_USER, TK_V_TEXT, REQ, TK_USER_MAX, NULL },
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
};
static const struct tk_field cred_reinstate_an[] = {
	{ TK_KEY_CRED, TK_V_UINT, REQ, 0, NULL },
	{ TK_KEY_STATE, TK_V_TEXT, REQ, TK_SHORT_TEXT_MAX, NULL },
};

#define SCHEMA(name, t)	{ name, t, NITEMS(t) }

static const struct tk_schema requests[TK_MSG_TYPE_END] = {
	[TK_MSG_STATUS] = { "STATUS", status_rq, 0 },
	[TK_MSG_USER_STATUS] = SCHEMA("USER_STATUS", user_status_rq),
	[TK_MSG_TOTP_VERIFY] = SCHEMA("TOTP_VERIFY", totp_verify_rq),
	[TK_MSG_TOTP_ENROLL_BEGIN] =
	    SCHEMA("TOTP_ENROLL_BEGIN", totp_enroll_begin_rq),
	[TK_MSG_TOTP_ENROLL_CONFIRM] =
	    SCHEMA("TOTP_ENROLL_CONFIRM", totp_enroll_confirm_rq),
	[TK_MSG_CRED_LIST] = SCHEMA("CRED_LIST", cred_list_rq),
	[TK_MSG_CRED_REVOKE] = SCHEMA("CRED_REVOKE", cred_revoke_rq),
	[TK_MSG_USER_UNLOCK] = SCHEMA("USER_UNLOCK", user_unlock_rq),
	[TK_MSG_AUDIT_VERIFY] = { "AUDIT_VERIFY", audit_verify_rq, 0 },
	[TK_MSG_AUDIT_EXPORT] = SCHEMA("AUDIT_EXPORT", audit_export_rq),
	[TK_MSG_RECOVERY_ISSUE] = SCHEMA("RECOVERY_ISSUE", recovery_issue_rq),
	[TK_MSG_GRANT] = SCHEMA("GRANT", grant_rq),
	[TK_MSG_GRANT_REVOKE] = SCHEMA("GRANT_REVOKE", grant_revoke_rq),
	[TK_MSG_GRANT_LIST] = SCHEMA("GRANT_LIST", grant_list_rq),
	[TK_MSG_GRANT_USE] = SCHEMA("GRANT_USE", grant_use_rq),
	[TK_MSG_BACKUP] = SCHEMA("BACKUP", backup_rq),
	[TK_MSG_AUDIT_PRUNE] = SCHEMA("AUDIT_PRUNE", audit_prune_rq),
	[TK_MSG_FIDO2_ENROLL_BEGIN] =
	    SCHEMA("FIDO2_ENROLL_BEGIN", fido2_enroll_begin_rq),
	[TK_MSG_FIDO2_ENROLL_FINISH] =
	    SCHEMA("FIDO2_ENROLL_FINISH", fido2_enroll_finish_rq),
	[TK_MSG_FIDO2_BEGIN] = SCHEMA("FIDO2_BEGIN", fido2_begin_rq),
	[TK_MSG_FIDO2_FINISH] = SCHEMA("FIDO2_FINISH", fido2_finish_rq),
	[TK_MSG_CRED_REINSTATE] = SCHEMA("CRED_REINSTATE", cred_reinstate_rq),
};

static const struct tk_schema answers[TK_MSG_TYPE_END] = {
	[TK_MSG_STATUS] = SCHEMA("STATUS", status_an),
	[TK_MSG_USER_STATUS] = SCHEMA("USER_STATUS", user_status_an),
	[TK_MSG_TOTP_VERIFY] = SCHEMA("TOTP_VERIFY", totp_verify_an),
	[TK_MSG_TOTP_ENROLL_BEGIN] =
	    SCHEMA("TOTP_ENROLL_BEGIN", totp_enroll_begin_an),
	[TK_MSG_TOTP_ENROLL_CONFIRM] =
	    SCHEMA("TOTP_ENROLL_CONFIRM", totp_enroll_confirm_an),
	[TK_MSG_CRED_LIST] = SCHEMA("CRED_LIST", cred_list_an),
	[TK_MSG_CRED_REVOKE] = SCHEMA("CRED_REVOKE", cred_revoke_an),
	[TK_MSG_USER_UNLOCK] = SCHEMA("USER_UNLOCK", user_unlock_an),
	[TK_MSG_AUDIT_VERIFY] = SCHEMA("AUDIT_VERIFY", audit_verify_an),
	[TK_MSG_AUDIT_EXPORT] = SCHEMA("AUDIT_EXPORT", audit_export_an),
	[TK_MSG_RECOVERY_ISSUE] = SCHEMA("RECOVERY_ISSUE", recovery_issue_an),
	[TK_MSG_GRANT] = SCHEMA("GRANT", grant_an),
	[TK_MSG_GRANT_REVOKE] = SCHEMA("GRANT_REVOKE", grant_revoke_an),
	[TK_MSG_GRANT_LIST] = SCHEMA("GRANT_LIST", grant_list_an),
	[TK_MSG_GRANT_USE] = SCHEMA("GRANT_USE", grant_use_an),
	[TK_MSG_BACKUP] = SCHEMA("BACKUP", backup_an),
	[TK_MSG_AUDIT_PRUNE] = SCHEMA("AUDIT_PRUNE", audit_prune_an),
	[TK_MSG_FIDO2_ENROLL_BEGIN] =
	    SCHEMA("FIDO2_ENROLL_BEGIN", fido2_enroll_begin_an),
	[TK_MSG_FIDO2_ENROLL_FINISH] =
	    SCHEMA("FIDO2_ENROLL_FINISH", fido2_enroll_finish_an),
	[TK_MSG_FIDO2_BEGIN] = SCHEMA("FIDO2_BEGIN", fido2_begin_an),
	[TK_MSG_FIDO2_FINISH] = SCHEMA("FIDO2_FINISH", fido2_finish_an),
	[TK_MSG_CRED_REINSTATE] = SCHEMA("CRED_REINSTATE", cred_reinstate_an),
};

const struct tk_schema *
tk_schema_lookup(enum tk_dir dir, uint32_t type)
{
	const struct tk_schema *t;

	if (type == 0 || type >= TK_MSG_TYPE_END)
		return (NULL);
	t = dir == TK_DIR_REQUEST ? &requests[type] : &answers[type];
	if (t->name == NULL)
		return (NULL);
	return (t);
}

const struct tk_field *
tk_schema_field(const struct tk_schema *s, unsigned key)
{
	size_t i;

	for (i = 0; i < s->nfields; i++)
		if (s->fields[i].key == key)
			return (&s->fields[i]);
	return (NULL);
}
