/*
 * role.h -- who is on the other end of a connection.  The peer's uid,
 * gid and pid come from SO_PEERCRED when the connection is accepted and
 * decide its role for the connection's whole life.
 */
#ifndef TK_ROLE_H
#define TK_ROLE_H

#include <sys/types.h>

#include "proto.h"

/* ordered: a higher role may do everything a lower one may */
enum tk_role {
	TK_ROLE_NONE = 0,	/* refused: no request allowed */
	TK_ROLE_SELF = 1,	/* any uid: only its own user */
	TK_ROLE_ADMIN = 2,	/* member of [tokend] admin_group */
	TK_ROLE_ROOT = 3	/* uid 0 */
};

struct tk_peer {
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	enum tk_role	 role;
	char		 user[TK_USER_MAX + 1];	/* login name of uid */
};

/*
 * Gives a role to a peer with credentials (uid, gid, pid): uid 0 is
 * root; a uid whose primary gid (as the kernel reports it or in the
 * passwd entry) or supplementary groups include `admin_group' is admin;
 * any other uid is self.  The login name is filled from getpwuid().
 * Returns 0, TK_ERR_UNTRUSTED for a non-root uid without a passwd entry
 * or a name too long, TK_ERR_NOMEM.  A missing admin group means no
 * admins, not an error.
 */
int tk_role_resolve(uid_t uid, gid_t gid, pid_t pid, const char *admin_group,
    struct tk_peer *peer);
/*
 * Reads SO_PEERCRED of a connected UNIX socket and resolves it as
 * above.  Returns 0, TK_ERR_IO or the errors of tk_role_resolve().
 */
int tk_role_from_socket(int fd, const char *admin_group,
    struct tk_peer *peer);
/* "none", "self", "admin", "root" */
const char *tk_role_name(enum tk_role);

#endif /* TK_ROLE_H */
