/*
 * softkey.h -- a software FIDO2 authenticator for tests (CTAPHID +
 * CTAP2.0/2.1 subset), attached to the real libfido2.  Test code only:
 * never built into or installed with the product.
 *
 * A key's whole state (configuration, PIN, retries, sign counter,
 * credentials and attestation key) lives in one state file, so a key
 * "made" by tokenadm in one process signs later in a pam_tokend.so
 * process.  A state file is a text file of `key = value' lines written by
 * sk_key_save(); tests may also write one by hand, or with softkey-ctl
 * or sk_key_set_option().
 *
 * In-process use:
 *	sk_key_t *k;
 *	fido_dev_t *d = fido_dev_new();
 *	sk_key_open(path, &k);            // loads or creates the state file
 *	sk_key_attach(k, d);              // io functions
 *	fido_dev_open(d, sk_key_path(k)); // the real libfido2 from here on
 *
 * Out of process: softkey-preload.so (LD_PRELOAD; in the build tree at
 * tests/softkey/.libs/softkey-preload.so) makes
 * fido_dev_info_manifest() list every state file named in SOFTKEY_KEYS
 * (colon-separated paths; a path whose file holds `removed = 1' is left
 * out) and makes fido_dev_open() on "softkey:<path>" talk to that key,
 * so unmodified pam_tokend.so and tokenadm run against it.
 * SOFTKEY_DEBUG set: the shim says what it lists and opens on stderr.
 *
 * A fresh key: aaguid 736f66746b65792d746f6b656e640001 ("softkey-tokend"
 * 0 1), self attestation, NORMAL counter at 0, ES256 and EdDSA, no PIN,
 * no built-in UV, touched at once, PIN protocols 2 and 1, CTAP 2.1.
 * A key with a PIN refuses makeCredential without it (PIN_REQUIRED), as
 * CTAP 2.0 keys do.  A power cycle (token, 3-wrong-PINs block, key
 * agreement key) is a new sk_key_open(), or a new open through the shim.
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
	/* additions of the implementation (defaults in brackets) */
	unsigned	pin_protocols;	/* SK_PINPROTO_* bits [both] */
	bool		ctap21;		/* FIDO_2_1 + pinUvAuthToken [true] */
	unsigned	touch_timeout_ms; /* no touch: USER_ACTION_TIMEOUT
					   * after this long [2000] */
};

/* pin_protocols bits: which PIN/UV auth protocols getInfo offers */
#define SK_PINPROTO_1	0x01
#define SK_PINPROTO_2	0x02

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

/*
 * Sets `dev' up so that it talks to `k' (0, or -1).  Only the io
 * functions are set: libfido2 then runs its own CTAPHID framing, INIT
 * and keepalive handling against the key.  `k' is found again by
 * sk_key_path(k) when fido_dev_open() runs; close the device before the
 * key.  Configuration changes through sk_key_config() act at once
 * (getInfo is read by fido_dev_open(): reopen after changing options
 * that it shows).
 */
int sk_key_attach(sk_key_t *k, fido_dev_t *dev);

/*
 * Additions.
 *
 * sk_dev_attach: sets the io functions on `dev' without a key; a later
 * fido_dev_open(dev, "softkey:<file>") loads <file> itself (it must
 * exist) and frees it on fido_dev_close().  What the preload shim does.
 *
 * sk_key_set_option: one `key = value' of the state file's configuration
 * (aaguid, attestation, counter_mode, es256, eddsa, builtin_uv, uv_ok,
 * touch, touch_timeout_ms, delay_ms, removed, manufacturer, product,
 * pin_protocols, ctap21, and counter, pin (a PIN or empty to clear),
 * pin_retries); 0 or -1 for an unknown key or a bad value.  Does not save.
 */
int sk_dev_attach(fido_dev_t *dev);
int sk_key_set_option(sk_key_t *, const char *key, const char *value);
size_t sk_key_cred_count(const sk_key_t *);
/* the state file */
const char *sk_key_file(const sk_key_t *);

#endif /* SOFTKEY_H */
