/*
 * store_core.c -- the public tk_store_* calls: argument checks shared by
 * every backend, then the backend's operation (store_ops.h).
 *
 * MUST invariants:
 *  1. No backend operation runs with an unchecked argument: texts are
 *     non-NULL where required, NUL-free within their TK_*_MAX limit,
 *     ids and steps fit in a signed 64-bit column.
 *  2. A change is refused (TK_ERR_INVAL) outside a transaction, so every
 *     change is covered by store.h invariant 1.
 *  3. The audit key is held only in sodium_malloc'd memory, read-only
 *     while the store is open, wiped when it is closed.
 *  4. Output parameters are cleared on entry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "store_ops.h"

#define TK_STORE_ID_MAX		((uint64_t)INT64_MAX)

/* a text of 1..max bytes (0..max when empty_ok), NUL-terminated */
static int
text_ok(const char *s, size_t max, bool empty_ok)
{
	size_t n;

	if (s == NULL)
		return (0);
	n = strnlen(s, max + 1);
	if (n > max || (n == 0 && !empty_ok))
		return (0);
	return (1);
}

static int
user_ok(const char *user)
{
	return (text_ok(user, TK_USER_MAX, false));
}

static int
id_ok(uint64_t id)
{
	return (id > 0 && id <= TK_STORE_ID_MAX);
}

int
tk_store_need_transaction(tk_store_t *s, const char *what)
{
	if (s->ops->in_transaction(s))
		return (0);
	tk_log(LOG_ERR, "store: %s outside a transaction refused", what);
	return (TK_ERR_INVAL);
}

int
tk_store_base_init(tk_store_t *s, const struct tk_store_ops *ops,
    const unsigned char *audit_key, size_t audit_key_len)
{
	s->ops = ops;
	s->audit_key = NULL;
	if (audit_key == NULL || audit_key_len != TK_AUDIT_KEY_BYTES)
		return (TK_ERR_INVAL);
	if (sodium_init() < 0)
		return (TK_ERR_CRYPTO);
	if ((s->audit_key = sodium_malloc(TK_AUDIT_KEY_BYTES)) == NULL)
		return (TK_ERR_NOMEM);
	memcpy(s->audit_key, audit_key, TK_AUDIT_KEY_BYTES);
	if (sodium_mprotect_readonly(s->audit_key) != 0) {
		tk_store_base_clear(s);
		return (TK_ERR_CRYPTO);
	}
	return (0);
}

void
tk_store_base_clear(tk_store_t *s)
{
	if (s->audit_key == NULL)
		return;
	/* sodium_free() wipes too; the explicit wipe states the intent */
	sodium_mprotect_readwrite(s->audit_key);
	sodium_memzero(s->audit_key, TK_AUDIT_KEY_BYTES);
	sodium_free(s->audit_key);
	s->audit_key = NULL;
}

void
tk_store_close(tk_store_t **sp)
{
	tk_store_t *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	*sp = NULL;
	s->ops->close(s);
}

const char *
tk_store_kind(const tk_store_t *s)
{
	if (s == NULL)
		return ("none");
	return (s->ops->kind);
}

int
tk_store_begin(tk_store_t *s)
{
	if (s == NULL)
		return (TK_ERR_INVAL);
	if (s->ops->in_transaction(s)) {
		tk_log(LOG_ERR, "store: transaction already open");
		return (TK_ERR_INVAL);
	}
	return (s->ops->begin(s));
}

int
tk_store_commit(tk_store_t *s)
{
	if (s == NULL)
		return (TK_ERR_INVAL);
	if (!s->ops->in_transaction(s)) {
		tk_log(LOG_ERR, "store: commit without a transaction");
		return (TK_ERR_INVAL);
	}
	return (s->ops->commit(s));
}

void
tk_store_rollback(tk_store_t *s)
{
	if (s == NULL || !s->ops->in_transaction(s))
		return;
	s->ops->rollback(s);
}

/* the FIDO2 half of cred_ok(): public key material, no secret */
static int
cred_fido2_ok(const struct tk_cred *c)
{
	if (c->state != TK_CRED_ACTIVE && c->state != TK_CRED_SUSPENDED &&
	    c->state != TK_CRED_REVOKED)
		return (0);
	if (c->algorithm != TK_FIDO2_ES256 && c->algorithm != TK_FIDO2_EDDSA &&
	    c->algorithm != TK_FIDO2_RS256)
		return (0);
	if (c->cred_id == NULL || c->cred_id_len == 0 ||
	    c->cred_id_len > TK_FIDO2_CRED_ID_MAX || c->pubkey == NULL ||
	    c->pubkey_len == 0 || c->pubkey_len > TK_FIDO2_PUBKEY_MAX)
		return (0);
	if (!text_ok(c->fmt, TK_SHORT_TEXT_MAX, false))
		return (0);
	if (c->sealed != NULL || c->sealed_len != 0)
		return (0);
	return (1);
}

static int
cred_ok(const struct tk_cred *c)
{
	if (!user_ok(c->user) || !text_ok(c->label, TK_LABEL_MAX, true))
		return (0);
	if (c->kind == TK_CRED_FIDO2)
		return (cred_fido2_ok(c));
	if (c->kind != TK_CRED_TOTP)
		return (0);
	if (c->cred_id != NULL || c->pubkey != NULL)
		return (0);
	if (c->state != TK_CRED_PENDING && c->state != TK_CRED_ACTIVE &&
	    c->state != TK_CRED_REVOKED)
		return (0);
	if (c->digits != 6 && c->digits != 8)
		return (0);
	if (c->algorithm != TK_TOTP_SHA1 && c->algorithm != TK_TOTP_SHA256 &&
	    c->algorithm != TK_TOTP_SHA512)
		return (0);
	if (c->period == 0 || c->last_step > TK_STORE_ID_MAX)
		return (0);
	if ((c->sealed == NULL) != (c->sealed_len == 0) ||
	    c->sealed_len > TK_STORE_SEALED_MAX)
		return (0);
	return (1);
}

int
tk_store_cred_insert(tk_store_t *s, struct tk_cred *c)
{
	int r;

	if (s == NULL || c == NULL)
		return (TK_ERR_INVAL);
	c->id = 0;
	if (!cred_ok(c))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "credential insert")) != 0)
		return (r);
	return (s->ops->cred_insert(s, c));
}

int
tk_store_cred_get(tk_store_t *s, const char *user, uint64_t id,
    struct tk_cred *c)
{
	if (c != NULL)
		memset(c, 0, sizeof(*c));
	if (s == NULL || c == NULL || !user_ok(user) || !id_ok(id))
		return (TK_ERR_INVAL);
	return (s->ops->cred_get(s, user, id, c));
}

int
tk_store_cred_list(tk_store_t *s, const char *user, struct tk_cred **list,
    size_t *n)
{
	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL ||
	    (user != NULL && !user_ok(user)))
		return (TK_ERR_INVAL);
	return (s->ops->cred_list(s, user, 0, false, list, n));
}

int
tk_store_cred_active(tk_store_t *s, const char *user, int kind,
    struct tk_cred **list, size_t *n)
{
	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL || !user_ok(user) ||
	    kind <= 0)
		return (TK_ERR_INVAL);
	return (s->ops->cred_list(s, user, kind, true, list, n));
}

int
tk_store_cred_set_state(tk_store_t *s, const char *user, uint64_t id,
    int state)
{
	int r;

	if (s == NULL || !user_ok(user) || !id_ok(id))
		return (TK_ERR_INVAL);
	if (state != TK_CRED_PENDING && state != TK_CRED_ACTIVE &&
	    state != TK_CRED_REVOKED && state != TK_CRED_SUSPENDED)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "credential state change")) != 0)
		return (r);
	return (s->ops->cred_set_state(s, user, id, state));
}

int
tk_store_cred_set_secret(tk_store_t *s, uint64_t id, uint32_t key_id,
    const unsigned char *sealed, size_t sealed_len)
{
	int r;

	if (s == NULL || !id_ok(id) || sealed == NULL || sealed_len == 0 ||
	    sealed_len > TK_STORE_SEALED_MAX)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "credential secret update")) != 0)
		return (r);
	return (s->ops->cred_set_secret(s, id, key_id, sealed, sealed_len));
}

int
tk_store_cred_revoke_all(tk_store_t *s, const char *user, uint64_t *count)
{
	int r;

	if (count != NULL)
		*count = 0;
	if (s == NULL || count == NULL || !user_ok(user))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "credential revocation")) != 0)
		return (r);
	return (s->ops->cred_revoke_all(s, user, count));
}

int
tk_store_cred_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	int r;

	if (count != NULL)
		*count = 0;
	if (s == NULL || count == NULL)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "credential expiry")) != 0)
		return (r);
	return (s->ops->cred_expire(s, now, count));
}

void
tk_cred_clear(struct tk_cred *c)
{
	if (c == NULL)
		return;
	if (c->sealed != NULL) {
		sodium_memzero(c->sealed, c->sealed_len);
		free(c->sealed);
	}
	/* public data: freed, not wiped */
	free(c->cred_id);
	free(c->pubkey);
	sodium_memzero(c, sizeof(*c));
}

void
tk_cred_list_free(struct tk_cred **list, size_t n)
{
	size_t i;

	if (list == NULL || *list == NULL)
		return;
	for (i = 0; i < n; i++)
		tk_cred_clear(&(*list)[i]);
	free(*list);
	*list = NULL;
}

int
tk_store_totp_accept_step(tk_store_t *s, uint64_t id, uint64_t step,
    int64_t now)
{
	int r;

	if (s == NULL || !id_ok(id) || step > TK_STORE_ID_MAX)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "TOTP step update")) != 0)
		return (r);
	return (s->ops->totp_accept_step(s, id, step, now));
}

int
tk_store_throttle_get(tk_store_t *s, const char *user, struct tk_throttle *t)
{
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	if (s == NULL || t == NULL || !user_ok(user))
		return (TK_ERR_INVAL);
	return (s->ops->throttle_get(s, user, t));
}

int
tk_store_throttle_put(tk_store_t *s, const struct tk_throttle *t)
{
	int r;

	if (s == NULL || t == NULL || !user_ok(t->user))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "throttle update")) != 0)
		return (r);
	return (s->ops->throttle_put(s, t));
}

int
tk_store_stats(tk_store_t *s, struct tk_store_stats *st)
{
	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (s == NULL || st == NULL)
		return (TK_ERR_INVAL);
	return (s->ops->stats(s, st));
}

int
tk_store_ping(tk_store_t *s)
{
	if (s == NULL)
		return (TK_ERR_INVAL);
	return (s->ops->ping(s));
}

int
tk_store_audit_read(tk_store_t *s, const struct tk_audit_filter *f,
    struct tk_audit_row *rows, size_t max, size_t *n, bool *more)
{
	if (n != NULL)
		*n = 0;
	if (more != NULL)
		*more = false;
	if (s == NULL || f == NULL || rows == NULL || n == NULL ||
	    more == NULL || max == 0 || max > TK_LIST_MAX ||
	    f->after > TK_STORE_ID_MAX || f->since < 0 || f->until < 0 ||
	    (f->user != NULL && !user_ok(f->user)))
		return (TK_ERR_INVAL);
	return (s->ops->audit_read(s, f, rows, max, n, more));
}

int
tk_store_audit_prune(tk_store_t *s, int64_t before, uint64_t *count,
    uint64_t *anchor_seq)
{
	int r;

	if (count != NULL)
		*count = 0;
	if (anchor_seq != NULL)
		*anchor_seq = 0;
	if (s == NULL || count == NULL || anchor_seq == NULL || before <= 0)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "audit prune")) != 0)
		return (r);
	return (s->ops->audit_prune(s, before, count, anchor_seq));
}

int
tk_store_recovery_replace(tk_store_t *s, const char *user,
    const unsigned char (*hashes)[TK_RECOVERY_HASH_BYTES], size_t n,
    int64_t now)
{
	int r;

	if (s == NULL || !user_ok(user) || (n > 0 && hashes == NULL) ||
	    n > TK_RECOVERY_COUNT_MAX)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "recovery code issue")) != 0)
		return (r);
	return (s->ops->recovery_replace(s, user, hashes, n, now));
}

int
tk_store_recovery_unused(tk_store_t *s, const char *user,
    struct tk_recovery **list, size_t *n)
{
	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL || !user_ok(user))
		return (TK_ERR_INVAL);
	return (s->ops->recovery_unused(s, user, list, n));
}

int
tk_store_recovery_use(tk_store_t *s, uint64_t id, int64_t now)
{
	int r;

	if (s == NULL || !id_ok(id))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "recovery code use")) != 0)
		return (r);
	return (s->ops->recovery_use(s, id, now));
}

int
tk_store_recovery_count(tk_store_t *s, const char *user, uint64_t *n)
{
	if (n != NULL)
		*n = 0;
	if (s == NULL || n == NULL || !user_ok(user))
		return (TK_ERR_INVAL);
	return (s->ops->recovery_count(s, user, n));
}

int
tk_store_grant_insert(tk_store_t *s, struct tk_grant *g)
{
	int r;

	if (s == NULL || g == NULL)
		return (TK_ERR_INVAL);
	g->id = 0;
	if (!user_ok(g->user) || !text_ok(g->reason, TK_REASON_MAX, true) ||
	    g->state != TK_GRANT_ACTIVE || g->expires <= g->created)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "grant insert")) != 0)
		return (r);
	return (s->ops->grant_insert(s, g));
}

int
tk_store_grant_active(tk_store_t *s, const char *user, struct tk_grant *g)
{
	if (g != NULL)
		memset(g, 0, sizeof(*g));
	if (s == NULL || g == NULL || !user_ok(user))
		return (TK_ERR_INVAL);
	return (s->ops->grant_active(s, user, g));
}

int
tk_store_grant_list(tk_store_t *s, const char *user, struct tk_grant **list,
    size_t *n)
{
	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL ||
	    (user != NULL && !user_ok(user)))
		return (TK_ERR_INVAL);
	return (s->ops->grant_list(s, user, 0, list, n));
}

int
tk_store_grant_due(tk_store_t *s, int64_t now, struct tk_grant **list,
    size_t *n)
{
	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL || now <= 0)
		return (TK_ERR_INVAL);
	return (s->ops->grant_list(s, NULL, now, list, n));
}

int
tk_store_grant_end(tk_store_t *s, uint64_t id, int state)
{
	int r;

	if (s == NULL || !id_ok(id) ||
	    (state != TK_GRANT_EXPIRED && state != TK_GRANT_REVOKED))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "grant end")) != 0)
		return (r);
	return (s->ops->grant_end(s, id, state));
}

int
tk_store_fido2_find(tk_store_t *s, const unsigned char *cred_id,
    size_t cred_id_len, struct tk_cred *c)
{
	if (c != NULL)
		memset(c, 0, sizeof(*c));
	if (s == NULL || c == NULL || cred_id == NULL || cred_id_len == 0 ||
	    cred_id_len > TK_FIDO2_CRED_ID_MAX)
		return (TK_ERR_INVAL);
	return (s->ops->fido2_find(s, cred_id, cred_id_len, c));
}

int
tk_store_fido2_accept_count(tk_store_t *s, uint64_t id, uint32_t count,
    int64_t now)
{
	int r;

	if (s == NULL || !id_ok(id))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "FIDO2 counter update")) != 0)
		return (r);
	return (s->ops->fido2_accept_count(s, id, count, now));
}

static int
purpose_ok(int purpose)
{
	return (purpose == TK_CHALLENGE_LOGIN ||
	    purpose == TK_CHALLENGE_ENROLL);
}

int
tk_store_challenge_insert(tk_store_t *s, struct tk_challenge *ch)
{
	int r;

	if (s == NULL || ch == NULL)
		return (TK_ERR_INVAL);
	ch->id = 0;
	if (!user_ok(ch->user) || !purpose_ok(ch->purpose) ||
	    !text_ok(ch->label, TK_LABEL_MAX, true) ||
	    ch->uv < TK_UV_REQUIRED || ch->uv > TK_UV_DISCOURAGED ||
	    ch->expires <= ch->created)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "challenge insert")) != 0)
		return (r);
	return (s->ops->challenge_insert(s, ch));
}

int
tk_store_challenge_take(tk_store_t *s, uint64_t id, int purpose,
    struct tk_challenge *ch)
{
	int r;

	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	if (s == NULL || ch == NULL || !id_ok(id) || !purpose_ok(purpose))
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "challenge use")) != 0)
		return (r);
	return (s->ops->challenge_take(s, id, purpose, ch));
}

int
tk_store_challenge_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	int r;

	if (count != NULL)
		*count = 0;
	if (s == NULL || count == NULL)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "challenge expiry")) != 0)
		return (r);
	return (s->ops->challenge_expire(s, now, count));
}

void
tk_cred_clear_secret(struct tk_cred *c)
{
	if (c->sealed != NULL) {
		sodium_memzero(c->sealed, c->sealed_len);
		free(c->sealed);
	}
	c->sealed = NULL;
	c->sealed_len = 0;
}

bool
tk_store_can_batch(const tk_store_t *s)
{
	return (s != NULL && s->ops->batch_begin != NULL &&
	    s->ops->batch_commit != NULL && s->ops->batch_rollback != NULL &&
	    s->ops->in_batch != NULL);
}

bool
tk_store_in_batch(tk_store_t *s)
{
	return (tk_store_can_batch(s) && s->ops->in_batch(s));
}

int
tk_store_batch_begin(tk_store_t *s)
{
	if (!tk_store_can_batch(s))
		return (TK_ERR_INVAL);
	if (s->ops->in_batch(s) || s->ops->in_transaction(s)) {
		tk_log(LOG_ERR, "store: batch inside a transaction refused");
		return (TK_ERR_INVAL);
	}
	return (s->ops->batch_begin(s));
}

int
tk_store_batch_commit(tk_store_t *s)
{
	if (!tk_store_in_batch(s)) {
		tk_log(LOG_ERR, "store: batch commit without a batch");
		return (TK_ERR_INVAL);
	}
	if (s->ops->in_transaction(s)) {
		/* a request left its unit open: none of the batch is kept */
		tk_log(LOG_ERR, "store: batch commit with a request still "
		    "open; the batch is rolled back");
		s->ops->batch_rollback(s);
		return (TK_ERR_INVAL);
	}
	return (s->ops->batch_commit(s));
}

void
tk_store_batch_abort(tk_store_t *s)
{
	if (tk_store_in_batch(s))
		s->ops->batch_rollback(s);
}

int
tk_store_cred_page(tk_store_t *s, const char *user, uint64_t offset,
    struct tk_cred *page, size_t max, size_t *n, bool *more)
{
	struct tk_cred *all = NULL;
	size_t nall = 0, i;
	int r;

	if (n != NULL)
		*n = 0;
	if (more != NULL)
		*more = false;
	if (s == NULL || page == NULL || n == NULL || more == NULL ||
	    max == 0 || max > TK_LIST_MAX || offset > TK_STORE_ID_MAX ||
	    (user != NULL && !user_ok(user)))
		return (TK_ERR_INVAL);
	memset(page, 0, max * sizeof(*page));
	if (s->ops->cred_page != NULL)
		return (s->ops->cred_page(s, user, offset, max, page, n,
		    more));
	/* fallback for a backend without pages: list all, keep one page */
	if ((r = s->ops->cred_list(s, user, 0, false, &all, &nall)) != 0)
		return (r);
	for (i = 0; i < nall; i++) {
		if (i < offset || *n == max) {
			if (i >= offset)
				*more = true;
			tk_cred_clear(&all[i]);
			continue;
		}
		page[*n] = all[i];
		memset(&all[i], 0, sizeof(all[i]));
		tk_cred_clear_secret(&page[(*n)++]);
	}
	free(all);
	return (0);
}

int
tk_store_cred_pending_due(tk_store_t *s, int64_t now, struct tk_cred **list,
    size_t *n)
{
	struct tk_cred *all = NULL;
	size_t nall = 0, i, k = 0;
	int r;

	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (s == NULL || list == NULL || n == NULL)
		return (TK_ERR_INVAL);
	if (s->ops->cred_pending_due != NULL)
		return (s->ops->cred_pending_due(s, now, list, n));
	/* fallback: list all, keep the due pending ones */
	if ((r = s->ops->cred_list(s, NULL, 0, false, &all, &nall)) != 0)
		return (r);
	for (i = 0; i < nall; i++) {
		if (all[i].state != TK_CRED_PENDING || all[i].expires >= now) {
			tk_cred_clear(&all[i]);
			continue;
		}
		all[k] = all[i];
		if (k != i)
			memset(&all[i], 0, sizeof(all[i]));
		tk_cred_clear_secret(&all[k++]);
	}
	if (k == 0) {
		free(all);
		all = NULL;
	}
	*list = all;
	*n = k;
	return (0);
}

int
tk_store_backup(tk_store_t *s, const char *path)
{
	if (s == NULL || path == NULL || path[0] != '/' ||
	    !text_ok(path, TK_PATH_MAX, false))
		return (TK_ERR_INVAL);
	if (tk_store_in_batch(s)) {
		tk_log(LOG_ERR, "store: backup inside a batch refused");
		return (TK_ERR_INVAL);
	}
	if (s->ops->in_transaction(s)) {
		tk_log(LOG_ERR, "store: backup inside a transaction refused");
		return (TK_ERR_INVAL);
	}
	return (s->ops->backup(s, path));
}
