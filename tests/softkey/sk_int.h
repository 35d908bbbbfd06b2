/*
 * sk_int.h -- what the files of the soft key share and nothing else sees:
 * the key's in-memory state, the CTAP constants it answers with, and the
 * prototypes that cross files.
 *
 * Invariants:
 * 1. Everything under "persistent" is written to the state file by
 *    sk_key_save(); everything under "power cycle" is lost on close, as
 *    on a real key that is unplugged.
 * 2. Secrets (credential keys, PIN hash, pinUvAuthToken) are wiped before
 *    their memory is freed.
 */
#ifndef SK_INT_H
#define SK_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cbor.h>

#include "softkey.h"

/* CTAP2 status codes the key answers with (CTAP 2.1 section 8.2) */
#define SK_OK				0x00
#define SK_ERR_INVALID_COMMAND		0x01
#define SK_ERR_INVALID_PARAMETER	0x02
#define SK_ERR_INVALID_LENGTH		0x03
#define SK_ERR_INVALID_SEQ		0x04
#define SK_ERR_CHANNEL_BUSY		0x06
#define SK_ERR_INVALID_CHANNEL		0x0b
#define SK_ERR_CBOR_UNEXPECTED_TYPE	0x11
#define SK_ERR_INVALID_CBOR		0x12
#define SK_ERR_MISSING_PARAMETER	0x14
#define SK_ERR_CREDENTIAL_EXCLUDED	0x19
#define SK_ERR_UNSUPPORTED_ALGORITHM	0x26
#define SK_ERR_UNSUPPORTED_OPTION	0x2b
#define SK_ERR_INVALID_OPTION		0x2c
#define SK_ERR_KEEPALIVE_CANCEL		0x2d
#define SK_ERR_NO_CREDENTIALS		0x2e
#define SK_ERR_USER_ACTION_TIMEOUT	0x2f
#define SK_ERR_NOT_ALLOWED		0x30
#define SK_ERR_PIN_INVALID		0x31
#define SK_ERR_PIN_BLOCKED		0x32
#define SK_ERR_PIN_AUTH_INVALID		0x33
#define SK_ERR_PIN_AUTH_BLOCKED		0x34
#define SK_ERR_PIN_NOT_SET		0x35
#define SK_ERR_PIN_REQUIRED		0x36
#define SK_ERR_PIN_POLICY_VIOLATION	0x37
#define SK_ERR_REQUEST_TOO_LARGE	0x39
#define SK_ERR_UV_INVALID		0x3f
#define SK_ERR_OTHER			0x7f

/* COSE algorithms */
#define SK_COSE_ES256		(-7)
#define SK_COSE_EDDSA		(-8)
#define SK_COSE_ECDH_ES_HKDF	(-25)

/* pinUvAuthToken permissions (CTAP 2.1 section 6.5.5.7) */
#define SK_PERM_MC		0x01
#define SK_PERM_GA		0x02

#define SK_PIN_RETRIES		8
#define SK_PIN_HASH_LEN		16	/* LEFT(SHA-256(pin), 16) */
#define SK_TOKEN_LEN		32
#define SK_CRED_ID_LEN		48	/* random, opaque to the platform */
#define SK_MAXMSG		1200	/* maxMsgSize in getInfo */
#define SK_HID_MAXPAYLOAD	7609	/* 57 + 128 * 59 */
#define SK_KEEPALIVE_MS		100

/* one non-resident credential: the id maps to the private key */
struct sk_cred {
	unsigned char	 id[SK_CRED_ID_LEN];
	unsigned char	 rp_id_hash[32];
	int		 alg;		/* SK_COSE_ES256 or SK_COSE_EDDSA */
	EVP_PKEY	*key;
};

/* CTAPHID state of one open handle (see ctaphid.c) */
struct sk_hid;

struct sk_key {
	char		*file;		/* the state file */
	char		*devpath;	/* SK_PATH_PREFIX + file */
	bool		 registered;	/* in ctaphid.c's table of keys */

	/* persistent */
	struct sk_config cfg;
	bool		 pin_set;
	unsigned char	 pin_hash[SK_PIN_HASH_LEN];
	int		 pin_retries;
	uint32_t	 counter;
	EVP_PKEY	*att_key;	/* basic attestation (P-256) */
	unsigned char	*att_cert;	/* its self-signed certificate, DER */
	size_t		 att_cert_len;
	struct sk_cred	*creds;
	size_t		 ncreds;

	/* power cycle */
	EVP_PKEY	*ka_key;	/* clientPIN key agreement (P-256) */
	int		 pin_fails;	/* consecutive, this power cycle */
	bool		 token_set;
	unsigned char	 token[SK_TOKEN_LEN];
	unsigned	 token_perms;
	unsigned char	 token_rp_hash[32];
	bool		 token_rp_bound;
};

/*
 * An answer of the CTAP2 layer: status and body (the CBOR after the
 * status byte), produced after `wait_ms' of keepalives with `ka_status'
 * (1 processing, 2 user presence needed).
 */
struct sk_reply {
	unsigned char	 status;
	unsigned char	*body;
	size_t		 body_len;
	unsigned	 wait_ms;
	unsigned char	 ka_status;
};

#define SK_KA_PROCESSING	1
#define SK_KA_UPNEEDED		2

/* state.c */
int	sk_key_load(const char *file, bool create, sk_key_t **out);
int	sk_cred_add(sk_key_t *, const struct sk_cred *);
const struct sk_cred *sk_cred_find(const sk_key_t *, const unsigned char *,
	    size_t, const unsigned char *);
uint32_t sk_counter_next(sk_key_t *);
int	sk_hex_decode(const char *, unsigned char **, size_t *);

/* ctap2.c */
void	sk_ctap2_dispatch(sk_key_t *, const unsigned char *, size_t,
	    struct sk_reply *);
int	sk_user_presence(sk_key_t *, struct sk_reply *);
int	sk_reply_map(struct sk_reply *, cbor_item_t *);
const cbor_item_t *sk_map_get_uint(const cbor_item_t *, uint64_t);
const cbor_item_t *sk_map_get_str(const cbor_item_t *, const char *);
int	sk_cbor_int(const cbor_item_t *, int64_t *);
EVP_PKEY *sk_ec_from_cose(const cbor_item_t *);
cbor_item_t *sk_cose_encode(EVP_PKEY *, int);
EVP_PKEY *sk_keygen(int);
void	sk_cbor_map_put(cbor_item_t *, cbor_item_t *, cbor_item_t *);

/* pin.c */
void	sk_client_pin(sk_key_t *, const cbor_item_t *, struct sk_reply *);
int	sk_pin_check_auth(sk_key_t *, const cbor_item_t *, const cbor_item_t *,
	    const unsigned char *, unsigned, const unsigned char *);
void	sk_pin_power_cycle(sk_key_t *);

/* ctaphid.c: io functions (CTAPHID frames) and transport functions
 * (whole messages, for fido_dev_info_set()) */
extern const fido_dev_io_t		sk_hid_io;
extern const fido_dev_transport_t	sk_hid_transport;
void	sk_registry_remove(sk_key_t *);

#endif /* SK_INT_H */
