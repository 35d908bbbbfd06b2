/*
 * preload_client.c -- a FIDO2 client that knows only libfido2, for
 * t_preload.sh to run under softkey-preload.so: it lists the devices,
 * or makes a credential and an assertion on the first one and verifies
 * both, as pam_tokend.so and tokenadm do.
 *
 *	preload_client list
 *	preload_client [-i] [-p pin] [-u] [-T ms] run
 *
 * -i opens with fido_dev_new_with_info() instead of fido_dev_open(path);
 * -u asks for user verification; -T sets fido_dev_set_timeout().
 * Prints "ok sigcount=N flags=0xNN", or the libfido2 error; exit 0 or 1.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fido.h>
#include <fido/es256.h>

#define RP_ID	"tokend.test"

static const unsigned char cdh[32] = { 'c', 'd', 'h' };

static int
fail(const char *what, int r)
{
	printf("%s: %s\n", what, fido_strerr(r));

	return (1);
}

static int
list(void)
{
	fido_dev_info_t	*di;
	size_t		 n;
	int		 r;

	if ((di = fido_dev_info_new(16)) == NULL)
		return (1);
	if ((r = fido_dev_info_manifest(di, 16, &n)) != FIDO_OK) {
		fido_dev_info_free(&di, 16);
		return (fail("manifest", r));
	}
	printf("%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const fido_dev_info_t *e = fido_dev_info_ptr(di, i);

		printf("%s\t%s\t%s\n", fido_dev_info_path(e),
		    fido_dev_info_manufacturer_string(e),
		    fido_dev_info_product_string(e));
	}
	fido_dev_info_free(&di, 16);

	return (0);
}

static int
run(bool with_info, const char *pin, bool uv, int timeout_ms)
{
	fido_dev_info_t	*di;
	fido_dev_t	*dev = NULL;
	fido_cred_t	*c = NULL;
	fido_assert_t	*a = NULL;
	es256_pk_t	*pk = NULL;
	size_t		 n;
	int		 r, ret = 1;

	/* every path frees what it made (clean under LeakSanitizer) */
	if ((di = fido_dev_info_new(16)) == NULL)
		goto out;
	if ((r = fido_dev_info_manifest(di, 16, &n)) != FIDO_OK || n == 0) {
		printf("no device\n");
		fido_dev_info_free(&di, 16);
		goto out;
	}
	if (with_info)
		dev = fido_dev_new_with_info(fido_dev_info_ptr(di, 0));
	else
		dev = fido_dev_new();
	if (dev == NULL || fido_dev_set_timeout(dev, timeout_ms) != FIDO_OK) {
		fido_dev_info_free(&di, 16);
		goto out;
	}
	if (with_info)
		r = fido_dev_open_with_info(dev);
	else
		r = fido_dev_open(dev,
		    fido_dev_info_path(fido_dev_info_ptr(di, 0)));
	fido_dev_info_free(&di, 16);
	if (r != FIDO_OK) {
		fido_dev_free(&dev);
		ret = fail("open", r);
		goto out;
	}

	if ((c = fido_cred_new()) == NULL ||
	    fido_cred_set_type(c, COSE_ES256) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(c, cdh, sizeof(cdh)) != FIDO_OK ||
	    fido_cred_set_rp(c, RP_ID, NULL) != FIDO_OK ||
	    fido_cred_set_user(c, cdh, 8, "alice", NULL, NULL) != FIDO_OK ||
	    fido_cred_set_uv(c, uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK)
		goto out;
	if ((r = fido_dev_make_cred(dev, c, pin)) != FIDO_OK) {
		ret = fail("make_cred", r);
		goto out;
	}
	if ((r = fido_cred_verify_self(c)) != FIDO_OK &&
	    (r = fido_cred_verify(c)) != FIDO_OK) {
		ret = fail("cred_verify", r);
		goto out;
	}

	if ((a = fido_assert_new()) == NULL ||
	    fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh)) != FIDO_OK ||
	    fido_assert_set_rp(a, RP_ID) != FIDO_OK ||
	    fido_assert_allow_cred(a, fido_cred_id_ptr(c),
	    fido_cred_id_len(c)) != FIDO_OK ||
	    fido_assert_set_uv(a, uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) !=
	    FIDO_OK)
		goto out;
	if ((r = fido_dev_get_assert(dev, a, pin)) != FIDO_OK) {
		ret = fail("get_assert", r);
		goto out;
	}
	if ((pk = es256_pk_new()) == NULL || es256_pk_from_ptr(pk,
	    fido_cred_pubkey_ptr(c), fido_cred_pubkey_len(c)) != FIDO_OK)
		goto out;
	if ((r = fido_assert_verify(a, 0, COSE_ES256, pk)) != FIDO_OK) {
		ret = fail("assert_verify", r);
		goto out;
	}
	printf("ok sigcount=%u flags=0x%02x\n", fido_assert_sigcount(a, 0),
	    fido_assert_flags(a, 0));
	ret = 0;
out:
	es256_pk_free(&pk);
	fido_assert_free(&a);
	fido_cred_free(&c);
	if (dev != NULL) {
		(void)fido_dev_close(dev);
		fido_dev_free(&dev);
	}

	return (ret);
}

int
main(int argc, char **argv)
{
	const char	*pin = NULL;
	bool		 with_info = false, uv = false;
	int		 ch, timeout_ms = -1;

	while ((ch = getopt(argc, argv, "ip:uT:")) != -1) {
		switch (ch) {
		case 'i':
			with_info = true;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'u':
			uv = true;
			break;
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		default:
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	fido_init(getenv("SOFTKEY_DEBUG") != NULL ? FIDO_DEBUG : 0);
	if (argc == 1 && !strcmp(argv[0], "list"))
		return (list());
	if (argc == 1 && !strcmp(argv[0], "run"))
		return (run(with_info, pin, uv, timeout_ms));
	fprintf(stderr, "usage: preload_client [-i] [-p pin] [-u] [-T ms] "
	    "list|run\n");

	return (2);
}
