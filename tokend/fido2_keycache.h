/*
 * fido2_keycache.h -- the OpenSSL keys of recently used FIDO2
 * credentials, so that an assertion is verified without rebuilding the
 * key from its stored bytes each time (fido2.c).
 */
#ifndef TK_FIDO2_KEYCACHE_H
#define TK_FIDO2_KEYCACHE_H

#include <openssl/evp.h>

#include "store.h"

/*
 * slots of the cache: one key each; ~0.2 KiB an ES256 key (its point,
 * invariant 5 of fido2_keycache.c), ~0.5 KiB an Ed25519 key, ~2 KiB an
 * RSA-2048 key
 */
#define TK_FIDO2_KEYCACHE_SLOTS	1024

/*
 * The EVP_PKEY of FIDO2 credential `c' (its store id, algorithm and
 * stored public key, decoded by libfido2), from the cache, or built and
 * cached, or built for this once (fido2_keycache.c, invariant 3).  A
 * cached key is used only when the algorithm and every byte of the
 * stored public key are the same.  *pkey is a reference of the
 * caller's, to be freed with EVP_PKEY_free() before the next call: an
 * ES256 key may be the cache's one P-256 key, which the next call loads
 * with another point.  Single-threaded (tokend has one thread): no
 * lock.  Returns 0, TK_ERR_INVAL (the stored key does not decode),
 * TK_ERR_CRYPTO or TK_ERR_NOMEM.
 */
int tk_fido2_keycache_get(const struct tk_cred *c, EVP_PKEY **pkey);

/* Frees every cached key (tokend's exit; tests). */
void tk_fido2_keycache_clear(void);

/* hits and misses since the start or the last clear (tests, benches) */
void tk_fido2_keycache_stats(unsigned long long *hits,
    unsigned long long *misses);

#endif /* TK_FIDO2_KEYCACHE_H */
