/*
 * msg_schema.h -- which fields each message type allows, in which
 * direction, with which value type and limit.  Internal to msg.c; the
 * table itself is in msg_schema.c and documented in docs/protocol.md.
 */
#ifndef TK_MSG_SCHEMA_H
#define TK_MSG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum tk_vtype {
	TK_V_NONE = 0,
	TK_V_UINT,
	TK_V_BOOL,
	TK_V_TEXT,	/* UTF-8, no NUL, no control bytes */
	TK_V_BYTES,
	TK_V_LIST	/* array of records (maps) */
};

#define TK_F_REQUIRED	0x01u	/* must be present (answers: when status ok) */

struct tk_field {
	uint8_t		 key;	/* enum tk_key */
	uint8_t		 vtype;	/* enum tk_vtype */
	uint8_t		 flags;	/* TK_F_* */
	uint32_t	 max;	/* text/bytes: max length; list: max records */
	const struct tk_schema *rec; /* TK_V_LIST: schema of each record */
};

struct tk_schema {
	const char		*name;
	const struct tk_field	*fields;
	size_t			 nfields;
};

/*
 * Returns the schema of `type' in direction `dir', or NULL for a type
 * that does not exist.  The fields common to every message (version,
 * type, and for answers status and reason) are not listed: msg.c
 * handles them.
 */
const struct tk_schema *tk_schema_lookup(enum tk_dir, uint32_t type);
/* Returns the field description of `key' in `s', or NULL. */
const struct tk_field *tk_schema_field(const struct tk_schema *, unsigned);

#endif /* TK_MSG_SCHEMA_H */
