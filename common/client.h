/*
 * client.h -- the client end of tokend's UNIX socket, shared by
 * pam_tokend.so and tokenadm: connect with a deadline, check who is
 * listening, send one request, read and check its answer.
 */
#ifndef TK_CLIENT_H
#define TK_CLIENT_H

#include <sys/types.h>

#include "msg.h"

typedef struct tk_client tk_client_t;

/*
 * Connects to the socket at `path' (absolute), with `timeout_ms' as the
 * deadline for the connect and, later, for each call.  Before anything
 * is sent it checks that `path' is a socket and that the listening
 * process (SO_PEERCRED) runs as uid 0 or as `daemon_uid' (pass
 * (uid_t)-1 when only root is trusted).  The descriptor is O_CLOEXEC.
 * Returns 0 and a new client in *cp, or TK_ERR_CONNECT (no socket, no
 * daemon), TK_ERR_TIMEOUT, TK_ERR_UNTRUSTED, TK_ERR_INVAL or
 * TK_ERR_NOMEM.
 */
int tk_client_open(const char *path, int timeout_ms, uid_t daemon_uid,
    tk_client_t **cp);
/* Closes the connection and frees *cp (NULL-safe); sets *cp to NULL. */
void tk_client_close(tk_client_t **cp);

/*
 * Sends `req' and reads its answer into *ansp.  The encoded request is
 * wiped after sending.  The answer must decode as an answer of the same
 * type, else TK_ERR_PROTO.  Returns 0 (check tk_msg_status() of the
 * answer for the outcome), or a frame/decode error; after an error the
 * connection is closed and further calls fail with TK_ERR_CLOSED.
 */
int tk_client_call(tk_client_t *, const tk_msg_t *req, tk_msg_t **ansp);

#endif /* TK_CLIENT_H */
