/*
 * dispatch.h -- the daemon boundary: one table says, for every request
 * type, the lowest role that may send it and the handler that answers.
 */
#ifndef TK_DISPATCH_H
#define TK_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "handlers.h"
#include "msg.h"
#include "role.h"

/* a self caller may name only its own user in TK_KEY_USER */
#define TK_DF_OWN_USER		0x01u

struct tk_dispatch_entry {
	uint32_t	 type;		/* enum tk_msg_type */
	enum tk_role	 role;		/* lowest role allowed */
	unsigned	 flags;		/* TK_DF_* */
	tk_handler_fn_t	*handler;
};

/* The table entry of `type', or NULL for a type we do not serve. */
const struct tk_dispatch_entry *tk_dispatch_lookup(uint32_t type);
/*
 * Decides whether a peer of `role' whose login name is `peer_user' may
 * send a request of `type' naming `req_user' (NULL when the request
 * names none).  Returns TK_ST_OK or TK_ST_DENIED; TK_ST_BAD_REQUEST for
 * a type not in the table.
 */
enum tk_status tk_dispatch_permit(enum tk_role role, const char *peer_user,
    uint32_t type, const char *req_user);
/*
 * Answers one decoded request: checks the table (a refusal is counted,
 * audited as event "denied" and answered TK_ST_DENIED with *close set),
 * then runs the handler (a handler error becomes TK_ST_INTERNAL).
 * Returns 0 and *an, or TK_ERR_NOMEM when not even an error answer
 * could be made (the caller closes the connection).
 */
int tk_dispatch(struct tk_daemon *, const struct tk_peer *,
    const tk_msg_t *rq, tk_msg_t **an, bool *close);
/*
 * Makes the answer to a request body that did not decode with error
 * `decode_err': TK_ST_VERSION for TK_ERR_VERSION, else
 * TK_ST_BAD_REQUEST, typed with the request's type when the leading
 * fields of the map name a known one.  Returns 0 and *an, TK_ERR_PROTO
 * when the type cannot be told (the caller closes without an answer),
 * or TK_ERR_NOMEM.
 */
int tk_dispatch_error(const unsigned char *body, size_t len, int decode_err,
    tk_msg_t **an);

#endif /* TK_DISPATCH_H */
