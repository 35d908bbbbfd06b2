/*
 * state.c -- a soft key's state file: loading, creating, and writing it
 * back; the configuration keys; the credential table and the signature
 * counter.
 *
 * The file is text, one `key = value' a line, binary values in hex:
 *	aaguid = 736f66746b65792d746f6b656e640001
 *	attestation = self		(self | basic | none)
 *	counter_mode = normal		(normal | zero | repeat | lower)
 *	pin_hash = <32 hex>		(absent: no PIN)
 *	cred = <id hex> <rp id hash hex> <alg> <private key DER hex>
 *	...
 *
 * Invariants:
 * 1. The file is only ever replaced whole: written to a temporary file
 *    in the same directory, flushed, then renamed over the old one, so a
 *    reader in another process sees the old state or the new one.
 * 2. sk_key_save() runs after every change of PIN, retries, counter or
 *    credentials, before the key answers the command that changed them.
 * 3. A file that does not parse is refused whole (no half-loaded key).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "sk_int.h"

#define LINE_MAX_LEN	8192

static const unsigned char default_aaguid[16] = {
	's', 'o', 'f', 't', 'k', 'e', 'y', '-',
	't', 'o', 'k', 'e', 'n', 'd', 0x00, 0x01
};

static const char *const att_names[] = { "self", "basic", "none" };
static const char *const counter_names[] = {
	"normal", "zero", "repeat", "lower"
};

static void
config_defaults(struct sk_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->aaguid, default_aaguid, sizeof(c->aaguid));
	c->attestation = SK_ATT_SELF;
	c->counter = SK_COUNTER_NORMAL;
	c->es256 = true;
	c->eddsa = true;
	c->builtin_uv = false;
	c->uv_ok = true;
	c->touch = true;
	c->delay_ms = 0;
	c->removed = false;
	snprintf(c->manufacturer, sizeof(c->manufacturer), "tokend tests");
	snprintf(c->product, sizeof(c->product), "softkey");
	c->pin_protocols = SK_PINPROTO_1 | SK_PINPROTO_2;
	c->ctap21 = true;
	c->touch_timeout_ms = 2000;
}

static char *
hex_encode(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s;

	if ((s = malloc(2 * n + 1)) == NULL)
		return (NULL);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0x0f];
	}
	s[2 * n] = '\0';

	return (s);
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);

	return (-1);
}

/* hex to bytes; dashes are skipped so that a UUID reads as hex too */
int
sk_hex_decode(const char *s, unsigned char **out, size_t *out_len)
{
	unsigned char	*p;
	size_t		 n = 0;
	int		 hi = -1, d;

	*out = NULL;
	*out_len = 0;
	if ((p = malloc(strlen(s) / 2 + 1)) == NULL)
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s == '-')
			continue;
		if ((d = hex_digit((unsigned char)*s)) < 0) {
			free(p);
			return (-1);
		}
		if (hi < 0)
			hi = d;
		else {
			p[n++] = (unsigned char)(hi << 4 | d);
			hi = -1;
		}
	}
	if (hi >= 0) {
		free(p);
		return (-1);
	}
	*out = p;
	*out_len = n;

	return (0);
}

static int
hex_decode_fixed(const char *s, unsigned char *dst, size_t len)
{
	unsigned char	*p;
	size_t		 n;

	if (sk_hex_decode(s, &p, &n) < 0)
		return (-1);
	if (n != len) {
		free(p);
		return (-1);
	}
	memcpy(dst, p, len);
	OPENSSL_cleanse(p, n);
	free(p);

	return (0);
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
		*out = false;
	else
		return (-1);

	return (0);
}

static int
parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 n;

	if (!isdigit((unsigned char)*v))
		return (-1);
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return (-1);
	*out = n;

	return (0);
}

static int
parse_name(const char *v, const char *const *names, size_t n, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = (int)i;
			return (0);
		}

	return (-1);
}

/* "2,1" or "1" or "2": the PIN/UV auth protocols offered */
static int
parse_protocols(const char *v, unsigned *out)
{
	unsigned mask = 0;

	for (; *v != '\0'; v++) {
		if (*v == '1')
			mask |= SK_PINPROTO_1;
		else if (*v == '2')
			mask |= SK_PINPROTO_2;
		else if (*v != ',' && *v != ' ')
			return (-1);
	}
	*out = mask;

	return (0);
}

static void
pin_hash(const char *pin, unsigned char out[SK_PIN_HASH_LEN])
{
	unsigned char dgst[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)pin, strlen(pin), dgst);
	memcpy(out, dgst, SK_PIN_HASH_LEN);
	OPENSSL_cleanse(dgst, sizeof(dgst));
}

static int
set_config(sk_key_t *k, const char *key, const char *v)
{
	struct sk_config	*c = &k->cfg;
	unsigned long		 n;

	if (!strcmp(key, "aaguid"))
		return (hex_decode_fixed(v, c->aaguid, sizeof(c->aaguid)));
	if (!strcmp(key, "attestation"))
		return (parse_name(v, att_names, 3, &c->attestation));
	if (!strcmp(key, "counter_mode"))
		return (parse_name(v, counter_names, 4, &c->counter));
	if (!strcmp(key, "es256"))
		return (parse_bool(v, &c->es256));
	if (!strcmp(key, "eddsa"))
		return (parse_bool(v, &c->eddsa));
	if (!strcmp(key, "builtin_uv"))
		return (parse_bool(v, &c->builtin_uv));
	if (!strcmp(key, "uv_ok"))
		return (parse_bool(v, &c->uv_ok));
	if (!strcmp(key, "touch"))
		return (parse_bool(v, &c->touch));
	if (!strcmp(key, "removed"))
		return (parse_bool(v, &c->removed));
	if (!strcmp(key, "ctap21"))
		return (parse_bool(v, &c->ctap21));
	if (!strcmp(key, "pin_protocols"))
		return (parse_protocols(v, &c->pin_protocols));
	if (!strcmp(key, "delay_ms") || !strcmp(key, "touch_timeout_ms")) {
		if (parse_uint(v, 600000, &n) < 0)
			return (-1);
		if (key[0] == 'd')
			c->delay_ms = (unsigned)n;
		else
			c->touch_timeout_ms = (unsigned)n;
		return (0);
	}
	if (!strcmp(key, "manufacturer") || !strcmp(key, "product")) {
		char	*dst = key[0] == 'm' ? c->manufacturer : c->product;
		size_t	 len = key[0] == 'm' ? sizeof(c->manufacturer) :
			    sizeof(c->product);

		if (strlen(v) >= len)
			return (-1);
		snprintf(dst, len, "%s", v);
		return (0);
	}
	if (!strcmp(key, "counter")) {
		if (parse_uint(v, UINT32_MAX, &n) < 0)
			return (-1);
		k->counter = (uint32_t)n;
		return (0);
	}
	if (!strcmp(key, "pin_retries")) {
		if (parse_uint(v, SK_PIN_RETRIES, &n) < 0)
			return (-1);
		k->pin_retries = (int)n;
		return (0);
	}

	return (-1);
}

static EVP_PKEY *
key_from_hex(const char *v)
{
	unsigned char		*der;
	const unsigned char	*p;
	size_t			 len;
	EVP_PKEY		*pk;

	if (sk_hex_decode(v, &der, &len) < 0)
		return (NULL);
	p = der;
	pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
	OPENSSL_cleanse(der, len);
	free(der);

	return (pk);
}

static char *
key_to_hex(EVP_PKEY *pk)
{
	unsigned char	*der = NULL;
	char		*s;
	int		 len;

	if ((len = i2d_PrivateKey(pk, &der)) <= 0)
		return (NULL);
	s = hex_encode(der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);

	return (s);
}

/* cred = <id> <rp id hash> <alg> <key> */
static int
parse_cred(sk_key_t *k, char *v)
{
	struct sk_cred	 c;
	char		*f[4], *save = NULL;
	long		 alg;
	int		 r = -1;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 4; i++)
		if ((f[i] = strtok_r(i == 0 ? v : NULL, " \t", &save)) == NULL)
			return (-1);
	alg = strtol(f[2], NULL, 10);
	if (hex_decode_fixed(f[0], c.id, sizeof(c.id)) < 0 ||
	    hex_decode_fixed(f[1], c.rp_id_hash, sizeof(c.rp_id_hash)) < 0 ||
	    (alg != SK_COSE_ES256 && alg != SK_COSE_EDDSA) ||
	    (c.key = key_from_hex(f[3])) == NULL)
		goto out;
	c.alg = (int)alg;
	r = sk_cred_add(k, &c);
out:
	if (r < 0)
		EVP_PKEY_free(c.key);

	return (r);
}

static int
parse_line(sk_key_t *k, const char *key, char *v)
{
	if (!strcmp(key, "version"))
		return (strcmp(v, "1") == 0 ? 0 : -1);
	if (!strcmp(key, "pin_hash")) {
		k->pin_set = true;
		return (hex_decode_fixed(v, k->pin_hash, sizeof(k->pin_hash)));
	}
	if (!strcmp(key, "att_key")) {
		EVP_PKEY_free(k->att_key);
		return ((k->att_key = key_from_hex(v)) == NULL ? -1 : 0);
	}
	if (!strcmp(key, "att_cert")) {
		free(k->att_cert);
		return (sk_hex_decode(v, &k->att_cert, &k->att_cert_len));
	}
	if (!strcmp(key, "cred"))
		return (parse_cred(k, v));

	return (set_config(k, key, v));
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';

	return (s);
}

static int
load_file(sk_key_t *k, FILE *fp)
{
	char	*line, *eq;
	int	 lineno = 0, r = -1;

	if ((line = malloc(LINE_MAX_LEN)) == NULL)
		return (-1);
	while (fgets(line, LINE_MAX_LEN, fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp))
			goto out;	/* too long */
		if (*trim(line) == '\0' || *trim(line) == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL)
			goto out;
		*eq = '\0';
		if (parse_line(k, trim(line), trim(eq + 1)) < 0) {
			fprintf(stderr, "softkey: %s:%d: bad line\n", k->file,
			    lineno);
			goto out;
		}
	}
	r = ferror(fp) ? -1 : 0;
out:
	OPENSSL_cleanse(line, LINE_MAX_LEN);
	free(line);

	return (r);
}

/* a throw-away self-signed certificate for "packed" basic attestation */
static int
make_att_cert(sk_key_t *k)
{
	X509		*x = NULL;
	X509_NAME	*name;
	unsigned char	 serial[8], *der = NULL;
	BIGNUM		*bn = NULL;
	int		 len, r = -1;

	if ((k->att_key = sk_keygen(SK_COSE_ES256)) == NULL ||
	    (x = X509_new()) == NULL ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC,
	    (const unsigned char *)"XX", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"tokend tests", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
	    (const unsigned char *)"Authenticator Attestation", -1, -1,
	    0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"softkey attestation", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, k->att_key) != 1 ||
	    X509_sign(x, k->att_key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509(x, &der)) <= 0)
		goto out;
	if ((k->att_cert = malloc((size_t)len)) == NULL)
		goto out;
	memcpy(k->att_cert, der, (size_t)len);
	k->att_cert_len = (size_t)len;
	r = 0;
out:
	OPENSSL_free(der);
	BN_free(bn);
	X509_free(x);

	return (r);
}

int
sk_key_load(const char *file, bool create, sk_key_t **out)
{
	sk_key_t	*k;
	FILE		*fp;
	bool		 fresh = false;
	size_t		 len;

	*out = NULL;
	if (file == NULL || (k = calloc(1, sizeof(*k))) == NULL)
		return (-1);
	len = strlen(SK_PATH_PREFIX) + strlen(file) + 1;
	if ((k->file = strdup(file)) == NULL ||
	    (k->devpath = malloc(len)) == NULL)
		goto fail;
	snprintf(k->devpath, len, "%s%s", SK_PATH_PREFIX, file);
	config_defaults(&k->cfg);
	k->pin_retries = SK_PIN_RETRIES;

	if ((fp = fopen(file, "r")) != NULL) {
		int r = load_file(k, fp);

		fclose(fp);
		if (r < 0)
			goto fail;
	} else if (errno != ENOENT || !create)
		goto fail;
	else
		fresh = true;

	if (k->att_key == NULL || k->att_cert == NULL) {
		EVP_PKEY_free(k->att_key);
		free(k->att_cert);
		k->att_key = NULL;
		k->att_cert = NULL;
		if (make_att_cert(k) < 0)
			goto fail;
		fresh = true;
	}
	if (fresh && sk_key_save(k) < 0)
		goto fail;
	*out = k;

	return (0);
fail:
	sk_key_close(&k);

	return (-1);
}

int
sk_key_open(const char *path, sk_key_t **out)
{
	if (path != NULL && !strncmp(path, SK_PATH_PREFIX,
	    strlen(SK_PATH_PREFIX)))
		path += strlen(SK_PATH_PREFIX);

	return (sk_key_load(path, true, out));
}

void
sk_key_close(sk_key_t **kp)
{
	sk_key_t *k;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	*kp = NULL;
	sk_registry_remove(k);
	for (size_t i = 0; i < k->ncreds; i++)
		EVP_PKEY_free(k->creds[i].key);
	free(k->creds);
	EVP_PKEY_free(k->att_key);
	EVP_PKEY_free(k->ka_key);
	free(k->att_cert);
	free(k->file);
	free(k->devpath);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static int
write_all(sk_key_t *k, FILE *fp)
{
	const struct sk_config	*c = &k->cfg;
	char			*h;

	if ((h = hex_encode(c->aaguid, sizeof(c->aaguid))) == NULL)
		return (-1);
	fprintf(fp, "# softkey state (tests/softkey): key = value\n"
	    "version = 1\naaguid = %s\nattestation = %s\n"
	    "counter_mode = %s\nes256 = %d\neddsa = %d\nbuiltin_uv = %d\n"
	    "uv_ok = %d\ntouch = %d\ntouch_timeout_ms = %u\ndelay_ms = %u\n"
	    "removed = %d\nmanufacturer = %s\nproduct = %s\n"
	    "pin_protocols = %s\nctap21 = %d\n", h,
	    att_names[c->attestation], counter_names[c->counter], c->es256,
	    c->eddsa, c->builtin_uv, c->uv_ok, c->touch, c->touch_timeout_ms,
	    c->delay_ms, c->removed, c->manufacturer, c->product,
	    c->pin_protocols == (SK_PINPROTO_1 | SK_PINPROTO_2) ? "2,1" :
	    c->pin_protocols == SK_PINPROTO_2 ? "2" :
	    c->pin_protocols == SK_PINPROTO_1 ? "1" : "", c->ctap21);
	free(h);
	if (k->pin_set) {
		if ((h = hex_encode(k->pin_hash, sizeof(k->pin_hash))) == NULL)
			return (-1);
		fprintf(fp, "pin_hash = %s\n", h);
		free(h);
	}
	fprintf(fp, "pin_retries = %d\ncounter = %lu\n", k->pin_retries,
	    (unsigned long)k->counter);
	if ((h = key_to_hex(k->att_key)) == NULL)
		return (-1);
	fprintf(fp, "att_key = %s\n", h);
	OPENSSL_clear_free(h, strlen(h));
	if ((h = hex_encode(k->att_cert, k->att_cert_len)) == NULL)
		return (-1);
	fprintf(fp, "att_cert = %s\n", h);
	free(h);
	for (size_t i = 0; i < k->ncreds; i++) {
		const struct sk_cred	*cr = &k->creds[i];
		char			*id, *rp, *key;

		id = hex_encode(cr->id, sizeof(cr->id));
		rp = hex_encode(cr->rp_id_hash, sizeof(cr->rp_id_hash));
		key = key_to_hex(cr->key);
		if (id != NULL && rp != NULL && key != NULL)
			fprintf(fp, "cred = %s %s %d %s\n", id, rp, cr->alg,
			    key);
		free(id);
		free(rp);
		if (key != NULL)
			OPENSSL_clear_free(key, strlen(key));
		else
			return (-1);
	}

	return (0);
}

int
sk_key_save(sk_key_t *k)
{
	char	*tmp;
	size_t	 len;
	FILE	*fp = NULL;
	int	 fd, r = -1;

	len = strlen(k->file) + sizeof(".XXXXXX");
	if ((tmp = malloc(len)) == NULL)
		return (-1);
	snprintf(tmp, len, "%s.XXXXXX", k->file);
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (write_all(k, fp) < 0 || fflush(fp) != 0 || fsync(fd) != 0 ||
	    ferror(fp)) {
		fclose(fp);
		unlink(tmp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, k->file) != 0) {
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	free(tmp);

	return (r);
}

const char *
sk_key_path(const sk_key_t *k)
{
	return (k->devpath);
}

const char *
sk_key_file(const sk_key_t *k)
{
	return (k->file);
}

struct sk_config *
sk_key_config(sk_key_t *k)
{
	return (&k->cfg);
}

int
sk_key_set_pin(sk_key_t *k, const char *pin)
{
	if (pin == NULL) {
		k->pin_set = false;
		OPENSSL_cleanse(k->pin_hash, sizeof(k->pin_hash));
	} else {
		pin_hash(pin, k->pin_hash);
		k->pin_set = true;
	}
	k->pin_retries = SK_PIN_RETRIES;
	k->pin_fails = 0;

	return (sk_key_save(k));
}

int
sk_key_pin_retries(const sk_key_t *k)
{
	return (k->pin_retries);
}

uint32_t
sk_key_counter(const sk_key_t *k)
{
	return (k->counter);
}

int
sk_key_set_counter(sk_key_t *k, uint32_t n)
{
	k->counter = n;

	return (sk_key_save(k));
}

size_t
sk_key_cred_count(const sk_key_t *k)
{
	return (k->ncreds);
}

int
sk_key_set_option(sk_key_t *k, const char *key, const char *value)
{
	if (!strcmp(key, "pin")) {
		if (*value == '\0') {
			k->pin_set = false;
			OPENSSL_cleanse(k->pin_hash, sizeof(k->pin_hash));
		} else {
			pin_hash(value, k->pin_hash);
			k->pin_set = true;
		}
		k->pin_retries = SK_PIN_RETRIES;
		return (0);
	}

	return (set_config(k, key, value));
}

int
sk_cred_add(sk_key_t *k, const struct sk_cred *c)
{
	struct sk_cred *v;

	if (k->ncreds >= 4096 || (v = reallocarray(k->creds, k->ncreds + 1,
	    sizeof(*v))) == NULL)
		return (-1);
	k->creds = v;
	k->creds[k->ncreds++] = *c;

	return (0);
}

/* the credential `id' of this key for `rp_id_hash', or NULL */
const struct sk_cred *
sk_cred_find(const sk_key_t *k, const unsigned char *id, size_t id_len,
    const unsigned char *rp_id_hash)
{
	if (id_len != SK_CRED_ID_LEN)
		return (NULL);
	for (size_t i = 0; i < k->ncreds; i++)
		if (CRYPTO_memcmp(k->creds[i].id, id, id_len) == 0 &&
		    memcmp(k->creds[i].rp_id_hash, rp_id_hash, 32) == 0)
			return (&k->creds[i]);

	return (NULL);
}

/* the signature counter of the next assertion, as the mode says */
uint32_t
sk_counter_next(sk_key_t *k)
{
	switch (k->cfg.counter) {
	case SK_COUNTER_ZERO:
		return (0);
	case SK_COUNTER_REPEAT:
		return (k->counter);
	case SK_COUNTER_LOWER:
		if (k->counter > 0)
			k->counter--;
		return (k->counter);
	default:
		if (k->counter < UINT32_MAX)
			k->counter++;
		return (k->counter);
	}
}
