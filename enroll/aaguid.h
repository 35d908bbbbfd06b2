/*
 * aaguid.h -- FIDO2 key models for tokenadm: the AAGUID (16 bytes) as
 * UUID text, and the names of a few well-known models.
 */
#ifndef TK_AAGUID_H
#define TK_AAGUID_H

#include <stddef.h>

#define TK_AAGUID_TEXT_MAX	sizeof("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")

/*
 * Writes the 16 bytes at aaguid as lower-case UUID text into buf and
 * returns buf, or returns NULL when aaguid is NULL or len is not 16.
 */
const char *tk_aaguid_text(const unsigned char *aaguid, size_t len,
    char buf[TK_AAGUID_TEXT_MAX]);

/*
 * The marketing name of the key model with this AAGUID ("YubiKey 5
 * Series"), or NULL when it is not in the built-in table (or len is
 * not 16).  Names are product names: they are not translated.
 */
const char *tk_aaguid_model(const unsigned char *aaguid, size_t len);

#endif /* TK_AAGUID_H */
