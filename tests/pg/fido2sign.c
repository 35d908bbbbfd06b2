/*
 * fido2sign.c -- makes FIDO2 assertions with a soft key (tests/softkey)
 * through the real libfido2, for hosts_fido2.sh: the body of a
 * FIDO2_FINISH for a challenge tokend handed out.
 *
 * usage: fido2sign STATEFILE RP_ID
 *
 * Reads lines "CHALLENGE CRED_ID" (hex) on standard input; for each
 * prints "AUTHDATA SIG" (hex; authdata raw, without libfido2's CBOR byte
 * string header, as FIDO2_FINISH wants it), or "error N" (a libfido2
 * code), and flushes.  User presence is asked (the soft key touches at
 * once), user verification is left out: the key has no PIN and tokend's
 * [fido2] user_verification is "discouraged".  Test code only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>

#include "softkey.h"

#define LINE_MAX_BYTES	8192

static int
unhex(const char *s, size_t n, unsigned char *out, size_t max, size_t *len)
{
	size_t i;
	unsigned v;

	if (n % 2 != 0 || n / 2 > max)
		return (-1);
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return (-1);
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return (0);
}

static void
puthex(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* libfido2 keeps authdata as a CBOR byte string: strip its header */
static int
authdata_raw(const unsigned char *cbor, size_t len,
    const unsigned char **raw, size_t *rawlen)
{
	size_t hdr, n;

	if (len < 2)
		return (-1);
	if (cbor[0] >= 0x40 && cbor[0] <= 0x57) {
		hdr = 1;
		n = cbor[0] - 0x40u;
	} else if (cbor[0] == 0x58) {
		hdr = 2;
		n = cbor[1];
	} else if (cbor[0] == 0x59 && len >= 3) {
		hdr = 3;
		n = ((size_t)cbor[1] << 8) | cbor[2];
	} else
		return (-1);
	if (n != len - hdr)
		return (-1);
	*raw = cbor + hdr;
	*rawlen = n;
	return (0);
}

static int
sign(fido_dev_t *dev, const char *rp, const unsigned char *ch, size_t chlen,
    const unsigned char *id, size_t idlen)
{
	fido_assert_t *a;
	const unsigned char *ad;
	size_t adlen;
	int r;

	if ((a = fido_assert_new()) == NULL)
		return (FIDO_ERR_INTERNAL);
	if ((r = fido_assert_set_clientdata_hash(a, ch, chlen)) != FIDO_OK ||
	    (r = fido_assert_set_rp(a, rp)) != FIDO_OK ||
	    (r = fido_assert_allow_cred(a, id, idlen)) != FIDO_OK ||
	    (r = fido_assert_set_up(a, FIDO_OPT_TRUE)) != FIDO_OK ||
	    (r = fido_dev_get_assert(dev, a, NULL)) != FIDO_OK)
		goto out;
	if (fido_assert_count(a) != 1 ||
	    authdata_raw(fido_assert_authdata_ptr(a, 0),
	    fido_assert_authdata_len(a, 0), &ad, &adlen) != 0) {
		r = FIDO_ERR_INVALID_CBOR;
		goto out;
	}
	puthex(ad, adlen);
	putchar(' ');
	puthex(fido_assert_sig_ptr(a, 0), fido_assert_sig_len(a, 0));
	putchar('\n');
out:
	fido_assert_free(&a);
	return (r);
}

int
main(int argc, char **argv)
{
	static char line[LINE_MAX_BYTES];
	unsigned char ch[64], id[1024];
	size_t chlen, idlen, n;
	sk_key_t *k = NULL;
	fido_dev_t *dev;
	char *sp;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: fido2sign STATEFILE RP_ID\n");
		return (2);
	}
	fido_init(0);
	if (sk_key_open(argv[1], &k) != 0 || (dev = fido_dev_new()) == NULL ||
	    sk_key_attach(k, dev) != 0 ||
	    fido_dev_open(dev, sk_key_path(k)) != FIDO_OK) {
		fprintf(stderr, "fido2sign: cannot open the soft key %s\n",
		    argv[1]);
		return (1);
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if ((sp = strchr(line, ' ')) == NULL ||
		    unhex(line, (size_t)(sp - line), ch, sizeof(ch),
		    &chlen) != 0 ||
		    unhex(sp + 1, strlen(sp + 1), id, sizeof(id), &idlen) != 0)
			r = FIDO_ERR_INVALID_ARGUMENT;
		else
			r = sign(dev, argv[2], ch, chlen, id, idlen);
		if (r != FIDO_OK)
			printf("error %d\n", r);
		fflush(stdout);
	}
	(void)fido_dev_close(dev);
	fido_dev_free(&dev);
	sk_key_close(&k);
	return (0);
}
