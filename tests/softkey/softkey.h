/*
 * softkey.h -- a software FIDO2 authenticator for tests (CTAPHID +
 * CTAP2.0/2.1 subset), attached to the real libfido2.  Test code only:
 * never built into or installed with the product.
 *
 * A key's whole state (configuration, PIN, retries, sign counter,
 * credentials and attestation key) lives in one state file, so a key
 * "made" by tokenadm in one process signs later in a pam_tokend.so
 * process.  A state file is a text file of `key = value' lines written by
 * sk_key_save(); tests may also write one by hand through sk_config_*.
 *
 * In-process use:
 *	sk_key_t *k;
 *	fido_dev_t *d = fido_dev_new();
 *	sk_key_open(path, &k);            // loads or creates the state file
 *	sk_key_attach(k, d);              // io + transport functions
 *	fido_dev_open(d, sk_key_path(k)); // the real libfido2 from here on
 *
 * Out of process: libsoftkey-preload.so (LD_PRELOAD) makes
 * fido_dev_info_manifest() list every state file named in SOFTKEY_KEYS
 * (colon-separated paths; a path whose file holds `removed = 1' is left
 * out) and makes fido_dev_open() on "softkey:<path>" talk to that key,
 * so unmodified pam_tokend.so and tokenadm run against it.
 */
#ifndef SOFTKEY_H
#define SOFTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fido.h>

#define SK_PATH_PREFIX	"softkey:"

enum sk_attestation {
	SK_ATT_SELF = 0,	/* "packed", signed by the credential key */
	SK_ATT_BASIC = 1,	/* "packed" with a throw-away certificate */
	SK_ATT_NONE = 2		/* "none" */
};

enum sk_counter {
	SK_COUNTER_NORMAL = 0,	/* +1 each assertion */
	SK_COUNTER_ZERO = 1,	/* always 0 (a key without a counter) */
	SK_COUNTER_REPEAT = 2,	/* the same value again (clone) */
	SK_COUNTER_LOWER = 3	/* goes back (clone) */
};

struct sk_config {
	unsigned char	aaguid[16];
	int		attestation;	/* enum sk_attestation */
	int		counter;	/* enum sk_counter */
	bool		es256;		/* algorithms offered */
	bool		eddsa;
	bool		builtin_uv;	/* built-in UV (fingerprint) */
	bool		uv_ok;		/* built-in UV succeeds */
	bool		touch;		/* false: never touched (times out) */
	unsigned	delay_ms;	/* before each answer */
	bool		removed;	/* unplugged: I/O fails */
	char		manufacturer[64];
	char		product[64];
};

typedef struct sk_key sk_key_t;

/* Loads the state file at `path', or creates one with the defaults. */
int sk_key_open(const char *path, sk_key_t **out);
void sk_key_close(sk_key_t **);
/* Writes the state back (called after every state change anyway). */
int sk_key_save(sk_key_t *);
/* "softkey:<path>": what fido_dev_open() is given for this key */
const char *sk_key_path(const sk_key_t *);

struct sk_config *sk_key_config(sk_key_t *);
/* PIN: NULL clears it; retries reset to 8 */
int sk_key_set_pin(sk_key_t *, const char *pin);
int sk_key_pin_retries(const sk_key_t *);
uint32_t sk_key_counter(const sk_key_t *);
int sk_key_set_counter(sk_key_t *, uint32_t);

/* Sets io and transport functions on `dev' so that it talks to `k'. */
int sk_key_attach(sk_key_t *k, fido_dev_t *dev);

#endif /* SOFTKEY_H */
