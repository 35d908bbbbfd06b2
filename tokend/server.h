/*
 * server.h -- tokend's listener and event loop on the UNIX socket.
 */
#ifndef TK_SERVER_H
#define TK_SERVER_H

#include "daemon.h"

typedef struct tk_server tk_server_t;

/*
 * Takes the listening socket from systemd (socket activation, when
 * built with libsystemd) or creates `[tokend] socket': the parent
 * directory is made (0755) when missing, a stale socket is removed (a
 * live one, or anything that is not a socket, is refused), and the new
 * socket is made 0666 since every request is authorised by SO_PEERCRED.
 * SIGTERM and SIGINT are blocked except while the loop waits.  Returns 0
 * and *sp, or TK_ERR_IO, TK_ERR_PERM, TK_ERR_EXISTS, TK_ERR_INVAL (path
 * too long or relative), TK_ERR_NOMEM; the reason is logged.
 */
int tk_server_open(struct tk_daemon *d, tk_server_t **sp);
/*
 * Serves until SIGTERM or SIGINT, then stops accepting, sends the
 * answers already made (for at most a short drain time) and returns 0;
 * or returns TK_ERR_IO when waiting itself fails.  Tells systemd READY=1
 * at the start and STOPPING=1 at the end when built with libsystemd.
 */
int tk_server_run(tk_server_t *s);
/*
 * Closes every connection and the listening socket, removes the socket
 * file when this process created it, and frees *sp (NULL-safe).  The
 * store is the caller's to close.
 */
void tk_server_close(tk_server_t **sp);

#endif /* TK_SERVER_H */
