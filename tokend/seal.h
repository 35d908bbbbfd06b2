/*
 * seal.h -- secrets at rest: XChaCha20-Poly1305 (libsodium) under the
 * master key, with the user and credential id as associated data so a
 * sealed blob cannot be moved to another row.
 *
 * Blob layout: 24-byte random nonce || ciphertext || 16-byte tag.
 */
#ifndef TK_SEAL_H
#define TK_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define TK_MASTER_KEY_BYTES	32
#define TK_AUDIT_KEY_BYTES	32

/* the master key in locked, guarded memory (sodium_malloc) */
typedef struct tk_master_key tk_master_key_t;

/*
 * Loads the key file at `path': opened with O_NOFOLLOW|O_CLOEXEC, it
 * must be a regular file of exactly TK_MASTER_KEY_BYTES bytes, owned by
 * the effective uid, with no group or other permission bits.  The key
 * id is the first 4 bytes of BLAKE2b(key) so rotated keys can be told
 * apart.  Returns 0 and *kp, or TK_ERR_NOTFOUND, TK_ERR_PERM (with the
 * reason in err), TK_ERR_INVAL (wrong size), TK_ERR_IO, TK_ERR_NOMEM.
 */
int tk_master_key_load(const char *path, tk_master_key_t **kp, char *err,
    size_t errlen);
/* Wipes and frees *kp (NULL-safe). */
void tk_master_key_free(tk_master_key_t **kp);
uint32_t tk_master_key_id(const tk_master_key_t *);
/*
 * Derives a 32-byte subkey for another purpose (the audit MAC) with
 * libsodium's crypto_kdf under a distinct context.  Returns 0 or
 * TK_ERR_CRYPTO.
 */
int tk_master_key_derive(const tk_master_key_t *, uint64_t subkey_id,
    const char context[8], unsigned char out[TK_AUDIT_KEY_BYTES]);

/*
 * Seals `plain' for (user, cred).  *blob is malloc'd (*blob_len bytes).
 * Returns 0, TK_ERR_CRYPTO or TK_ERR_NOMEM.
 */
int tk_seal(const tk_master_key_t *, const char *user, uint64_t cred,
    const unsigned char *plain, size_t plain_len, unsigned char **blob,
    size_t *blob_len);
/*
 * Opens a blob sealed for (user, cred).  *plain is sodium_malloc'd
 * guarded memory of *plain_len bytes; release it with tk_unseal_free().
 * Returns 0, or TK_ERR_CRYPTO for a wrong key, a blob moved to another
 * user or credential, or any tampering.
 */
int tk_unseal(const tk_master_key_t *, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len,
    unsigned char **plain, size_t *plain_len);
void tk_unseal_free(unsigned char *plain, size_t plain_len);
/*
 * As tk_unseal(), for the login path: opens into one guarded, locked
 * buffer of seal.c that is allocated once (at the first call) and
 * reused, saving the sodium_malloc()/sodium_free() system calls of each
 * unseal.  *plain stays valid until tk_unseal_tmp_release(), which
 * wipes it; one secret at a time (a second call before the release is
 * TK_ERR_INVAL).  Not thread-safe: tokend's single thread only.
 */
int tk_unseal_tmp(const tk_master_key_t *, uint32_t key_id, const char *user,
    uint64_t cred, const unsigned char *blob, size_t blob_len,
    const unsigned char **plain, size_t *plain_len);
void tk_unseal_tmp_release(void);

#endif /* TK_SEAL_H */
