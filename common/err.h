/*
 * err.h -- the error vocabulary of common/ and tokend/: 0 is success,
 * every failure a negative TK_ERR_* code.  Only pam_module/pam_tokend.c
 * turns these into PAM codes, and only enroll/ into exit codes.
 */
#ifndef TK_ERR_H
#define TK_ERR_H

#define TK_OK			0
#define TK_ERR_NOMEM		(-1)	/* allocation failed */
#define TK_ERR_INVAL		(-2)	/* invalid argument */
#define TK_ERR_IO		(-3)	/* read/write/system call failed */
#define TK_ERR_TIMEOUT		(-4)	/* deadline passed */
#define TK_ERR_CLOSED		(-5)	/* peer closed the connection */
#define TK_ERR_PROTO		(-6)	/* malformed frame or message */
#define TK_ERR_TOOBIG		(-7)	/* over a size limit */
#define TK_ERR_CONNECT		(-8)	/* cannot reach the daemon */
#define TK_ERR_UNTRUSTED	(-9)	/* socket or peer not trusted */
#define TK_ERR_VERSION		(-10)	/* unsupported protocol version */
#define TK_ERR_ABSENT		(-11)	/* field not present */
#define TK_ERR_CONFIG		(-12)	/* bad configuration */
#define TK_ERR_STORE		(-13)	/* store failure */
#define TK_ERR_CRYPTO		(-14)	/* sealing, RNG or MAC failure */
#define TK_ERR_PERM		(-15)	/* unsafe owner, mode or file type */
#define TK_ERR_EXISTS		(-16)	/* already exists */
#define TK_ERR_NOTFOUND		(-17)	/* no such thing */
#define TK_ERR_REPLAY		(-18)	/* step or challenge already used */
#define TK_ERR_FULL		(-19)	/* disk or store full */

/* Returns a static English name for an error code; never NULL. */
const char *tk_strerr(int);

#endif /* TK_ERR_H */
