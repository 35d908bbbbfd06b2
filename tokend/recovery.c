/*
 * recovery.c -- recovery codes: shape, generation, keyed hash.
 *
 * MUST invariants:
 *  1. A code is made only from libsodium's RNG, each character uniform
 *     over the 32-character alphabet (randombytes_uniform), so every
 *     code carries 60 bits.
 *  2. Only the keyed hash of a code is ever stored; the key is a subkey
 *     of the master key with its own context, so a copy of the database
 *     alone does not allow testing guesses offline.
 *  3. The hash binds the user: one user's code is nobody else's.
 *  4. Every buffer that held a code or the subkey is wiped before
 *     returning.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "err.h"
#include "recovery.h"
#include "wipe.h"

/* Crockford's base32, lower case */
static const char tk_recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
#define TK_RECOVERY_ALPHABET_LEN	32

static const char tk_recovery_tag[] = "tokend-recovery-v1";

/* the alphabet character for a typed one, or 0 when it has none */
static char
tk_recovery_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c == 'i' || c == 'l')
		return ('1');
	if (c == 'o')
		return ('0');
	if (c != '\0' && strchr(tk_recovery_alphabet, c) != NULL)
		return (c);
	return (0);
}

int
tk_recovery_normalize(const char *in, char out[TK_RECOVERY_CHARS + 1])
{
	size_t i, len, n = 0, pos;
	char c;

	out[0] = '\0';
	if (in == NULL)
		return (TK_ERR_INVAL);
	len = strnlen(in, TK_RECOVERY_TEXT_MAX + 1);
	/* 12 characters, or 14 with a dash after the 4th and the 8th */
	if (len != TK_RECOVERY_CHARS && len != TK_RECOVERY_TEXT_MAX)
		return (TK_ERR_INVAL);
	for (i = 0; i < len; i++) {
		pos = i + 1;
		if (len == TK_RECOVERY_TEXT_MAX &&
		    pos % (TK_RECOVERY_GROUP + 1) == 0) {
			if (in[i] != '-')
				goto bad;
			continue;
		}
		if ((c = tk_recovery_char(in[i])) == 0)
			goto bad;
		out[n++] = c;
	}
	out[n] = '\0';
	return (0);
 bad:
	tk_memzero(out, TK_RECOVERY_CHARS + 1);
	return (TK_ERR_INVAL);
}

void
tk_recovery_generate(char out[TK_RECOVERY_TEXT_MAX + 1])
{
	size_t i, n = 0;

	for (i = 0; i < TK_RECOVERY_CHARS; i++) {
		if (i > 0 && i % TK_RECOVERY_GROUP == 0)
			out[n++] = '-';
		out[n++] = tk_recovery_alphabet[randombytes_uniform(
		    TK_RECOVERY_ALPHABET_LEN)];
	}
	out[n] = '\0';
}

int
tk_recovery_hash(const tk_master_key_t *key, const char *user,
    const char norm[TK_RECOVERY_CHARS + 1],
    unsigned char out[TK_RECOVERY_HASH_BYTES])
{
	crypto_generichash_state h;
	unsigned char sub[TK_AUDIT_KEY_BYTES], len[4];
	size_t ulen;
	int r;

	sodium_memzero(out, TK_RECOVERY_HASH_BYTES);
	if (key == NULL || user == NULL || norm == NULL ||
	    strnlen(norm, TK_RECOVERY_CHARS + 1) != TK_RECOVERY_CHARS ||
	    (ulen = strnlen(user, TK_USER_MAX + 1)) == 0 ||
	    ulen > TK_USER_MAX)
		return (TK_ERR_INVAL);
	if ((r = tk_master_key_derive(key, TK_RECOVERY_KDF_SUBKEY_ID,
	    TK_RECOVERY_KDF_CONTEXT, sub)) != 0)
		goto fail;
	r = TK_ERR_CRYPTO;
	if (crypto_generichash_init(&h, sub, sizeof(sub),
	    TK_RECOVERY_HASH_BYTES) != 0)
		goto fail;
	/* tag with its NUL, then the length-prefixed user, then the code */
	len[0] = (unsigned char)(ulen >> 24);
	len[1] = (unsigned char)(ulen >> 16);
	len[2] = (unsigned char)(ulen >> 8);
	len[3] = (unsigned char)ulen;
	crypto_generichash_update(&h, (const unsigned char *)tk_recovery_tag,
	    sizeof(tk_recovery_tag));
	crypto_generichash_update(&h, len, sizeof(len));
	crypto_generichash_update(&h, (const unsigned char *)user, ulen);
	crypto_generichash_update(&h, (const unsigned char *)norm,
	    TK_RECOVERY_CHARS);
	if (crypto_generichash_final(&h, out, TK_RECOVERY_HASH_BYTES) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(sub, sizeof(sub));
	if (r != 0)
		sodium_memzero(out, TK_RECOVERY_HASH_BYTES);
	return (r);
}
