/*
 * wipe.h -- wiping secrets.  Codes, URIs, encoded requests and answers
 * that held them are wiped with these before their memory is released.
 * (tokend itself uses libsodium's sodium_memzero/sodium_memcmp; common/
 * must not depend on libsodium, since it is linked into pam_tokend.so.)
 */
#ifndef TK_WIPE_H
#define TK_WIPE_H

#include <stddef.h>

/* Overwrites n bytes at p with zeros in a way the compiler keeps. */
void tk_memzero(void *p, size_t n);
/* Wipes n bytes at p, then frees p.  NULL-safe. */
void tk_freezero(void *p, size_t n);
/* Wipes a NUL-terminated string, then frees it.  NULL-safe. */
void tk_strfreezero(char *s);

#endif /* TK_WIPE_H */
