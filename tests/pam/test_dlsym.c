/*
 * test_dlsym.c -- load the built pam_tokend.so the way libpam does
 * (dlopen with every symbol resolved now) and look up its entry points.
 * Prints TAP.  The module path is $TOP_BUILDDIR/pam_module/.libs/
 * pam_tokend.so, or argv[1].
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;
static int n;

static void
check(int cond, const char *name, const char *detail)
{
	n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, name);
	if (!cond) {
		failed++;
		if (detail != NULL)
			printf("#   %s\n", detail);
	}
}

int
main(int argc, char **argv)
{
	/* symbols a PAM module must export */
	static const char *const entry[] = {
		"pam_sm_authenticate",
		"pam_sm_setcred",
	};
	/*
	 * Internal symbols of common/ and pam_module/ that must stay
	 * hidden, and libraries' symbols that must not be re-exported.
	 */
	static const char *const hidden[] = {
		"tk_msg_decode",
		"tk_msg_encode",
		"tk_client_open",
		"tk_client_call",
		"tk_frame_read",
		"tk_conf_load",
		"tk_strerr",
		"cbor_load",
	};
	char path[4096];
	const char *top;
	void *h, *own;
	size_t i;
	char name[128];

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else {
		top = getenv("TOP_BUILDDIR");
		snprintf(path, sizeof(path), "%s/pam_module/.libs/pam_tokend.so",
		    top != NULL ? top : "../..");
	}

	printf("1..%zu\n", 1 + sizeof(entry) / sizeof(entry[0]) +
	    sizeof(hidden) / sizeof(hidden[0]));

	dlerror();
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	check(h != NULL, "dlopen(RTLD_NOW) of the built pam_tokend.so",
	    h == NULL ? dlerror() : NULL);
	if (h == NULL) {
		for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++)
			check(0, "entry point (module not loaded)", NULL);
		for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
			check(0, "hidden symbol (module not loaded)", NULL);
		return 0;
	}

	for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++) {
		snprintf(name, sizeof(name), "dlsym %s is not NULL", entry[i]);
		dlerror();
		check(dlsym(h, entry[i]) != NULL, name, dlerror());
	}

	/*
	 * dlsym on the handle searches the module and its dependencies,
	 * so for a library symbol (cbor_load) only check that, if found,
	 * it is not the module's own copy: it must come from libcbor.
	 */
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		Dl_info info;
		int ok;

		snprintf(name, sizeof(name), "%s is not exported by the module",
		    hidden[i]);
		own = dlsym(h, hidden[i]);
		ok = own == NULL;
		if (!ok && dladdr(own, &info) != 0 && info.dli_fname != NULL &&
		    strstr(info.dli_fname, "pam_tokend") == NULL)
			ok = 1;
		check(ok, name, NULL);
	}

	dlclose(h);
	/* failures are reported by the "not ok" lines */
	return 0;
}
