/*
 * bench_fido2.h -- the FIDO2 side of tokend-bench: credentials enrolled
 * through tokend's FIDO2_ENROLL_BEGIN/FINISH with the software
 * authenticator of tests/softkey (the real libfido2 makes them), then
 * assertions signed in the bench with each credential's private key.
 *
 * Why not fido_dev_get_assert() per login: the soft key rewrites and
 * fsyncs its state file at every assertion (its counter), which would
 * measure the soft key and the disk rather than tokend.  The bench
 * builds what the key would send instead: authenticator data =
 * SHA-256(rp id) || flags UP|UV || counter (big-endian), and an ES256
 * signature over authenticator data || client data hash, where the
 * client data hash is tokend's challenge (as pam_tokend sends it).  The
 * private key is the soft key's (sk_int.h), so tokend verifies against
 * the public key it stored at enrollment, as for a real login.
 */
#ifndef TK_BENCH_FIDO2_H
#define TK_BENCH_FIDO2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

#define BENCH_FIDO2_CRED_ID_MAX		128
#define BENCH_FIDO2_CHALLENGE		32
#define BENCH_FIDO2_AUTHDATA		37	/* rp hash, flags, counter */
#define BENCH_FIDO2_SIG_MAX		80	/* DER ECDSA P-256 */

struct bench_fkey;	/* one soft key (one per client) */

/* one enrolled FIDO2 user of the bench */
struct bench_fuser {
	char		 name[32];
	unsigned char	 cred_id[BENCH_FIDO2_CRED_ID_MAX];
	size_t		 cred_id_len;
	unsigned char	 rp_hash[32];
	void		*pkey;		/* EVP_PKEY of the soft key */
	uint32_t	 counter;	/* last counter sent */
	uint64_t	 cool_until_ns;	/* after a replay (throttle delay) */
};

/*
 * Opens a soft key with its state in `dir' (file key-N) and enrolls
 * `n' users named "PREFIX-I" through tokend on `socket' (the caller
 * must be an admin of tokend: root).  Returns 0 or -1 with a message
 * on stderr.
 */
int bench_fkey_enroll(const char *socket, const char *dir, unsigned idx,
    const char *prefix, size_t n, struct bench_fkey **keyp,
    struct bench_fuser *users);
/* closes the key and removes its state file (private keys) */
void bench_fkey_close(struct bench_fkey **);
/*
 * The assertion of user u over `challenge' for its next counter:
 * authdata (BENCH_FIDO2_AUTHDATA bytes) and sig (*siglen).  0 or -1.
 */
int bench_fido2_sign(struct bench_fuser *u,
    const unsigned char challenge[BENCH_FIDO2_CHALLENGE],
    unsigned char authdata[BENCH_FIDO2_AUTHDATA],
    unsigned char sig[BENCH_FIDO2_SIG_MAX], size_t *siglen);

#endif /* TK_BENCH_FIDO2_H */
