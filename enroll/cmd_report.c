/*
 * cmd_report.c -- tokenadm audit report: a month's summary for
 * self-inspection (自己点検), computed here from the pages of
 * AUDIT_EXPORT (the month's rows), CRED_LIST (every credential) and the
 * result of AUDIT_VERIFY.  The counting rules are in report.h.
 *
 * A month is a calendar month in UTC, like every date of tokenadm;
 * "unused for N days" is measured from tokenadm's clock.
 *
 * JSON output (--json), one object; times are ISO 8601 UTC:
 *   month, since, until, generated     "YYYY-MM" and three times
 *   unused_days                        N
 *   audit_rows                         rows of the month
 *   chain {intact, rows, first_bad_row}   as tokenadm audit verify
 *   users [{user, logins {totp, fido2, recovery, grant}, failures,
 *          lockouts}]                  users with any of these
 *   totals {logins {totp, fido2, recovery, grant}, failures, lockouts,
 *          unlocks, enrollments {totp, fido2}, revocations,
 *          grants_issued, grants_used, recovery_issued,
 *          recovery_codes_issued, recovery_used, denied}
 *   no_active_credential [{user, credentials}]
 *   unused_credentials [{user, credential, kind, label, state, created,
 *          last_used}]                 last_used null: never used
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "json.h"
#include "out.h"
#include "report.h"
#include "tokenadm.h"

#define DAY_S		86400
#define NUM_MAX		24	/* a uint64_t in decimal, with NUL */
#define USER_COLS	7
#define CRED_COLS	6

static const char *const factor_key[TK_RF_N] = {
	"totp", "fido2", "recovery", "grant"
};

/* ---------------------------------------------------------------- */
/* counting (no I/O) */

void
tk_report_init(struct tk_report *r, int64_t since, int64_t until,
    int64_t now, uint64_t unused_days)
{
	memset(r, 0, sizeof(*r));
	r->since = since;
	r->until = until;
	r->now = now;
	r->unused_days = unused_days;
}

void
tk_report_free(struct tk_report *r)
{
	free(r->users);
	free(r->unused);
	memset(r, 0, sizeof(*r));
}

/* copies s (NULL: "") into out[max + 1], cut at max bytes */
static void
copy_text(char *out, size_t max, const char *s)
{
	size_t n = s != NULL ? strnlen(s, max) : 0;

	if (n > 0)
		memcpy(out, s, n);
	out[n] = '\0';
}

/* index of `user' in the sorted users, or where it would go (*found) */
static size_t
user_find(const struct tk_report *r, const char *user, bool *found)
{
	size_t lo = 0, hi = r->nusers, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(user, r->users[mid].user);
		if (c == 0) {
			*found = true;
			return (mid);
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (lo);
}

const struct tk_report_user *
tk_report_user(const struct tk_report *r, const char *user)
{
	size_t i;
	bool found;

	if (user == NULL)
		return (NULL);
	i = user_find(r, user, &found);
	return (found ? &r->users[i] : NULL);
}

/* the record of `user', added when new; NULL when out of memory */
static struct tk_report_user *
user_get(struct tk_report *r, const char *user)
{
	struct tk_report_user *u;
	size_t i, cap;
	bool found;

	i = user_find(r, user, &found);
	if (found)
		return (&r->users[i]);
	if (r->nusers == r->users_cap) {
		cap = r->users_cap == 0 ? 64 : r->users_cap * 2;
		if ((u = reallocarray(r->users, cap, sizeof(*u))) == NULL)
			return (NULL);
		r->users = u;
		r->users_cap = cap;
	}
	memmove(&r->users[i + 1], &r->users[i],
	    (r->nusers - i) * sizeof(*r->users));
	r->nusers++;
	u = &r->users[i];
	memset(u, 0, sizeof(*u));
	copy_text(u->user, TK_USER_MAX, user);
	return (u);
}

static bool
is(const char *s, const char *word)
{
	return (s != NULL && strcmp(s, word) == 0);
}

/* the factor of a verification event, or TK_RF_N for other events */
static enum tk_report_factor
event_factor(const char *event)
{
	if (is(event, "totp_verify"))
		return (TK_RF_TOTP);
	if (is(event, "fido2_verify"))
		return (TK_RF_FIDO2);
	if (is(event, "recovery_use"))
		return (TK_RF_RECOVERY);
	if (is(event, "grant_use"))
		return (TK_RF_GRANT);
	return (TK_RF_N);
}

/* N of a "count=N" reason; 0 when it is not one */
static uint64_t
reason_count(const char *reason)
{
	uint64_t v;

	if (reason == NULL || strncmp(reason, "count=", 6) != 0 ||
	    tk_adm_parse_uint(reason + 6, 0, UINT32_MAX, &v) != 0)
		return (0);
	return (v);
}

int
tk_report_event(struct tk_report *r, const char *event, const char *user,
    const char *result, const char *reason)
{
	struct tk_report_user *u = NULL;
	enum tk_report_factor fac;
	bool ok = is(result, "ok"), failure, lockout;

	r->t.rows++;
	fac = event_factor(event);
	if (fac != TK_RF_N) {
		failure = fac != TK_RF_GRANT && !ok &&
		    !is(result, "not_enrolled");
		lockout = failure && is(result, "locked") &&
		    reason != NULL && *reason != '\0';
		if (!ok && !failure)
			return (0);
		if (user != NULL && *user != '\0' &&
		    (u = user_get(r, user)) == NULL)
			return (-1);
		if (u != NULL)
			u->active_month = true;
		if (ok) {
			r->t.logins[fac]++;
			if (u != NULL)
				u->logins[fac]++;
			if (fac == TK_RF_GRANT)
				r->t.grants_used++;
			if (fac == TK_RF_RECOVERY)
				r->t.recovery_used++;
			return (0);
		}
		r->t.failures++;
		if (u != NULL)
			u->failures++;
		if (lockout) {
			r->t.lockouts++;
			if (u != NULL)
				u->lockouts++;
		}
		return (0);
	}
	if (is(event, "denied")) {
		r->t.denied++;
		return (0);
	}
	if (!ok)
		return (0);
	if (is(event, "unlock"))
		r->t.unlocks++;
	else if (is(event, "enroll_confirm"))
		r->t.enroll_totp++;
	else if (is(event, "fido2_enroll") ||
	    is(event, "fido2_enroll_finish"))
		r->t.enroll_fido2++;
	else if (is(event, "revoke"))
		r->t.revocations++;
	else if (is(event, "grant"))
		r->t.grants_issued++;
	else if (is(event, "recovery_issue")) {
		r->t.recovery_issued++;
		r->t.recovery_codes += reason_count(reason);
	}
	return (0);
}

int
tk_report_cred(struct tk_report *r, const char *user, uint64_t id,
    const char *kind, const char *label, const char *state,
    uint64_t created, uint64_t last_used)
{
	struct tk_report_user *u;
	struct tk_report_cred *c;
	uint64_t ref, age;
	size_t cap;

	if (user == NULL || *user == '\0')
		return (0);
	if ((u = user_get(r, user)) == NULL)
		return (-1);
	u->creds++;
	if (is(state, "active"))
		u->active++;
	/* revoked ones are gone and pending ones expire by themselves */
	if (!is(state, "active") && !is(state, "suspended"))
		return (0);
	ref = last_used != 0 ? last_used : created;
	age = r->unused_days * DAY_S;
	if (r->now < 0 || ref > (uint64_t)r->now || (uint64_t)r->now - ref <
	    age)
		return (0);
	if (r->nunused == r->unused_cap) {
		cap = r->unused_cap == 0 ? 16 : r->unused_cap * 2;
		if ((c = reallocarray(r->unused, cap, sizeof(*c))) == NULL)
			return (-1);
		r->unused = c;
		r->unused_cap = cap;
	}
	c = &r->unused[r->nunused++];
	memset(c, 0, sizeof(*c));
	copy_text(c->user, TK_USER_MAX, user);
	c->id = id;
	copy_text(c->kind, TK_SHORT_TEXT_MAX, kind);
	copy_text(c->label, TK_LABEL_MAX, label);
	copy_text(c->state, TK_SHORT_TEXT_MAX, state);
	c->created = created;
	c->last_used = last_used;
	return (0);
}

/* midnight UTC of the first of month `mon' (0..11) of `year' */
static int64_t
month_start(int year, int mon)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = 1;
	return ((int64_t)timegm(&tm));
}

int
tk_report_month(const char *s, int64_t *since, int64_t *until)
{
	int year = 0, mon = 0, i;

	*since = *until = 0;
	if (s == NULL || strnlen(s, 8) != 7 || s[4] != '-')
		return (-1);
	for (i = 0; i < 7; i++) {
		if (i == 4)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (i < 4)
			year = year * 10 + (s[i] - '0');
		else
			mon = mon * 10 + (s[i] - '0');
	}
	if (year < 1970 || mon < 1 || mon > 12)
		return (-1);
	*since = month_start(year, mon - 1);
	*until = mon == 12 ? month_start(year + 1, 0) :
	    month_start(year, mon);
	return (0);
}

void
tk_report_prev_month(int64_t now, int64_t *since, int64_t *until)
{
	struct tm tm;
	time_t t = (time_t)now;

	memset(&tm, 0, sizeof(tm));
	(void)gmtime_r(&t, &tm);
	*until = month_start(tm.tm_year + 1900, tm.tm_mon);
	*since = tm.tm_mon == 0 ? month_start(tm.tm_year + 1900 - 1, 11) :
	    month_start(tm.tm_year + 1900, tm.tm_mon - 1);
}

/* ---------------------------------------------------------------- */
/* the calls to tokend */



/* every audit row of the month, page by page */
static int
fetch_audit(struct tk_adm *c, struct tk_report *r)
{
	tk_msg_t *req = NULL, *ans = NULL;
	const tk_msg_t *rec;
	uint64_t after = 0, seq;
	size_t i, n;
	bool more;
	int ex;

	do {
		if ((req = tk_msg_new(TK_DIR_REQUEST,
		    TK_MSG_AUDIT_EXPORT)) == NULL ||
		    tk_msg_set_uint(req, TK_KEY_SINCE,
		    (uint64_t)r->since) != 0 ||
		    tk_msg_set_uint(req, TK_KEY_UNTIL,
		    (uint64_t)r->until) != 0 ||
		    tk_msg_set_uint(req, TK_KEY_SEQ, after) != 0) {
			ex = tk_adm_oom();
			goto fail;
		}
		if ((ex = tk_adm_call(c, req, NULL, &ans)) != TK_EXIT_OK)
			goto fail;
		tk_msg_free(&req);
		n = tk_msg_count(ans, TK_KEY_AUDIT);
		if (tk_msg_get_bool(ans, TK_KEY_MORE, &more) != 0)
			more = false;
		if (more && n == 0) {
			ex = tk_adm_incomplete();
			goto fail;
		}
		for (i = 0; i < n; i++) {
			rec = tk_msg_record(ans, TK_KEY_AUDIT, i);
			/* the cursor only moves forward */
			if (tk_msg_get_uint(rec, TK_KEY_SEQ, &seq) != 0 ||
			    seq <= after) {
				ex = tk_adm_incomplete();
				goto fail;
			}
			after = seq;
			if (tk_report_event(r,
			    tk_msg_get_text(rec, TK_KEY_EVENT),
			    tk_msg_get_text(rec, TK_KEY_USER),
			    tk_msg_get_text(rec, TK_KEY_RESULT),
			    tk_msg_get_text(rec, TK_KEY_REASON)) != 0) {
				ex = tk_adm_oom();
				goto fail;
			}
		}
		tk_msg_free(&ans);
	} while (more);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

/* one CRED_LIST page into the report */
static int
report_cred_page(void *arg, tk_msg_t **ansp)
{
	struct tk_report *r = arg;
	const tk_msg_t *rec;
	uint64_t id, created, used;
	size_t i;

	for (i = 0; i < tk_msg_count(*ansp, TK_KEY_CREDS); i++) {
		rec = tk_msg_record(*ansp, TK_KEY_CREDS, i);
		if (tk_msg_get_uint(rec, TK_KEY_CRED, &id) != 0)
			id = 0;
		if (tk_msg_get_uint(rec, TK_KEY_CREATED, &created) != 0)
			created = 0;
		if (tk_msg_get_uint(rec, TK_KEY_LAST_USED, &used) != 0)
			used = 0;
		if (tk_report_cred(r, tk_msg_get_text(rec, TK_KEY_USER), id,
		    tk_msg_get_text(rec, TK_KEY_KIND),
		    tk_msg_get_text(rec, TK_KEY_LABEL),
		    tk_msg_get_text(rec, TK_KEY_STATE), created, used) != 0)
			return (tk_adm_oom());
	}
	return (TK_EXIT_OK);
}

/* every credential, page by page (as tokenadm list) */
static int
fetch_creds(struct tk_adm *c, struct tk_report *r)
{
	return (tk_adm_each_page(c, TK_MSG_CRED_LIST, TK_KEY_CREDS, NULL,
	    report_cred_page, r));
}

/* AUDIT_VERIFY: *rows verified, *bad the first bad row (0: intact) */
static int
fetch_chain(struct tk_adm *c, uint64_t *rows, uint64_t *bad)
{
	tk_msg_t *req = NULL, *ans = NULL;
	int ex;

	*rows = *bad = 0;
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_AUDIT_VERIFY)) == NULL) {
		ex = tk_adm_oom();
		goto fail;
	}
	if ((ex = tk_adm_call(c, req, NULL, &ans)) != TK_EXIT_OK)
		goto fail;
	if (tk_msg_get_uint(ans, TK_KEY_COUNT, rows) != 0) {
		ex = tk_adm_incomplete();
		goto fail;
	}
	if (tk_msg_get_uint(ans, TK_KEY_BAD_SEQ, bad) != 0)
		*bad = 0;
	ex = TK_EXIT_OK;
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

/* ---------------------------------------------------------------- */
/* output */

static void
json_time(struct tk_json *j, uint64_t t)
{
	char buf[TK_OUT_TIME_MAX];

	tk_json_string(j, tk_out_time(t, buf));
}

static void
json_factors(struct tk_json *j, const uint64_t logins[TK_RF_N])
{
	size_t f;

	tk_json_object_begin(j);
	for (f = 0; f < TK_RF_N; f++) {
		tk_json_key(j, factor_key[f]);
		tk_json_uint(j, logins[f]);
	}
	tk_json_object_end(j);
}

static void
json_count(struct tk_json *j, const char *key, uint64_t v)
{
	tk_json_key(j, key);
	tk_json_uint(j, v);
}

static int
report_json(const struct tk_report *r, const char *month, uint64_t rows,
    uint64_t bad)
{
	const struct tk_report_user *u;
	const struct tk_report_cred *cr;
	struct tk_json j;
	size_t i;

	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "month");
	tk_json_string(&j, month);
	tk_json_key(&j, "since");
	json_time(&j, (uint64_t)r->since);
	tk_json_key(&j, "until");
	json_time(&j, (uint64_t)r->until);
	tk_json_key(&j, "generated");
	json_time(&j, (uint64_t)r->now);
	json_count(&j, "unused_days", r->unused_days);
	json_count(&j, "audit_rows", r->t.rows);

	tk_json_key(&j, "chain");
	tk_json_object_begin(&j);
	tk_json_key(&j, "intact");
	tk_json_bool(&j, bad == 0);
	json_count(&j, "rows", rows);
	tk_json_key(&j, "first_bad_row");
	if (bad != 0)
		tk_json_uint(&j, bad);
	else
		tk_json_null(&j);
	tk_json_object_end(&j);

	tk_json_key(&j, "users");
	tk_json_array_begin(&j);
	for (i = 0; i < r->nusers; i++) {
		u = &r->users[i];
		if (!u->active_month)
			continue;
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, u->user);
		tk_json_key(&j, "logins");
		json_factors(&j, u->logins);
		json_count(&j, "failures", u->failures);
		json_count(&j, "lockouts", u->lockouts);
		tk_json_object_end(&j);
	}
	tk_json_array_end(&j);

	tk_json_key(&j, "totals");
	tk_json_object_begin(&j);
	tk_json_key(&j, "logins");
	json_factors(&j, r->t.logins);
	json_count(&j, "failures", r->t.failures);
	json_count(&j, "lockouts", r->t.lockouts);
	json_count(&j, "unlocks", r->t.unlocks);
	tk_json_key(&j, "enrollments");
	tk_json_object_begin(&j);
	json_count(&j, "totp", r->t.enroll_totp);
	json_count(&j, "fido2", r->t.enroll_fido2);
	tk_json_object_end(&j);
	json_count(&j, "revocations", r->t.revocations);
	json_count(&j, "grants_issued", r->t.grants_issued);
	json_count(&j, "grants_used", r->t.grants_used);
	json_count(&j, "recovery_issued", r->t.recovery_issued);
	json_count(&j, "recovery_codes_issued", r->t.recovery_codes);
	json_count(&j, "recovery_used", r->t.recovery_used);
	json_count(&j, "denied", r->t.denied);
	tk_json_object_end(&j);

	tk_json_key(&j, "no_active_credential");
	tk_json_array_begin(&j);
	for (i = 0; i < r->nusers; i++) {
		u = &r->users[i];
		if (u->creds == 0 || u->active > 0)
			continue;
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, u->user);
		json_count(&j, "credentials", u->creds);
		tk_json_object_end(&j);
	}
	tk_json_array_end(&j);

	tk_json_key(&j, "unused_credentials");
	tk_json_array_begin(&j);
	for (i = 0; i < r->nunused; i++) {
		cr = &r->unused[i];
		tk_json_object_begin(&j);
		tk_json_key(&j, "user");
		tk_json_string(&j, cr->user);
		json_count(&j, "credential", cr->id);
		tk_json_key(&j, "kind");
		tk_json_string(&j, cr->kind);
		tk_json_key(&j, "label");
		tk_json_string(&j, cr->label);
		tk_json_key(&j, "state");
		tk_json_string(&j, cr->state);
		tk_json_key(&j, "created");
		json_time(&j, cr->created);
		tk_json_key(&j, "last_used");
		if (cr->last_used != 0)
			json_time(&j, cr->last_used);
		else
			tk_json_null(&j);
		tk_json_object_end(&j);
	}
	tk_json_array_end(&j);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

/* a "label  number" line of the totals, the label padded to 36 columns */
static void
total_line(const char *label, uint64_t v)
{
	size_t w = tk_out_width(label);

	printf("  %s%*s%" PRIu64 "\n", label, w < 36 ? (int)(36 - w) : 1, "",
	    v);
}

static int
users_table(const struct tk_report *r)
{
	const char *head[USER_COLS], *cells[USER_COLS];
	char num[USER_COLS][NUM_MAX];
	const struct tk_report_user *u;
	tk_table_t *t = NULL;
	uint64_t v[USER_COLS];
	size_t i, k;
	bool any = false;
	int ex;

	head[0] = _("USER");
	head[1] = _("TOTP");
	head[2] = _("FIDO2");
	head[3] = _("RECOVERY");
	head[4] = _("GRANT");
	head[5] = _("FAILURES");
	head[6] = _("LOCKOUTS");
	if ((t = tk_table_new(USER_COLS, head)) == NULL)
		return (tk_adm_oom());
	for (i = 0; i < r->nusers; i++) {
		u = &r->users[i];
		if (!u->active_month)
			continue;
		any = true;
		for (k = 0; k < TK_RF_N; k++)
			v[k + 1] = u->logins[k];
		v[5] = u->failures;
		v[6] = u->lockouts;
		cells[0] = u->user;
		for (k = 1; k < USER_COLS; k++) {
			snprintf(num[k], NUM_MAX, "%" PRIu64, v[k]);
			cells[k] = num[k];
		}
		if (tk_table_add(t, cells) != 0) {
			ex = tk_adm_oom();
			goto fail;
		}
	}
	if (any)
		tk_table_print(t, stdout);
	else
		printf("  %s\n", _("(none)"));

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_table_free(&t);
	return (ex);
}

static int
unused_table(const struct tk_report *r)
{
	const char *head[CRED_COLS], *cells[CRED_COLS];
	char id[NUM_MAX], created[TK_OUT_TIME_MAX], used[TK_OUT_TIME_MAX];
	const struct tk_report_cred *cr;
	tk_table_t *t = NULL;
	size_t i;
	int ex;

	if (r->nunused == 0) {
		printf("  %s\n", _("(none)"));
		return (TK_EXIT_OK);
	}
	head[0] = _("USER");
	head[1] = _("ID");
	head[2] = _("KIND");
	head[3] = _("LABEL");
	head[4] = _("CREATED");
	head[5] = _("LAST USED");
	if ((t = tk_table_new(CRED_COLS, head)) == NULL)
		return (tk_adm_oom());
	for (i = 0; i < r->nunused; i++) {
		cr = &r->unused[i];
		snprintf(id, sizeof(id), "%" PRIu64, cr->id);
		cells[0] = cr->user;
		cells[1] = id;
		cells[2] = cr->kind;
		cells[3] = cr->label;
		cells[4] = tk_out_time(cr->created, created);
		cells[5] = cr->last_used != 0 ?
		    tk_out_time(cr->last_used, used) : _("never");
		if (tk_table_add(t, cells) != 0) {
			ex = tk_adm_oom();
			goto fail;
		}
	}
	tk_table_print(t, stdout);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_table_free(&t);
	return (ex);
}

static int
report_text(const struct tk_report *r, const char *month, uint64_t rows,
    uint64_t bad)
{
	char since[TK_OUT_TIME_MAX], until[TK_OUT_TIME_MAX];
	char now[TK_OUT_TIME_MAX];
	const struct tk_report_user *u;
	size_t i;
	bool any;
	int ex;

	printf(_("Self-inspection report for %s (UTC: %s to %s)\n"), month,
	    tk_out_time((uint64_t)r->since, since),
	    tk_out_time((uint64_t)r->until, until));
	printf(_("Generated %s from %" PRIu64 " audit rows of the month.\n"),
	    tk_out_time((uint64_t)r->now, now), r->t.rows);

	printf("\n%s\n", _("== Audit chain =="));
	if (bad != 0)
		printf("  %s\n", _("BROKEN: run \"tokenadm audit verify\" and "
		    "investigate."));
	if (bad != 0)
		printf(_("  first bad row: %" PRIu64 " (%" PRIu64 " rows read)"
		    "\n"), bad, rows);
	else
		printf(_("  intact: %" PRIu64 " rows verified\n"), rows);

	printf("\n%s\n", _("== Logins and failures by user =="));
	if ((ex = users_table(r)) != TK_EXIT_OK)
		return (ex);

	printf("\n%s\n", _("== Totals of the month =="));
	total_line(_("Logins with TOTP"), r->t.logins[TK_RF_TOTP]);
	total_line(_("Logins with FIDO2"), r->t.logins[TK_RF_FIDO2]);
	total_line(_("Logins with a recovery code"),
	    r->t.logins[TK_RF_RECOVERY]);
	total_line(_("Logins on an emergency grant"),
	    r->t.logins[TK_RF_GRANT]);
	total_line(_("Failed verifications"), r->t.failures);
	total_line(_("Lockouts"), r->t.lockouts);
	total_line(_("Unlocks"), r->t.unlocks);
	total_line(_("Enrollments (TOTP)"), r->t.enroll_totp);
	total_line(_("Enrollments (FIDO2)"), r->t.enroll_fido2);
	total_line(_("Revocations"), r->t.revocations);
	total_line(_("Emergency grants issued"), r->t.grants_issued);
	total_line(_("Emergency grants used"), r->t.grants_used);
	total_line(_("Recovery code sets issued"), r->t.recovery_issued);
	total_line(_("Recovery codes issued"), r->t.recovery_codes);
	total_line(_("Recovery codes used"), r->t.recovery_used);
	total_line(_("Requests refused (role)"), r->t.denied);

	printf("\n%s\n", _("== Users with no active credential =="));
	any = false;
	for (i = 0; i < r->nusers; i++) {
		u = &r->users[i];
		if (u->creds == 0 || u->active > 0)
			continue;
		any = true;
		printf(_("  %s (%" PRIu32 " credential(s), none active)\n"),
		    u->user, u->creds);
	}
	if (!any)
		printf("  %s\n", _("(none)"));

	printf("\n");
	printf(_("== Credentials unused for %" PRIu64 " days or more "
	    "(candidates for removal) ==\n"), r->unused_days);
	return (unused_table(r));
}

/* ---------------------------------------------------------------- */
/* the command */

int
tk_adm_audit_report(struct tk_adm *c, int argc, char **argv)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "month", required_argument, NULL, TK_OPT_MONTH },
		{ "unused-days", required_argument, NULL,
		    TK_OPT_UNUSED_DAYS },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_report r;
	char month[TK_REPORT_MONTH_MAX];
	const char *month_arg = NULL;
	struct tm tm;
	time_t t;
	uint64_t days = TK_REPORT_DAYS_DEFAULT, rows = 0, bad = 0;
	int64_t since, until, now;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "audit", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("audit", stdout);
			return (TK_EXIT_OK);
		case TK_OPT_MONTH:
			month_arg = optarg;
			break;
		case TK_OPT_UNUSED_DAYS:
			if (tk_adm_parse_uint(optarg, 1, TK_REPORT_DAYS_MAX,
			    &days) != 0)
				return (tk_adm_usage("audit", _("--unused-days "
				    "needs a number of days from 1 to %d"),
				    TK_REPORT_DAYS_MAX));
			break;
		default:
			return (tk_adm_usage("audit", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc - optind != 0)
		return (tk_adm_usage("audit", _("too many arguments")));
	now = (int64_t)time(NULL);
	if (month_arg != NULL) {
		if (tk_report_month(month_arg, &since, &until) != 0)
			return (tk_adm_usage("audit", _("--month needs a "
			    "month: YYYY-MM")));
	} else
		tk_report_prev_month(now, &since, &until);
	t = (time_t)since;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(month, sizeof(month), "%Y-%m", &tm) == 0)
		return (tk_adm_usage("audit", _("--month needs a month: "
		    "YYYY-MM")));

	tk_report_init(&r, since, until, now, days);
	if ((ex = fetch_audit(c, &r)) != TK_EXIT_OK ||
	    (ex = fetch_creds(c, &r)) != TK_EXIT_OK ||
	    (ex = fetch_chain(c, &rows, &bad)) != TK_EXIT_OK)
		goto fail;
	ex = c->json ? report_json(&r, month, rows, bad) :
	    report_text(&r, month, rows, bad);
	if (ex == TK_EXIT_OK && bad != 0)
		ex = TK_EXIT_FAIL;	/* a broken chain needs attention */
 fail:
	tk_report_free(&r);
	return (ex);
}
