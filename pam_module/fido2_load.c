/*
 * fido2_load.c -- tk_fido2_run() (fido2.h) in pam_tokend.so: loads the
 * FIDO2 object (tokend_fido2.so, fido2_api.h) for one FIDO2 login and
 * unloads it after.  libfido2, libcrypto and libudev are thus loaded
 * only into a process whose user tries a security key: a TOTP login
 * (sshd, factors=totp, or a user without a key) pays nothing for them.
 *
 * MUST:
 * 1. The object's path comes from the path of pam_tokend.so itself
 *    (dladdr), never from the environment or any input: this code
 *    runs inside set-uid programs (sudo, su).  It is the file
 *    TK_PAM_FIDO2_OBJECT in the same directory, installed beside the
 *    module by the same package.
 * 2. The file loaded is the file checked: it is opened with O_NOFOLLOW,
 *    must be a regular file owned by root (or by the owner of
 *    pam_tokend.so itself, who could replace the module anyway: a build
 *    tree) and writable by no one else, and is loaded through
 *    /proc/self/fd/N of that descriptor.
 * 3. An object of another ABI is refused.
 * 4. Every failure is a failure of the FIDO2 factor (out->err set,
 *    logged), never a success; since no assertion reached tokend, the
 *    next factor of factors= may be asked (login.c MUST 5).
 * 5. The descriptor and the handle are closed on every path.
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

#include "conv.h"
#include "err.h"
#include "fido2.h"
#include "fido2_api.h"
#include "i18n.h"
#include "log.h"

extern const struct tk_pam_fido2_api tk_pam_fido2_api
    __attribute__((weak, visibility("hidden")));

/*
 * MUST 1: "DIR/tokend_fido2.so", DIR that of this module; *owner is
 * the module's owner
 */
static int
object_path(char *path, size_t len, uid_t *owner)
{
	Dl_info info;
	struct stat st;
	const char *slash;
	size_t dir;
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
	dir = (size_t)(slash - info.dli_fname);
	n = snprintf(path, len, "%.*s/%s", (int)dir, info.dli_fname,
	    TK_PAM_FIDO2_OBJECT);
	if (n < 0 || (size_t)n >= len) {
		tk_log(LOG_ERR, "fido2: module path too long");
		return (TK_ERR_IO);
	}
	return (0);
}

/* MUST 2: a descriptor of the object, checked */
static int
object_open(const char *path, uid_t owner, int *fdp)
{
	struct stat st;
	int fd;

	*fdp = -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		tk_log(LOG_ERR, "fido2: cannot open %s: %s (is the FIDO2 "
		    "part of tokend installed?)", path, strerror(errno));
		return (TK_ERR_IO);
	}
	if (fstat(fd, &st) != 0) {
		tk_log(LOG_ERR, "fido2: %s: %s", path, strerror(errno));
		close(fd);
		return (TK_ERR_IO);
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		tk_log(LOG_ERR, "fido2: refusing %s: not a regular file owned "
		    "by root (or pam_tokend.so's owner) and writable by its "
		    "owner alone", path);
		close(fd);
		return (TK_ERR_PERM);
	}
	*fdp = fd;
	return (0);
}

/* loads the checked object; MUST 3 */
static int
object_load(int fd, const char *path, void **handlep,
    const struct tk_pam_fido2_api **apip)
{
	const struct tk_pam_fido2_api *api;
	char proc[sizeof("/proc/self/fd/") + 3 * sizeof(int)];
	const char *e;
	void *h;

	*handlep = NULL;
	*apip = NULL;
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((h = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		tk_log(LOG_ERR, "fido2: cannot load %s: %s", path,
		    e != NULL ? e : "unknown error");
		return (TK_ERR_IO);
	}
	api = dlsym(h, TK_PAM_FIDO2_SYMBOL);
	if (api == NULL || api->abi != TK_PAM_FIDO2_ABI || api->run == NULL) {
		tk_log(LOG_ERR, "fido2: %s is not the FIDO2 part of this "
		    "pam_tokend.so (ABI %u wanted, %s)", path,
		    TK_PAM_FIDO2_ABI, api == NULL ? "no entry point" :
		    "another ABI");
		dlclose(h);
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
	char path[PATH_MAX];
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
	if ((r = object_path(path, sizeof(path), &owner)) != 0 ||
	    (r = object_open(path, owner, &fd)) != 0 ||
	    (r = object_load(fd, path, &h, &api)) != 0) {
		if (fd != -1)
			close(fd);
		out->err = r;
		*fallback = true;	/* MUST 4 */
		if (!l->silent)
			(void)tk_conv_error(l->pamh, _("Security keys cannot "
			    "be used on this computer; ask your "
			    "administrator."));
		return;
	}
	close(fd);
	api->run(l, out, fallback);
	dlclose(h);
}
