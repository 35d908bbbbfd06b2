/*
 * proto.h -- the tokend wire protocol: version, message types, map keys,
 * answer statuses and limits.  docs/protocol.md is the prose version of
 * this file; keep the two in step.
 *
 * A frame is a 4-byte big-endian length (1..TK_FRAME_MAX) followed by
 * that many bytes holding exactly one CBOR map with unsigned-integer keys.
 * Every map carries TK_KEY_VERSION and TK_KEY_TYPE.  A request and its
 * answer share the same type; an answer always carries TK_KEY_STATUS.
 * The framing and the messages are independent of the transport: the
 * UNIX-socket specifics live in client.c (and in tokend's listener).
 */
#ifndef TK_PROTO_H
#define TK_PROTO_H

#define TK_PROTO_VERSION	1

#define TK_FRAME_HDR_BYTES	4
#define TK_FRAME_MAX		65536	/* largest frame body, bytes */

/* message types: a request and its answer carry the same type */
enum tk_msg_type {
	TK_MSG_STATUS = 1,		/* daemon health; any role */
	TK_MSG_USER_STATUS = 2,		/* factors of one user; self+ */
	TK_MSG_TOTP_VERIFY = 3,		/* check a code; self+ */
	TK_MSG_TOTP_ENROLL_BEGIN = 4,	/* new pending TOTP secret; admin+ */
	TK_MSG_TOTP_ENROLL_CONFIRM = 5,	/* activate on a valid code; admin+ */
	TK_MSG_CRED_LIST = 6,		/* list credentials; admin+ */
	TK_MSG_CRED_REVOKE = 7,		/* revoke one or all; admin+ */
	TK_MSG_USER_UNLOCK = 8,		/* clear a lockout; admin+ */
	TK_MSG_AUDIT_VERIFY = 9,	/* check the audit chain; admin+ */
	TK_MSG_AUDIT_EXPORT = 10,	/* one page of audit rows; admin+ */
	TK_MSG_RECOVERY_ISSUE = 11,	/* new recovery codes; admin+ */
	TK_MSG_GRANT = 12,		/* emergency access grant; admin+ */
	TK_MSG_GRANT_REVOKE = 13,	/* end a grant early; admin+ */
	TK_MSG_GRANT_LIST = 14,		/* active grants; admin+ */
	TK_MSG_GRANT_USE = 15,		/* log in on a grant; self+ */
	TK_MSG_BACKUP = 16,		/* online copy of the store; root */
	TK_MSG_AUDIT_PRUNE = 17,	/* drop old audit rows, keep an
					   anchor; admin+ */
	TK_MSG_FIDO2_ENROLL_BEGIN = 18,	/* creation parameters; admin+ */
	TK_MSG_FIDO2_ENROLL_FINISH = 19,/* verify and store an attestation;
					   admin+ */
	TK_MSG_FIDO2_BEGIN = 20,	/* login challenge; self+ */
	TK_MSG_FIDO2_FINISH = 21,	/* verify an assertion; self+ */
	TK_MSG_CRED_REINSTATE = 22,	/* suspended -> active; admin+ */
	TK_MSG_TYPE_END			/* one past the last type */
};

/*
 * Map keys.  One key space for all messages; each message type allows a
 * subset (the schemas in msg_schema.c).  Keys of records inside a list
 * (TK_KEY_CREDS) come from the same space.
 */
enum tk_key {
	TK_KEY_VERSION = 0,	/* uint: TK_PROTO_VERSION */
	TK_KEY_TYPE = 1,	/* uint: enum tk_msg_type */
	TK_KEY_STATUS = 2,	/* uint: enum tk_status (answers only) */
	TK_KEY_REASON = 3,	/* text: human-readable detail (answers) */

	TK_KEY_USER = 10,	/* text: login name */
	TK_KEY_CODE = 11,	/* text: the code the user typed (secret) */
	TK_KEY_SERVICE = 12,	/* text: PAM service */
	TK_KEY_RHOST = 13,	/* text: PAM_RHOST */
	TK_KEY_TTY = 14,	/* text: PAM_TTY */

	TK_KEY_CRED = 20,	/* uint: credential id */
	TK_KEY_LABEL = 21,	/* text: credential label */
	TK_KEY_KIND = 22,	/* text: "totp" */
	TK_KEY_STATE = 23,	/* text: "pending", "active", "revoked" */
	TK_KEY_CREATED = 24,	/* uint: UNIX time */
	TK_KEY_LAST_USED = 25,	/* uint: UNIX time, 0 = never */
	TK_KEY_DIGITS = 26,	/* uint: 6 or 8 */
	TK_KEY_ALGORITHM = 27,	/* text: "sha1", "sha256", "sha512" */
	TK_KEY_URI = 28,	/* text: otpauth:// URI (secret) */
	TK_KEY_ALL = 29,	/* bool: revoke every credential */
	TK_KEY_PERIOD = 30,	/* uint: TOTP period, seconds */

	TK_KEY_FACTORS = 40,	/* uint: bit set of TK_FACTOR_* */
	TK_KEY_LOCKED = 41,	/* bool */
	TK_KEY_FAILURES = 42,	/* uint: consecutive failures */
	TK_KEY_RETRY_AFTER = 43,/* uint: seconds to wait (TK_ST_THROTTLED) */

	TK_KEY_DAEMON_VERSION = 50, /* text */
	TK_KEY_UPTIME = 51,	/* uint: seconds */
	TK_KEY_USERS = 52,	/* uint: users with a credential */
	TK_KEY_CREDS_COUNT = 53,/* uint: credentials stored */
	TK_KEY_STORE_OK = 54,	/* bool: store answered a health query */
	TK_KEY_STORE_KIND = 55,	/* text: "sqlite" */
	TK_KEY_LOCKED_USERS = 56, /* uint: users locked now */

	TK_KEY_CREDS = 60,	/* array of credential records */
	TK_KEY_OFFSET = 61,	/* uint: first record of a page (CRED_LIST) */
	TK_KEY_MORE = 62,	/* bool: records follow this page */
	TK_KEY_COUNT = 63,	/* uint: rows verified, codes issued, ... */

	TK_KEY_SEQ = 64,	/* uint: audit sequence number (a cursor in
				   AUDIT_EXPORT requests) */
	TK_KEY_TIME = 65,	/* uint: UNIX time of an audit row */
	TK_KEY_HOST = 66,	/* text: host that wrote an audit row */
	TK_KEY_EVENT = 67,	/* text: audit event name */
	TK_KEY_UID = 68,	/* uint: caller uid of an audit row */
	TK_KEY_PID = 69,	/* uint: caller pid of an audit row */
	TK_KEY_RESULT = 70,	/* text: audit result word */
	TK_KEY_SINCE = 71,	/* uint: UNIX time, inclusive */
	TK_KEY_UNTIL = 72,	/* uint: UNIX time, exclusive */
	TK_KEY_BAD_SEQ = 73,	/* uint: first audit row that fails */
	TK_KEY_AUDIT = 74,	/* array of audit records */
	TK_KEY_RECOVERY_LEFT = 75, /* uint: unused recovery codes left */
	TK_KEY_CODES = 76,	/* array of records holding one CODE each */
	TK_KEY_DURATION = 77,	/* uint: seconds */
	TK_KEY_EXPIRES = 78,	/* uint: UNIX time a grant ends */
	TK_KEY_GRANTS = 79,	/* array of grant records */
	TK_KEY_PATH = 80,	/* text: absolute file name */

	TK_KEY_RP_ID = 81,	/* text: WebAuthn relying party id */
	TK_KEY_CHALLENGE = 82,	/* bytes: TK_FIDO2_CHALLENGE_BYTES, used as
				   the client data hash */
	TK_KEY_CHALLENGE_ID = 83, /* uint: names a challenge in the store */
	TK_KEY_USER_HANDLE = 84,/* bytes: WebAuthn user.id (random) */
	TK_KEY_CRED_IDS = 85,	/* array of records holding one CRED_ID */
	TK_KEY_CRED_ID = 86,	/* bytes: FIDO2 credential id */
	TK_KEY_ALGORITHMS = 87,	/* text: allowed COSE algorithms, in order
				   of preference: "es256,eddsa,rs256" */
	TK_KEY_UV = 88,		/* text: "required", "preferred",
				   "discouraged" */
	TK_KEY_UP = 89,		/* bool: user presence (touch) required */
	TK_KEY_AUTHDATA = 90,	/* bytes: authenticator data, raw (not
				   CBOR-wrapped) */
	TK_KEY_SIG = 91,	/* bytes: assertion or attestation signature */
	TK_KEY_FMT = 92,	/* text: attestation format "packed", ... */
	TK_KEY_X5C = 93,	/* bytes: attestation certificate (DER) */
	TK_KEY_AAGUID = 94,	/* bytes: 16, the key model */
	TK_KEY_SIGN_COUNT = 95,	/* uint: signature counter */
	TK_KEY_END		/* one past the last key */
};

/* bits of TK_KEY_FACTORS */
#define TK_FACTOR_TOTP		0x01u
#define TK_FACTOR_RECOVERY	0x02u	/* unused recovery codes (typed at
					   the TOTP prompt) */
#define TK_FACTOR_FIDO2		0x04u	/* an active FIDO2 credential */

/* answer statuses: the wire vocabulary of outcomes */
enum tk_status {
	TK_ST_OK = 0,		/* done; for verifications: the factor passed */
	TK_ST_WRONG = 1,	/* wrong code */
	TK_ST_REPLAY = 2,	/* code already used (same or older step) */
	TK_ST_LOCKED = 3,	/* too many failures; needs tokenadm unlock */
	TK_ST_NOT_ENROLLED = 4,	/* user has no active credential */
	TK_ST_THROTTLED = 5,	/* too soon after a failure; see RETRY_AFTER */
	TK_ST_DENIED = 6,	/* caller's role may not do this */
	TK_ST_BAD_REQUEST = 7,	/* malformed or invalid request */
	TK_ST_NOT_FOUND = 8,	/* no such user or credential */
	TK_ST_EXISTS = 9,	/* already exists */
	TK_ST_INTERNAL = 10,	/* store, crypto or clock failure: fail closed */
	TK_ST_VERSION = 11,	/* unsupported protocol version */
	TK_ST_EXPIRED = 12,	/* pending enrollment expired */
	TK_ST_GRANTED = 13,	/* GRANT_USE only: an active emergency grant
				   lets this login pass without a factor */
	TK_ST_SUSPENDED = 14,	/* FIDO2: the signature counter did not grow
				   (possible cloned key); the credential is
				   now suspended until tokenadm reinstate */
	TK_ST_NOT_ALLOWED = 15,	/* policy refuses: key model (AAGUID) not
				   allowed, or no user verification where
				   it is required */
	TK_ST_END
};

/* limits of text and byte fields, in bytes */
#define TK_USER_MAX		256
#define TK_CODE_MAX		32
#define TK_SERVICE_MAX		64
#define TK_RHOST_MAX		256
#define TK_TTY_MAX		64
#define TK_LABEL_MAX		64
#define TK_REASON_MAX		256
#define TK_URI_MAX		1024
#define TK_SHORT_TEXT_MAX	32	/* kind, state, algorithm, store kind */
#define TK_LIST_MAX		1024	/* records in one list */
/*
 * Records in one CRED_LIST page: a full credential record with every
 * field at its limit (FIDO2 fields included) takes under 560 bytes, so
 * a page always fits in a frame (test_msg's test_list_records checks).
 */
#define TK_LIST_PAGE		100
/*
 * Records in one AUDIT_EXPORT page: an audit record with every text at
 * its limit (host 255, event 32, user 256, service 64, rhost 256, tty 64,
 * result 32, reason 256 bytes) and five 64-bit numbers takes under 1,400
 * bytes, so 40 of them always fit in a frame.
 */
#define TK_AUDIT_PAGE		40
#define TK_HOST_TEXT_MAX	255	/* audit host, bytes */
#define TK_PATH_MAX		1024	/* BACKUP path, bytes */
/* recovery codes: RECOVERY_ISSUE count, and the code shape */
#define TK_RECOVERY_COUNT_DEFAULT 10
#define TK_RECOVERY_COUNT_MAX	20
#define TK_RECOVERY_CHARS	12	/* Crockford base32: 60 bits */
#define TK_RECOVERY_GROUP	4	/* shown as xxxx-xxxx-xxxx */
#define TK_RECOVERY_TEXT_MAX	14	/* with both dashes */
/* FIDO2 */
#define TK_RP_ID_MAX		253
#define TK_FIDO2_CHALLENGE_BYTES 32
#define TK_FIDO2_USER_HANDLE_BYTES 32
#define TK_FIDO2_AAGUID_BYTES	16
#define TK_FIDO2_CRED_ID_MAX	1024	/* credential id, bytes */
#define TK_FIDO2_AUTHDATA_MAX	4096	/* authenticator data, bytes */
#define TK_FIDO2_SIG_MAX	1024	/* a signature, bytes */
#define TK_FIDO2_X5C_MAX	8192	/* attestation certificate, bytes */
#define TK_FIDO2_PUBKEY_MAX	1024	/* raw public key, bytes (store) */
#define TK_FIDO2_CREDS_MAX	16	/* active FIDO2 credentials a user */

#endif /* TK_PROTO_H */
