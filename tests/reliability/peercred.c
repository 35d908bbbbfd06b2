/*
 * peercred.c -- a test-only LD_PRELOAD library for tokend that rewrites
 * the uid and gid getsockopt(SO_PEERCRED) reports, so the tests can
 * play any caller without running as that uid.  Never linked into the
 * product.
 *
 * TK_PEERCRED_FILE names a file read at every SO_PEERCRED query: when
 * it exists and holds "UID GID", the kernel's answer is replaced by
 * those ids (the pid is kept); when it is missing, the real answer is
 * returned.  So one running tokend can be spoken to as root (to set
 * things up) and then as any other uid.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/socket.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
fake_ids(unsigned long *uid, unsigned long *gid)
{
	const char *path;
	char buf[64];
	ssize_t n;
	int fd;

	if ((path = getenv("TK_PEERCRED_FILE")) == NULL)
		return (0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (0);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	return (sscanf(buf, "%lu %lu", uid, gid) == 2);
}

int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);
	struct ucred *uc;
	unsigned long uid, gid;
	int r;

	if (real == NULL &&
	    (real = (int (*)(int, int, int, void *, socklen_t *))
	    dlsym(RTLD_NEXT, "getsockopt")) == NULL)
		abort();
	r = real(fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && name == SO_PEERCRED &&
	    len != NULL && *len == sizeof(*uc) && fake_ids(&uid, &gid)) {
		uc = val;
		uc->uid = (uid_t)uid;
		uc->gid = (gid_t)gid;
	}
	return (r);
}
