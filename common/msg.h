/*
 * msg.h -- protocol messages: build, encode (CBOR, libcbor), decode
 * strictly against a per-type schema, read fields.
 *
 * A tk_msg_t is a request or an answer (the direction decides which
 * schema applies) or a record inside a list field.  All text and byte
 * fields are owned by the message and wiped when it is freed, so a
 * message holding a code or a URI may be freed like any other.
 */
#ifndef TK_MSG_H
#define TK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct tk_msg tk_msg_t;

enum tk_dir {
	TK_DIR_REQUEST = 0,	/* client -> tokend */
	TK_DIR_ANSWER = 1	/* tokend -> client */
};

/* Returns a new empty request or answer of the given type, or NULL. */
tk_msg_t *tk_msg_new(enum tk_dir, uint32_t type);
/* Returns a new answer of the given type with TK_KEY_STATUS set, or NULL. */
tk_msg_t *tk_msg_new_answer(uint32_t type, enum tk_status);
/* Frees *mp (NULL-safe), wiping every field, and sets *mp to NULL. */
void tk_msg_free(tk_msg_t **mp);

uint32_t tk_msg_type(const tk_msg_t *);
enum tk_dir tk_msg_dir(const tk_msg_t *);

/*
 * Setters copy their argument.  They return 0, TK_ERR_INVAL for a key
 * out of range, a text with NUL or control bytes, or a value over the
 * key's limit, or TK_ERR_NOMEM.  Setting a key twice replaces it.
 */
int tk_msg_set_uint(tk_msg_t *, enum tk_key, uint64_t);
int tk_msg_set_bool(tk_msg_t *, enum tk_key, bool);
int tk_msg_set_text(tk_msg_t *, enum tk_key, const char *);
int tk_msg_set_bytes(tk_msg_t *, enum tk_key, const void *, size_t);
/*
 * Appends an empty record to the list field `key' and returns it (owned
 * by the parent; do not free), or NULL on allocation failure or when the
 * list already holds TK_LIST_MAX records.
 */
tk_msg_t *tk_msg_add_record(tk_msg_t *, enum tk_key);

/* true when the field is present */
bool tk_msg_has(const tk_msg_t *, enum tk_key);
/* 0, or TK_ERR_ABSENT when the field is absent or of another type */
int tk_msg_get_uint(const tk_msg_t *, enum tk_key, uint64_t *);
int tk_msg_get_bool(const tk_msg_t *, enum tk_key, bool *);
/* NUL-terminated text owned by the message, or NULL when absent */
const char *tk_msg_get_text(const tk_msg_t *, enum tk_key);
int tk_msg_get_bytes(const tk_msg_t *, enum tk_key,
    const unsigned char **, size_t *);
/* records of a list field: count, and the i-th (NULL when out of range) */
size_t tk_msg_count(const tk_msg_t *, enum tk_key);
const tk_msg_t *tk_msg_record(const tk_msg_t *, enum tk_key, size_t);

/*
 * Answer status; an answer without a valid status never decodes, so
 * this returns TK_ST_INTERNAL only for a message that is not an answer.
 */
enum tk_status tk_msg_status(const tk_msg_t *);

/*
 * Encodes a message (version and type added) after checking it against
 * its schema: every required field present, no field the type does not
 * allow.  On success *out is a malloc'd buffer of *outlen bytes (at
 * most TK_FRAME_MAX) that the caller frees with tk_freezero().
 * Returns 0, TK_ERR_PROTO (schema violation), TK_ERR_TOOBIG or
 * TK_ERR_NOMEM.
 */
int tk_msg_encode(const tk_msg_t *, unsigned char **out, size_t *outlen);

/*
 * Decodes exactly one CBOR map of `len' bytes, expected in direction
 * `dir'.  Strict: not a map, trailing bytes, indefinite lengths, a
 * non-uint key, a duplicate key, a key the type does not allow, a wrong
 * value type, an oversized or NUL/control-bearing text, a missing
 * required field, an unknown type -- each is TK_ERR_PROTO; a version
 * other than TK_PROTO_VERSION is TK_ERR_VERSION.  On success *out is a
 * new message.  Returns 0 or a negative TK_ERR_*.
 */
int tk_msg_decode(const unsigned char *, size_t, enum tk_dir,
    tk_msg_t **out);

/*
 * Finds the type of a body that may not decode, so that tokend can answer
 * a malformed request with the request's own type: walks the leading
 * key/value pairs of the top-level map with the decoder's tokenizer,
 * stopping at the first item that is not an unsigned key with a scalar
 * value.  Allocates nothing.  Returns 0 and *type when a known request
 * type was seen before that point, else TK_ERR_PROTO.
 */
int tk_msg_peek_type(const unsigned char *, size_t, uint32_t *type);

/* Name of a message type ("TOTP_VERIFY"), or "UNKNOWN". */
const char *tk_msg_type_name(uint32_t);
/* Name of a status ("ok", "wrong", "replay", ...), or "unknown". */
const char *tk_status_name(enum tk_status);

#endif /* TK_MSG_H */
