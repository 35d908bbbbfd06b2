/*
 * audit_fill.c -- appends N audit events to a tokend database in one
 * transaction, through the store's own tk_store_audit_append(), so that
 * the integration tests can build a long, genuine chain quickly.
 *
 * usage: audit_fill DATABASE MASTER-KEY N
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "seal.h"
#include "store.h"

#define FILL_MAX	10000000UL	/* rows one run may add */

int
main(int argc, char **argv)
{
	unsigned char audit_key[TK_AUDIT_KEY_BYTES];
	struct tk_audit_event ev;
	tk_master_key_t *key = NULL;
	tk_store_t *s = NULL;
	char err[256], user[32];
	unsigned long n, i;
	char *end;
	int r, status = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: audit_fill DATABASE MASTER-KEY N\n");
		return (2);
	}
	n = strtoul(argv[3], &end, 10);
	if (*end != '\0' || n == 0 || n > FILL_MAX) {
		fprintf(stderr, "audit_fill: bad count %s\n", argv[3]);
		return (2);
	}
	if (sodium_init() < 0 ||
	    (r = tk_master_key_load(argv[2], &key, err, sizeof(err))) != 0 ||
	    (r = tk_master_key_derive(key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key)) != 0 ||
	    (r = tk_store_open_sqlite(argv[1], audit_key, sizeof(audit_key),
	    &s)) != 0) {
		fprintf(stderr, "audit_fill: cannot open the store\n");
		goto out;
	}
	if ((r = tk_store_begin(s)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		snprintf(user, sizeof(user), "user%05lu", i % 1000);
		ev.time = (int64_t)time(NULL);
		ev.host = "fill";
		ev.event = "user_status";
		ev.user = user;
		ev.service = "login";
		ev.uid = 0;
		ev.pid = (int64_t)i;
		ev.result = "ok";
		if ((r = tk_store_audit_append(s, &ev)) != 0) {
			tk_store_rollback(s);
			fprintf(stderr, "audit_fill: append: %s\n",
			    tk_strerr(r));
			goto out;
		}
	}
	if ((r = tk_store_commit(s)) != 0) {
		fprintf(stderr, "audit_fill: commit: %s\n", tk_strerr(r));
		goto out;
	}

	status = 0; /* success */
 out:
	sodium_memzero(audit_key, sizeof(audit_key));
	tk_store_close(&s);
	tk_master_key_free(&key);
	return (status);
}
