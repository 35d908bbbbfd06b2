/*
 * store_seal.h -- internal to seal.c and masterkey.c: the layout of the
 * master key object.
 */
#ifndef TK_STORE_SEAL_H
#define TK_STORE_SEAL_H

#include <stdint.h>

#include "seal.h"

/* allocated with sodium_malloc, read-only once loaded */
struct tk_master_key {
	unsigned char	key[TK_MASTER_KEY_BYTES];
	uint32_t	id;	/* first 4 bytes of BLAKE2b(key), big-endian */
};

#endif /* TK_STORE_SEAL_H */
