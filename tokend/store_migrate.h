/*
 * store_migrate.h -- moving a single-host SQLite store into PostgreSQL
 * (tokend -m, run by tokenadm migrate-store with tokend stopped).
 */
#ifndef TK_STORE_MIGRATE_H
#define TK_STORE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"

/* what was copied, for the report tokend -m prints */
struct tk_migrate_report {
	uint64_t	 credentials;
	uint64_t	 throttle;
	uint64_t	 audit;		/* rows; the chain verified on both */
	uint64_t	 recovery_codes;
	uint64_t	 grants;
	uint64_t	 challenges;
	uint64_t	 anchor;	/* 0 or 1 */
	uint64_t	 secrets;	/* sealed secrets opened on the target */
};

/*
 * Copies every row of the SQLite store at `sqlite_path' into the empty
 * PostgreSQL store named by `pg_url' in one PostgreSQL transaction, ids,
 * sealed secrets and audit MACs as they are (the same master key), then
 * verifies the target: the same row count in every table, an intact
 * audit chain of the same length, and every sealed secret opens with
 * `key'.  The source's chain must verify first.  A target with any row
 * is refused (TK_ERR_EXISTS) and nothing is written.  Returns 0, or a
 * TK_ERR_* code after a log line saying what stopped it.
 */
int tk_store_migrate(const char *sqlite_path, const char *pg_url,
    const tk_master_key_t *key, struct tk_migrate_report *rep);

#endif /* TK_STORE_MIGRATE_H */
