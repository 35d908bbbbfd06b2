/*
 * recovery.h -- recovery codes: their shape, how they are made, and the
 * keyed hash that is all the store keeps of them.
 *
 * A code is TK_RECOVERY_CHARS (12) characters of Crockford's base32
 * alphabet in lower case (0-9 a-z without i l o u): 60 bits, shown as
 * xxxx-xxxx-xxxx.  Typed input is accepted in either case, with or
 * without the two dashes, and with i/l read as 1 and o as 0.
 */
#ifndef TK_RECOVERY_H
#define TK_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"
#include "seal.h"
#include "store.h"

/* crypto_kdf derivation of the recovery hash key from the master key */
#define TK_RECOVERY_KDF_SUBKEY_ID	2
#define TK_RECOVERY_KDF_CONTEXT		"tkrecov1"	/* exactly 8 bytes */

/*
 * Normalizes typed text into out (TK_RECOVERY_CHARS lower-case alphabet
 * characters and a NUL).  Returns 0, or TK_ERR_INVAL when the text does
 * not have the shape of a recovery code (then out is empty).  Says
 * nothing about whether the code is valid.
 */
int tk_recovery_normalize(const char *in,
    char out[TK_RECOVERY_CHARS + 1]);
/*
 * Makes one random code (libsodium's RNG, uniform over the alphabet)
 * as "xxxx-xxxx-xxxx" into out.  The caller wipes it after use.
 */
void tk_recovery_generate(char out[TK_RECOVERY_TEXT_MAX + 1]);
/*
 * The stored form of a normalized code of `user': BLAKE2b-256 keyed
 * with a subkey of the master key (TK_RECOVERY_KDF_CONTEXT) over a
 * domain tag, the user and the code.  The subkey is wiped before
 * returning.  Returns 0, TK_ERR_INVAL or TK_ERR_CRYPTO.
 */
int tk_recovery_hash(const tk_master_key_t *, const char *user,
    const char norm[TK_RECOVERY_CHARS + 1],
    unsigned char out[TK_RECOVERY_HASH_BYTES]);

#endif /* TK_RECOVERY_H */
