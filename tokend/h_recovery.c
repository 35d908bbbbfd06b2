/*
 * h_recovery.c -- RECOVERY_ISSUE, and the recovery-code check that
 * TOTP_VERIFY runs when the typed text has the shape of a recovery code.
 *
 * MUST invariants:
 *  1. A code leaves tokend exactly once, in the RECOVERY_ISSUE answer;
 *     the store, the audit row and the log see only the count.
 *  2. Issuing replaces the user's whole set in the transaction that
 *     audits it: old codes stop working when the new ones are shown.
 *  3. A typed code is compared by keyed hash with sodium_memcmp against
 *     every unused code of the user, without stopping at a match, and is
 *     accepted only through the single conditional update of
 *     tk_store_recovery_use(), so each code works once, also under
 *     concurrent logins.
 *  4. Every buffer that held a code is wiped on every path.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "recovery.h"
#include "store.h"

#define TK_RECOVERY_REASON_MAX	32	/* "count=20", "19 left" */

int
tk_recovery_check(struct tk_daemon *d, const char *user, const char *norm,
    int64_t now, enum tk_status *st, uint64_t *left)
{
	unsigned char want[TK_RECOVERY_HASH_BYTES];
	struct tk_recovery *list = NULL;
	size_t n = 0, i;
	uint64_t match = 0;
	int r;

	*st = TK_ST_WRONG;
	*left = 0;
	if ((r = tk_recovery_hash(d->key, user, norm, want)) != 0)
		goto fail;
	if ((r = tk_store_recovery_unused(d->store, user, &list, &n)) != 0)
		goto fail;
	/* invariant 3: every stored hash is compared */
	for (i = 0; i < n; i++)
		if (sodium_memcmp(want, list[i].hash,
		    TK_RECOVERY_HASH_BYTES) == 0)
			match = list[i].id;
	if (match != 0) {
		r = tk_store_recovery_use(d->store, match, now);
		if (r == 0)
			*st = TK_ST_OK;
		else if (r != TK_ERR_REPLAY && r != TK_ERR_NOTFOUND)
			goto fail;
	}
	if ((r = tk_store_recovery_count(d->store, user, left)) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sodium_memzero(want, sizeof(want));
	if (list != NULL) {
		sodium_memzero(list, n * sizeof(*list));
		free(list);
	}
	if (r != 0)
		*st = TK_ST_WRONG;
	return (r);
}

int
tk_handle_recovery_issue(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	unsigned char (*hashes)[TK_RECOVERY_HASH_BYTES] = NULL;
	char (*codes)[TK_RECOVERY_TEXT_MAX + 1] = NULL;
	char norm[TK_RECOVERY_CHARS + 1], why[TK_RECOVERY_REASON_MAX];
	struct tk_audit_event ev;
	tk_msg_t *m = NULL, *rec;
	const char *user;
	uint64_t count = TK_RECOVERY_COUNT_DEFAULT;
	size_t i, n = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	norm[0] = '\0';
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "recovery_issue", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if (tk_msg_has(rq, TK_KEY_COUNT) &&
	    tk_msg_get_uint(rq, TK_KEY_COUNT, &count) != 0)
		count = 0;
	if (user == NULL || count == 0 || count > TK_RECOVERY_COUNT_MAX) {
		if ((r = tk_answer_new(TK_MSG_RECOVERY_ISSUE,
		    TK_ST_BAD_REQUEST, "count must be 1 to 20", &m)) != 0)
			goto fail;
		ev.result = "bad_request";
		ev.reason = "count out of range";
		if ((r = tk_store_begin(d->store)) != 0)
			goto fail;
		in_tx = true;
		goto answer;
	}
	n = (size_t)count;
	/* guarded memory: the codes are secrets until they are sent */
	if ((codes = sodium_allocarray(n, sizeof(*codes))) == NULL ||
	    (hashes = sodium_allocarray(n, sizeof(*hashes))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		tk_recovery_generate(codes[i]);
		if ((r = tk_recovery_normalize(codes[i], norm)) != 0 ||
		    (r = tk_recovery_hash(d->key, user, norm, hashes[i])) != 0)
			goto fail;
	}
	sodium_memzero(norm, sizeof(norm));
	if ((r = tk_answer_new(TK_MSG_RECOVERY_ISSUE, TK_ST_OK, NULL,
	    &m)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_USER, user)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rec = tk_msg_add_record(m, TK_KEY_CODES)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if ((r = tk_msg_set_text(rec, TK_KEY_CODE, codes[i])) != 0)
			goto fail;
	}
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_recovery_replace(d->store, user,
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])hashes, n,
	    now)) != 0)
		goto fail;
	(void)snprintf(why, sizeof(why), "count=%zu", n);
	ev.result = "ok";
	ev.reason = why;
 answer:
	in_tx = false;	/* tk_handler_finish() ends the transaction */
	if ((r = tk_handler_finish(d, &ev, &m, an)) != 0)
		goto fail;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_handler_failed(d, &ev, r);
	sodium_memzero(norm, sizeof(norm));
	/* sodium_free() wipes the guarded arrays */
	sodium_free(codes);
	sodium_free(hashes);
	tk_msg_free(&m);
	return (r);
}
