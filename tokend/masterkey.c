/*
 * masterkey.c -- loading the master key and deriving subkeys from it.
 *
 * MUST invariants:
 *  1. The key file is judged by fstat() on the descriptor that is read
 *     (opened with O_NOFOLLOW), never by a separate look-up of the path:
 *     a regular file, owned by the effective uid, no group or other
 *     permission bits, exactly TK_MASTER_KEY_BYTES bytes.
 *  2. The key lives only in sodium_malloc'd memory (guard pages, locked
 *     when the system allows), read-only once loaded, and is wiped when
 *     freed; no stack or heap copy outlives a call.
 *  3. Error messages name the file and the problem, never key bytes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "seal.h"
#include "store_seal.h"

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
	/* a truncated message is still a message: keep it */
}

/* reads exactly n bytes, or fails */
static int
read_full(int fd, unsigned char *buf, size_t n)
{
	ssize_t got;
	size_t off = 0;

	while (off < n) {
		got = read(fd, buf + off, n - off);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return (-1);
		off += (size_t)got;
	}
	return (0);
}

static uint32_t
key_id_of(const unsigned char *key)
{
	unsigned char h[crypto_generichash_BYTES];
	uint32_t id;

	crypto_generichash(h, sizeof(h), key, TK_MASTER_KEY_BYTES, NULL, 0);
	id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | (uint32_t)h[3];
	sodium_memzero(h, sizeof(h));
	return (id);
}

int
tk_master_key_load(const char *path, tk_master_key_t **kp, char *err,
    size_t errlen)
{
	struct tk_master_key *k = NULL;
	unsigned char extra;
	struct stat sb;
	ssize_t got;
	int fd = -1, r;

	if (kp != NULL)
		*kp = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || kp == NULL) {
		set_err(err, errlen, "no master key path");
		return (TK_ERR_INVAL);
	}
	if (sodium_init() < 0) {
		set_err(err, errlen, "libsodium cannot be initialised");
		return (TK_ERR_CRYPTO);
	}
	/* O_NONBLOCK: a FIFO put in its place must not hang the open */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		switch (errno) {
		case ENOENT:
			r = TK_ERR_NOTFOUND;
			set_err(err, errlen, "%s: no such file", path);
			break;
		case ELOOP:
			r = TK_ERR_PERM;
			set_err(err, errlen, "%s: is a symbolic link", path);
			break;
		case EACCES:
			r = TK_ERR_PERM;
			set_err(err, errlen, "%s: permission denied", path);
			break;
		default:
			r = TK_ERR_IO;
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			break;
		}
		goto fail;
	}
	if (fstat(fd, &sb) == -1) {
		r = TK_ERR_IO;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = TK_ERR_PERM;
		set_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (sb.st_uid != geteuid()) {
		r = TK_ERR_PERM;
		set_err(err, errlen, "%s: owned by uid %lu, not by uid %lu",
		    path, (unsigned long)sb.st_uid, (unsigned long)geteuid());
		goto fail;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = TK_ERR_PERM;
		set_err(err, errlen, "%s: mode %04o gives access to group or "
		    "others (use 0400)", path, (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	if (sb.st_size != TK_MASTER_KEY_BYTES) {
		r = TK_ERR_INVAL;
		set_err(err, errlen, "%s: %lld bytes, not %d", path,
		    (long long)sb.st_size, TK_MASTER_KEY_BYTES);
		goto fail;
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		r = TK_ERR_NOMEM;
		set_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (read_full(fd, k->key, sizeof(k->key)) != 0) {
		r = TK_ERR_IO;
		set_err(err, errlen, "%s: short read", path);
		goto fail;
	}
	/* the file may have grown since fstat() */
	do {
		got = read(fd, &extra, 1);
	} while (got == -1 && errno == EINTR);
	if (got != 0) {
		r = got > 0 ? TK_ERR_INVAL : TK_ERR_IO;
		set_err(err, errlen, "%s: longer than %d bytes", path,
		    TK_MASTER_KEY_BYTES);
		goto fail;
	}
	k->id = key_id_of(k->key);
	if (sodium_mprotect_readonly(k) != 0) {
		r = TK_ERR_CRYPTO;
		set_err(err, errlen, "%s: cannot protect the key", path);
		goto fail;
	}
	*kp = k;
	k = NULL;

	r = 0; /* success */
 fail:
	if (fd != -1)
		close(fd);
	tk_master_key_free(&k);
	return (r);
}

void
tk_master_key_free(tk_master_key_t **kp)
{
	struct tk_master_key *k;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	*kp = NULL;
	sodium_mprotect_readwrite(k);
	sodium_memzero(k, sizeof(*k));
	sodium_free(k);
}

uint32_t
tk_master_key_id(const tk_master_key_t *k)
{
	if (k == NULL)
		return (0);
	return (k->id);
}

int
tk_master_key_derive(const tk_master_key_t *k, uint64_t subkey_id,
    const char context[8], unsigned char out[TK_AUDIT_KEY_BYTES])
{
	if (out != NULL)
		sodium_memzero(out, TK_AUDIT_KEY_BYTES);
	if (k == NULL || context == NULL || out == NULL)
		return (TK_ERR_INVAL);
	/* exactly crypto_kdf_CONTEXTBYTES characters, no NUL among them */
	if (memchr(context, '\0', crypto_kdf_CONTEXTBYTES) != NULL)
		return (TK_ERR_INVAL);
	if (crypto_kdf_derive_from_key(out, TK_AUDIT_KEY_BYTES, subkey_id,
	    context, k->key) != 0) {
		sodium_memzero(out, TK_AUDIT_KEY_BYTES);
		return (TK_ERR_CRYPTO);
	}
	return (0);
}
