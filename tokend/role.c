/*
 * role.c -- SO_PEERCRED to role.
 *
 * The role is decided once, at accept time, from the kernel's view of
 * the peer; nothing the peer sends can change it.  Group membership is
 * read through NSS (getpwuid_r, getgrnam_r, getgrouplist), so an
 * administrator added to the group must reconnect to gain the role.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "role.h"

#define TK_NSS_BUF_MIN		1024		/* bytes */
#define TK_NSS_BUF_MAX		(1024 * 1024)	/* bytes */
#define TK_GROUPS_MIN		64		/* first getgrouplist guess */
#define TK_GROUPS_MAX		65536		/* kernel NGROUPS_MAX */

const char *
tk_role_name(enum tk_role role)
{
	switch (role) {
	case TK_ROLE_NONE:	return ("none");
	case TK_ROLE_SELF:	return ("self");
	case TK_ROLE_ADMIN:	return ("admin");
	case TK_ROLE_ROOT:	return ("root");
	}
	return ("none");
}

/*
 * Looks up the gid of `name'.  Returns 0 and *gid, TK_ERR_NOTFOUND, or
 * TK_ERR_NOMEM.
 */
static int
tk_role_group_gid(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	size_t len = TK_NSS_BUF_MIN;
	int e, r;

	for (;;) {
		if ((buf = malloc(len)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		e = getgrnam_r(name, &gr, buf, len, &res);
		if (e != ERANGE || len >= TK_NSS_BUF_MAX)
			break;
		free(buf);
		buf = NULL;
		len *= 2;
	}
	if (e != 0 || res == NULL) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}
	*gid = gr.gr_gid;

	r = 0; /* success */
fail:
	free(buf);
	return (r);
}

/*
 * Whether user `name' (primary group `pw_gid') is in group `admin'.
 * Returns 0 and *member, or TK_ERR_NOMEM.
 */
static int
tk_role_in_group(const char *name, gid_t pw_gid, gid_t admin, bool *member)
{
	gid_t *groups = NULL;
	int n = TK_GROUPS_MIN, i, r;

	*member = false;
	for (;;) {
		free(groups);
		if ((groups = calloc((size_t)n, sizeof(*groups))) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if (getgrouplist(name, pw_gid, groups, &n) >= 0)
			break;
		/* n now holds the size needed */
		if (n <= 0 || n > TK_GROUPS_MAX) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
	}
	for (i = 0; i < n; i++)
		if (groups[i] == admin)
			*member = true;

	r = 0; /* success */
fail:
	free(groups);
	return (r);
}

int
tk_role_resolve(uid_t uid, gid_t gid, pid_t pid, const char *admin_group,
    struct tk_peer *peer)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	size_t len = TK_NSS_BUF_MIN, nlen;
	gid_t admin;
	bool member = false;
	int e, r;

	memset(peer, 0, sizeof(*peer));
	peer->uid = uid;
	peer->gid = gid;
	peer->pid = pid;
	peer->role = TK_ROLE_NONE;

	for (;;) {
		if ((buf = malloc(len)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		e = getpwuid_r(uid, &pw, buf, len, &res);
		if (e != ERANGE || len >= TK_NSS_BUF_MAX)
			break;
		free(buf);
		buf = NULL;
		len *= 2;
	}
	if (e == 0 && res != NULL) {
		nlen = strlen(pw.pw_name);
		if (nlen == 0 || nlen > TK_USER_MAX) {
			r = TK_ERR_UNTRUSTED;
			goto fail;
		}
		memcpy(peer->user, pw.pw_name, nlen + 1);
	} else
		res = NULL;

	if (uid == 0) {
		peer->role = TK_ROLE_ROOT;
		r = 0;
		goto fail;
	}
	/* a uid nobody can name cannot be matched to a user: refuse it */
	if (res == NULL) {
		r = TK_ERR_UNTRUSTED;
		goto fail;
	}
	peer->role = TK_ROLE_SELF;
	if (admin_group == NULL || *admin_group == '\0' ||
	    tk_role_group_gid(admin_group, &admin) != 0) {
		r = 0;
		goto fail;
	}
	if (gid == admin || pw.pw_gid == admin)
		member = true;
	else if ((r = tk_role_in_group(pw.pw_name, pw.pw_gid, admin,
	    &member)) != 0) {
		peer->role = TK_ROLE_NONE;
		goto fail;
	}
	if (member)
		peer->role = TK_ROLE_ADMIN;

	r = 0; /* success */
fail:
	free(buf);
	return (r);
}

int
tk_role_from_socket(int fd, const char *admin_group, struct tk_peer *peer)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(peer, 0, sizeof(*peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc)) {
		tk_log(LOG_ERR, "SO_PEERCRED: %s", strerror(errno));
		return (TK_ERR_IO);
	}
	return (tk_role_resolve(uc.uid, uc.gid, uc.pid, admin_group, peer));
}
