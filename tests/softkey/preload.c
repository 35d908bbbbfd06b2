/*
 * preload.c -- softkey-preload.so, an LD_PRELOAD shim that shows the
 * soft keys to a program that knows nothing of them: pam_tokend.so,
 * tokenadm, or any fido_dev_info_manifest() -> fido_dev_new() ->
 * fido_dev_open(path) caller.
 *
 *	SOFTKEY_KEYS=/tmp/a.state:/tmp/b.state LD_PRELOAD=.../softkey-preload.so
 *
 * fido_dev_info_manifest() lists each state file of SOFTKEY_KEYS that
 * exists, parses and is not `removed', as path "softkey:<file>" with the
 * manufacturer and product of its configuration (no real device is
 * listed).  fido_dev_open() on such a path sets the soft key's io
 * functions, then runs libfido2's own fido_dev_open(); any other path
 * goes to libfido2 untouched.  The entries carry io and transport
 * functions too, so fido_dev_new_with_info() + fido_dev_open_with_info()
 * work without the shim's help.
 *
 * Invariants:
 * 1. Each open loads the state file afresh and each change is written
 *    back at once, so processes take turns on one key.
 * 2. SOFTKEY_DEBUG set: one line on stderr per interposed call.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_int.h"

/* exported: they replace libfido2's (declared in fido.h) */
typedef int	(*open_fn)(fido_dev_t *, const char *);

static void
debug(const char *what, const char *path)
{
	if (getenv("SOFTKEY_DEBUG") != NULL)
		fprintf(stderr, "softkey-preload: %s %s\n", what, path);
}

int
fido_dev_info_manifest(fido_dev_info_t *devlist, size_t ilen, size_t *olen)
{
	const char	*env = getenv("SOFTKEY_KEYS");
	char		*list, *file, *save = NULL;
	sk_key_t	*k;

	if (olen == NULL)
		return (FIDO_ERR_INVALID_ARGUMENT);
	*olen = 0;
	if (devlist == NULL)
		return (FIDO_ERR_INVALID_ARGUMENT);
	if (env == NULL || (list = strdup(env)) == NULL)
		return (FIDO_OK);
	for (file = strtok_r(list, ":", &save); file != NULL && *olen < ilen;
	    file = strtok_r(NULL, ":", &save)) {
		if (sk_key_load(file, false, &k) < 0) {
			debug("no key", file);
			continue;
		}
		if (!k->cfg.removed && fido_dev_info_set(devlist, *olen,
		    sk_key_path(k), k->cfg.manufacturer, k->cfg.product,
		    &sk_hid_io, &sk_hid_transport) == FIDO_OK) {
			debug("listed", file);
			(*olen)++;
		} else
			debug("removed", file);
		sk_key_close(&k);
	}
	free(list);

	return (FIDO_OK);
}

int
fido_dev_open(fido_dev_t *dev, const char *path)
{
	open_fn real;

	if ((real = (open_fn)dlsym(RTLD_NEXT, "fido_dev_open")) == NULL)
		return (FIDO_ERR_INTERNAL);
	if (dev != NULL && path != NULL && !strncmp(path, SK_PATH_PREFIX,
	    strlen(SK_PATH_PREFIX))) {
		debug("open", path);
		if (sk_dev_attach(dev) < 0)
			return (FIDO_ERR_INVALID_ARGUMENT);
	}

	return (real(dev, path));
}
