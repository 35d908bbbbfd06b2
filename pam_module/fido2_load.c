/*
 * fido2_load.c -- tk_fido2_run() (fido2.h) in pam_tokend.so: loads the
 * FIDO2 object (tokend_fido2.so, fido2_api.h) for one FIDO2 login and
 * unloads it after.  libfido2, libcrypto and libudev are thus loaded
 * only into a process whose user tries a security key: a TOTP login
 * (sshd, factors=totp, or a user without a key) pays nothing for them.
 *
 * Where the object is.  The file TK_PAM_FIDO2_OBJECT in the directory
 * pam_tokend.so itself was loaded from, as dladdr() names it: the
 * package installs both files there together, and the build tree, the
 * tests (which copy both into a private directory) and `make distcheck'
 * find it the same way, with nothing to configure.  A path compiled in
 * ($pkglibdir) would need a module argument to point the tests
 * elsewhere, and the environment is out of the question: this code
 * runs inside set-uid programs (sudo, su), whose caller controls the
 * environment.  The directory of pam_tokend.so is chosen by the
 * root-owned PAM configuration (or libpam's default module directory),
 * never by the person logging in.
 *
 * MUST:
 * 1. The object's path comes from the path of pam_tokend.so itself
 *    (dladdr), never from the environment or any other input.
 * 2. The file loaded is the file checked: the directory is opened and
 *    checked, the object is opened in it with O_NOFOLLOW, checked
 *    through its descriptor, and loaded through /proc/self/fd/N of that
 *    descriptor (so /proc must be mounted).  Both must be owned by root
 *    (or by the owner of pam_tokend.so itself, who could replace the
 *    module anyway: a build tree) and writable by no one else, and the
 *    object must be a regular file.
 * 3. An object of another ABI, another package version or other
 *    structure sizes is refused; `abi' is read before anything else.
 *    (Its constructors have run by then: the checks of MUST 2 are
 *    what makes the file trusted; this one keeps out a stale or
 *    mismatched object, whose structures would be read wrongly.)
 * 4. Every failure is a failure of the FIDO2 factor (out->err set,
 *    logged with a line saying what to fix), never a success; since no
 *    assertion reached tokend, the next factor of factors= may be
 *    asked (login.c MUST 5), which must pass on its own.
 * 5. The descriptors and the handle are closed on every path.  The
 *    object is unloaded after the login rather than kept: libpam
 *    unloads pam_tokend.so at pam_end, so a handle kept in it would
 *    be lost and the object pinned in the process for good (sshd,
 *    gdm and screen lockers are long-lived), and the few hundred
 *    microseconds of loading are nothing next to a key touch.
 * A program that links the FIDO2 code itself (the unit tests of
 * tests/clients link libpamfido2) has tk_pam_fido2_api in its own image
 * and runs it without loading anything: the reference is weak and
 * hidden, so it is resolved when the image is linked, never at run time
 * against another object's symbols.
 */
#include "config.h"

#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conv.h"
#include "err.h"
#include "fido2.h"
#include "fido2_api.h"
#include "i18n.h"
#include "log.h"

extern const struct tk_pam_fido2_api tk_pam_fido2_api
    __attribute__((weak, visibility("hidden")));

/*
 * MUST 1: the directory of this module into dir, the object's path
 * into path (for the log), the module's owner into *owner
 */
static int
object_where(char *dir, size_t dirlen, char *path, size_t pathlen,
    uid_t *owner)
{
	Dl_info info;
	struct stat st;
	const char *slash;
	size_t len;
	int n;

	memset(&info, 0, sizeof(info));
	if (dladdr((const void *)tk_fido2_run, &info) == 0 ||
	    info.dli_fname == NULL || info.dli_fname[0] != '/' ||
	    (slash = strrchr(info.dli_fname, '/')) == NULL ||
	    stat(info.dli_fname, &st) != 0) {
		tk_log(LOG_ERR, "fido2: cannot tell where pam_tokend.so "
		    "was loaded from");
		return (TK_ERR_IO);
	}
	*owner = st.st_uid;
	len = (size_t)(slash - info.dli_fname);
	if (len >= dirlen || len > INT_MAX ||
	    (n = snprintf(path, pathlen, "%.*s/%s", (int)len,
	    info.dli_fname, TK_PAM_FIDO2_OBJECT)) < 0 ||
	    (size_t)n >= pathlen) {
		tk_log(LOG_ERR, "fido2: module path too long");
		return (TK_ERR_IO);
	}
	/* the directory: "/" for a module at the root */
	if (len == 0)
		len = 1;
	memcpy(dir, info.dli_fname, len);
	dir[len] = '\0';
	return (0);
}

/* MUST 2: whether st is owned by root or `owner' and writable by no other */
static bool
object_safe(const struct stat *st, uid_t owner)
{
	return ((st->st_uid == 0 || st->st_uid == owner) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0);
}

/* MUST 2: a descriptor of the object, checked, in a checked directory */
static int
object_open(const char *dir, const char *path, uid_t owner, int *fdp)
{
	struct stat st;
	int dfd, fd = -1, r = TK_ERR_IO;

	*fdp = -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dfd, &st) != 0) {
		tk_log(LOG_ERR, "fido2: %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!object_safe(&st, owner)) {
		tk_log(LOG_ERR, "fido2: refusing %s: its directory is not "
		    "owned by root or is writable by group or others", path);
		r = TK_ERR_PERM;
		goto out;
	}
	/* O_NONBLOCK: a FIFO in its place must not hang the login */
	if ((fd = openat(dfd, TK_PAM_FIDO2_OBJECT, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1) {
		tk_log(LOG_ERR, "fido2: cannot open %s: %s (the FIDO2 part "
		    "of tokend belongs beside pam_tokend.so)", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		tk_log(LOG_ERR, "fido2: %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || !object_safe(&st, owner)) {
		tk_log(LOG_ERR, "fido2: refusing %s: not a regular file owned "
		    "by root and writable by its owner alone", path);
		r = TK_ERR_PERM;
		goto out;
	}
	*fdp = fd;
	fd = -1;
	r = 0; /* success */
 out:
	if (fd != -1)
		(void)close(fd);
	if (dfd != -1)
		(void)close(dfd);
	return (r);
}

/* MUST 3: the object's entry point, or why it is not ours */
static const char *
object_mismatch(const struct tk_pam_fido2_api *api)
{
	if (api == NULL)
		return ("no entry point");
	if (api->abi != TK_PAM_FIDO2_ABI)
		return ("another ABI");
	if (api->version == NULL || strcmp(api->version, PACKAGE_VERSION) != 0)
		return ("another version");
	if (api->login_size != sizeof(struct tk_login) ||
	    api->conf_size != sizeof(struct tk_conf) ||
	    api->outcome_size != sizeof(struct tk_pam_outcome))
		return ("another build");
	if (api->run == NULL)
		return ("no entry point");
	return (NULL);
}

/* loads the checked object; MUST 3 */
static int
object_load(int fd, const char *path, void **handlep,
    const struct tk_pam_fido2_api **apip)
{
	const struct tk_pam_fido2_api *api;
	char proc[sizeof("/proc/self/fd/") + 3 * sizeof(int)];
	const char *e, *why;
	void *h;
	int n;

	*handlep = NULL;
	*apip = NULL;
	n = snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (n < 0 || (size_t)n >= sizeof(proc))
		return (TK_ERR_IO);
	(void)dlerror();
	if ((h = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		tk_log(LOG_ERR, "fido2: cannot load %s: %s", path,
		    e != NULL ? e : "unknown error");
		return (TK_ERR_IO);
	}
	api = dlsym(h, TK_PAM_FIDO2_SYMBOL);
	if ((why = object_mismatch(api)) != NULL) {
		tk_log(LOG_ERR, "fido2: refusing %s: not the FIDO2 part of "
		    "this pam_tokend.so (%s %s, ABI %u): %s", path, PACKAGE,
		    PACKAGE_VERSION, TK_PAM_FIDO2_ABI, why);
		(void)dlclose(h);
		return (TK_ERR_VERSION);
	}
	*handlep = h;
	*apip = api;
	return (0);
}

void
tk_fido2_run(const struct tk_login *l, struct tk_pam_outcome *out,
    bool *fallback)
{
	const struct tk_pam_fido2_api *api = NULL;
	char dir[PATH_MAX], path[PATH_MAX];
	void *h = NULL;
	uid_t owner = 0;
	int fd = -1, r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;
	out->recovery_left = -1;
	out->factor = TK_FACTOR_FIDO2;
	*fallback = false;
	if (&tk_pam_fido2_api != NULL) {
		tk_pam_fido2_api.run(l, out, fallback);
		return;
	}
	if ((r = object_where(dir, sizeof(dir), path, sizeof(path),
	    &owner)) != 0 ||
	    (r = object_open(dir, path, owner, &fd)) != 0 ||
	    (r = object_load(fd, path, &h, &api)) != 0) {
		if (fd != -1)
			(void)close(fd);
		out->err = r;
		*fallback = true;	/* MUST 4 */
		if (!l->silent)
			(void)tk_conv_error(l->pamh, _("Security keys cannot "
			    "be used on this computer; ask your "
			    "administrator."));
		return;
	}
	(void)close(fd);
	api->run(l, out, fallback);
	if (dlclose(h) != 0)
		tk_log(LOG_WARNING, "fido2: unloading %s failed", path);
}
