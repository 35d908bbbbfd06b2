/*
 * faultinj.c -- a test-only LD_PRELOAD library that makes the Nth call
 * of one chosen function fail.  It is preloaded into the PAM driver (or
 * into tokend) by the reliability tests and is never linked into the
 * product.
 *
 * Environment, read once at load:
 *   TK_FAULT_FUNC   the function to fail: malloc calloc realloc strdup
 *                   socket connect read recv write send sendmsg poll
 *                   getpwnam getpwnam_r fsync fdatasync pwrite64;
 *                   unset: nothing fails, calls are only counted
 *   TK_FAULT_NTH    which call fails, 1-based (default 1)
 *   TK_FAULT_PERSIST  "1": that call and every later one fail
 *   TK_FAULT_MODE   "fail" (default) or "timeout" (poll only: report
 *                   no event at once, as if the deadline had passed)
 *   TK_FAULT_ERRNO  the errno of a failing call (a number; each
 *                   function has a sensible default)
 *   TK_FAULT_SCOPE  comma-separated substrings of the path of the
 *                   calling object; only calls made from a matching
 *                   object are counted and failed.  Default
 *                   "pam_tokend.so,libcbor" (the module and the one
 *                   library it calls that allocates).  "*" = any caller.
 *   TK_FAULT_ARMFILE  a path; when set, calls are counted (and fail)
 *                   only while that file exists, so a test can arm a
 *                   running daemon after its start-up; the count starts
 *                   from 1 again at each arming
 *   TK_FAULT_LOG    a file; "hit FUNC N CALLER-OBJECT" is appended when the fault
 *                   fires, and "calls FUNC COUNT" at exit
 *
 * Allocation wrappers call glibc's __libc_* entry points, so they never
 * need dlsym(); the others find the next definition with
 * dlsym(RTLD_NEXT) on first use.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

#define SCOPE_MAX	8
#define SCOPE_LEN	64

enum func {
	F_NONE, F_MALLOC, F_CALLOC, F_REALLOC, F_STRDUP, F_SOCKET,
	F_CONNECT, F_READ, F_RECV, F_WRITE, F_SEND, F_SENDMSG, F_POLL,
	F_GETPWNAM, F_GETPWNAM_R, F_FSYNC, F_FDATASYNC, F_PWRITE64
};

static const struct {
	const char	*name;
	int		 err;	/* default errno */
} funcs[] = {
	[F_NONE] = { "", 0 },
	[F_MALLOC] = { "malloc", ENOMEM },
	[F_CALLOC] = { "calloc", ENOMEM },
	[F_REALLOC] = { "realloc", ENOMEM },
	[F_STRDUP] = { "strdup", ENOMEM },
	[F_SOCKET] = { "socket", EMFILE },
	[F_CONNECT] = { "connect", ECONNREFUSED },
	[F_READ] = { "read", EIO },
	[F_RECV] = { "recv", ECONNRESET },
	[F_WRITE] = { "write", EIO },
	[F_SEND] = { "send", EPIPE },
	[F_SENDMSG] = { "sendmsg", EPIPE },
	[F_POLL] = { "poll", ENOMEM },
	[F_GETPWNAM] = { "getpwnam", EIO },
	[F_GETPWNAM_R] = { "getpwnam_r", EIO },
	[F_FSYNC] = { "fsync", EIO },
	[F_FDATASYNC] = { "fdatasync", EIO },
	[F_PWRITE64] = { "pwrite64", ENOSPC },
};

static int		 ready;
static enum func	 target = F_NONE;
static unsigned long	 nth = 1;
static unsigned long	 calls;
static int		 persist;
static int		 timeout_mode;
static int		 fault_errno;
static int		 any_scope;
static char		 scopes[SCOPE_MAX][SCOPE_LEN];
static int		 nscopes;
static char		 logpath[4096];
static char		 armpath[4096];
static int		 armed;

static void
log_line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	if (logpath[0] == '\0')
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return;
	/* the raw syscall: write() itself may be the target */
	fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, fd, buf, (size_t)n);
	(void)close(fd);
}

__attribute__((constructor)) static void
fault_init(void)
{
	const char *f, *s, *p;
	size_t i, len;

	if ((f = getenv("TK_FAULT_FUNC")) != NULL && *f != '\0') {
		for (i = 1; i < sizeof(funcs) / sizeof(funcs[0]); i++)
			if (strcmp(f, funcs[i].name) == 0)
				target = (enum func)i;
		if (target == F_NONE) {
			fprintf(stderr, "faultinj: unknown TK_FAULT_FUNC %s\n",
			    f);
			_exit(99);
		}
		fault_errno = funcs[target].err;
	}
	if ((s = getenv("TK_FAULT_NTH")) != NULL && *s != '\0')
		nth = strtoul(s, NULL, 10);
	if ((s = getenv("TK_FAULT_PERSIST")) != NULL && strcmp(s, "1") == 0)
		persist = 1;
	if ((s = getenv("TK_FAULT_MODE")) != NULL && strcmp(s, "timeout") == 0)
		timeout_mode = 1;
	if ((s = getenv("TK_FAULT_ERRNO")) != NULL && *s != '\0')
		fault_errno = atoi(s);
	if ((s = getenv("TK_FAULT_LOG")) != NULL &&
	    strlen(s) < sizeof(logpath))
		memcpy(logpath, s, strlen(s) + 1);
	if ((s = getenv("TK_FAULT_ARMFILE")) != NULL &&
	    strlen(s) < sizeof(armpath))
		memcpy(armpath, s, strlen(s) + 1);
	if ((s = getenv("TK_FAULT_SCOPE")) == NULL)
		s = "pam_tokend.so,libcbor";
	if (strcmp(s, "*") == 0)
		any_scope = 1;
	while (*s != '\0' && nscopes < SCOPE_MAX) {
		p = strchr(s, ',');
		len = p != NULL ? (size_t)(p - s) : strlen(s);
		if (len > 0 && len < SCOPE_LEN) {
			memcpy(scopes[nscopes], s, len);
			scopes[nscopes++][len] = '\0';
		}
		s += len + (p != NULL ? 1 : 0);
	}
	ready = 1;
}

__attribute__((destructor)) static void
fault_fini(void)
{
	if (target != F_NONE)
		log_line("calls %s %lu\n", funcs[target].name, calls);
}

static int
in_scope(const void *caller)
{
	Dl_info info;
	int i;

	if (any_scope)
		return (1);
	if (dladdr(caller, &info) == 0 || info.dli_fname == NULL)
		return (0);
	for (i = 0; i < nscopes; i++)
		if (strstr(info.dli_fname, scopes[i]) != NULL)
			return (1);
	return (0);
}

/* Whether this call of f (made from `caller') must fail. */
static int
should_fail(enum func f, const void *caller)
{
	Dl_info info;

	if (!ready || f != target || !in_scope(caller))
		return (0);
	if (armpath[0] != '\0') {
		if (access(armpath, F_OK) != 0) {
			armed = 0;
			return (0);
		}
		if (!armed) {	/* each arming counts from 1 again */
			armed = 1;
			calls = 0;
		}
	}
	calls++;
	if (calls == nth || (persist && calls > nth)) {
		if (dladdr(caller, &info) == 0 || info.dli_fname == NULL)
			info.dli_fname = "?";
		log_line("hit %s %lu %s\n", funcs[f].name, calls,
		    info.dli_fname);
		return (1);
	}
	return (0);
}

#define CALLER	__builtin_return_address(0)

static void *
next(const char *name)
{
	void *p;

	if ((p = dlsym(RTLD_NEXT, name)) == NULL) {
		fprintf(stderr, "faultinj: no %s\n", name);
		abort();
	}
	return (p);
}

void *
malloc(size_t n)
{
	if (should_fail(F_MALLOC, CALLER)) {
		errno = fault_errno;
		return (NULL);
	}
	return (__libc_malloc(n));
}

void *
calloc(size_t n, size_t m)
{
	if (should_fail(F_CALLOC, CALLER)) {
		errno = fault_errno;
		return (NULL);
	}
	return (__libc_calloc(n, m));
}

void *
realloc(void *p, size_t n)
{
	if (should_fail(F_REALLOC, CALLER)) {
		errno = fault_errno;
		return (NULL);
	}
	return (__libc_realloc(p, n));
}

char *
strdup(const char *s)
{
	size_t n;
	char *d;

	if (should_fail(F_STRDUP, CALLER)) {
		errno = fault_errno;
		return (NULL);
	}
	n = strlen(s) + 1;
	if ((d = __libc_malloc(n)) != NULL)
		memcpy(d, s, n);
	return (d);
}

int
socket(int domain, int type, int proto)
{
	static int (*real)(int, int, int);

	if (should_fail(F_SOCKET, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("socket");
	return (real(domain, type, proto));
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (should_fail(F_CONNECT, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("connect");
	return (real(fd, sa, len));
}

ssize_t
read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);

	if (should_fail(F_READ, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("read");
	return (real(fd, buf, n));
}

ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);

	if (should_fail(F_RECV, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("recv");
	return (real(fd, buf, n, flags));
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (should_fail(F_WRITE, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("write");
	return (real(fd, buf, n));
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);

	if (should_fail(F_SEND, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("send");
	return (real(fd, buf, n, flags));
}

ssize_t
sendmsg(int fd, const struct msghdr *mh, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);

	if (should_fail(F_SENDMSG, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("sendmsg");
	return (real(fd, mh, flags));
}

int
poll(struct pollfd *p, nfds_t n, int ms)
{
	static int (*real)(struct pollfd *, nfds_t, int);
	nfds_t i;

	if (should_fail(F_POLL, CALLER)) {
		if (timeout_mode) {
			for (i = 0; i < n; i++)
				p[i].revents = 0;
			return (0);
		}
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("poll");
	return (real(p, n, ms));
}

struct passwd *
getpwnam(const char *name)
{
	static struct passwd *(*real)(const char *);

	if (should_fail(F_GETPWNAM, CALLER)) {
		errno = fault_errno;
		return (NULL);
	}
	if (real == NULL)
		real = next("getpwnam");
	return (real(name));
}

int
getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
    struct passwd **res)
{
	static int (*real)(const char *, struct passwd *, char *, size_t,
	    struct passwd **);

	if (should_fail(F_GETPWNAM_R, CALLER)) {
		*res = NULL;
		return (fault_errno);
	}
	if (real == NULL)
		real = next("getpwnam_r");
	return (real(name, pw, buf, len, res));
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (should_fail(F_FSYNC, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("fsync");
	return (real(fd));
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (should_fail(F_FDATASYNC, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("fdatasync");
	return (real(fd));
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (should_fail(F_PWRITE64, CALLER)) {
		errno = fault_errno;
		return (-1);
	}
	if (real == NULL)
		real = next("pwrite64");
	return (real(fd, buf, n, off));
}
