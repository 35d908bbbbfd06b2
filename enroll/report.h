/*
 * report.h -- the self-inspection (自己点検) summary behind tokenadm
 * audit report: the counting of one month's audit rows and of the
 * credential list, apart from the calls to tokend so that it can be
 * tested without a daemon (cmd_report.c).
 *
 * What is counted (event and result names as tokend writes them):
 *  - logins, per user and factor: "totp_verify" (TOTP), "fido2_verify"
 *    (FIDO2), "recovery_use" (recovery code), "grant_use" (emergency
 *    grant), each with result "ok";
 *  - failures, per user: "totp_verify", "fido2_verify" and
 *    "recovery_use" with any result but "ok" and "not_enrolled" (wrong,
 *    replay, locked, throttled, suspended, ...);
 *  - lockouts, per user: those with result "locked" and a reason (the
 *    failure that locked the user; an attempt while locked has none);
 *  - totals: the above, and "unlock", "enroll_confirm" (TOTP
 *    enrollments), "fido2_enroll" or "fido2_enroll_finish" (FIDO2
 *    enrollments), "revoke", "grant", "recovery_issue" (with the codes
 *    of its "count=N" reason), each with result "ok", and "denied"
 *    (requests the role table refused);
 *  - from the credential list: users none of whose credentials is
 *    active, and the active or suspended credentials not used for
 *    `unused_days' days (last used that long before `now', or never used
 *    and created that long before).
 */
#ifndef TK_REPORT_H
#define TK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define TK_REPORT_DAYS_DEFAULT	90	/* --unused-days */
#define TK_REPORT_DAYS_MAX	36500
#define TK_REPORT_MONTH_MAX	sizeof("YYYY-MM")

/* the factors of a login, in report order */
enum tk_report_factor {
	TK_RF_TOTP,
	TK_RF_FIDO2,
	TK_RF_RECOVERY,
	TK_RF_GRANT,
	TK_RF_N
};

/* one user's month */
struct tk_report_user {
	char		 user[TK_USER_MAX + 1];
	uint64_t	 logins[TK_RF_N];
	uint64_t	 failures;
	uint64_t	 lockouts;
	uint32_t	 creds;		/* credentials listed, any state */
	uint32_t	 active;	/* of which active */
	bool		 active_month;	/* a login, failure or lockout */
};

/* one credential unused for unused_days */
struct tk_report_cred {
	char		 user[TK_USER_MAX + 1];
	uint64_t	 id;
	char		 kind[TK_SHORT_TEXT_MAX + 1];
	char		 label[TK_LABEL_MAX + 1];
	char		 state[TK_SHORT_TEXT_MAX + 1];
	uint64_t	 created;	/* UNIX time */
	uint64_t	 last_used;	/* UNIX time, 0: never */
};

struct tk_report_totals {
	uint64_t	 rows;		/* audit rows of the month */
	uint64_t	 logins[TK_RF_N];
	uint64_t	 failures;
	uint64_t	 lockouts;
	uint64_t	 unlocks;
	uint64_t	 enroll_totp;
	uint64_t	 enroll_fido2;
	uint64_t	 revocations;
	uint64_t	 grants_issued;
	uint64_t	 grants_used;
	uint64_t	 recovery_issued;	/* sets of codes */
	uint64_t	 recovery_codes;	/* codes in them */
	uint64_t	 recovery_used;
	uint64_t	 denied;
};

struct tk_report {
	int64_t			 since;		/* month start, UTC */
	int64_t			 until;		/* next month start */
	int64_t			 now;
	uint64_t		 unused_days;
	struct tk_report_totals	 t;
	struct tk_report_user	*users;		/* sorted by name */
	size_t			 nusers;
	size_t			 users_cap;
	struct tk_report_cred	*unused;	/* in list order */
	size_t			 nunused;
	size_t			 unused_cap;
};

void tk_report_init(struct tk_report *, int64_t since, int64_t until,
    int64_t now, uint64_t unused_days);
void tk_report_free(struct tk_report *);
/* Counts one audit row (texts may be NULL).  0, or -1: out of memory. */
int tk_report_event(struct tk_report *, const char *event, const char *user,
    const char *result, const char *reason);
/* Counts one credential record.  0, or -1: out of memory. */
int tk_report_cred(struct tk_report *, const char *user, uint64_t id,
    const char *kind, const char *label, const char *state,
    uint64_t created, uint64_t last_used);
/* the user record of `user', or NULL */
const struct tk_report_user *tk_report_user(const struct tk_report *,
    const char *user);
/*
 * "YYYY-MM" into the UTC bounds [*since, *until) of that month; 0 or -1.
 * tk_report_prev_month: the calendar month (UTC) before the one of now.
 */
int tk_report_month(const char *s, int64_t *since, int64_t *until);
void tk_report_prev_month(int64_t now, int64_t *since, int64_t *until);

struct tk_adm;
/*
 * tokenadm audit report [--month YYYY-MM] [--unused-days N]: fetches and
 * prints the report (text, or JSON with --json).  Exit 0, or 1 when the
 * audit chain is broken (the report is printed all the same) or a call
 * failed.
 */
int tk_adm_audit_report(struct tk_adm *, int argc, char **argv);

#endif /* TK_REPORT_H */
