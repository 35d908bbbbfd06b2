/*
 * conf.h -- tokend.conf, the one configuration file read by tokend,
 * tokenadm and pam_tokend.so (config=), parsed with inih.
 *
 * The file is opened without following links and trusted only if it is
 * a regular file owned by root or by the reading user and not writable
 * by group or others.  Unknown sections and keys, and values out of
 * range, are errors reported as "FILE:LINE: ...".  Only the default
 * file may be missing.
 */
#ifndef TK_CONF_H
#define TK_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define TK_CONF_DEFAULT_PATH	SYSCONFDIR "/tokend/tokend.conf"

/* factors=, a bit set in the order-preserving list below */
#define TK_CONF_FACTORS_MAX	4

/* [fido2] allowed_aaguids: at most this many, each 36-char UUID text */
#define TK_CONF_AAGUIDS_MAX	64

struct tk_conf {
	char		*path;		/* file read, or NULL for defaults */

	/* [tokend] */
	char		*socket;	/* /run/tokend/socket */
	char		*database;	/* LOCALSTATEDIR/lib/tokend/tokend.db */
	char		*master_key;	/* SYSCONFDIR/tokend/master.key */
	char		*admin_group;	/* tokend-admin */
	char		*user;		/* tokend: the daemon's account */
	unsigned	 idle_timeout;	/* s a connection may idle: 10 */
	unsigned	 max_connections; /* 256 */

	/* [store] */
	char		*store_url;	/* "": SQLite at database; else a
					   PostgreSQL URL or libpq conninfo */

	/* [totp] */
	unsigned	 totp_window;	/* steps either side: 1 (0..10) */
	char		*totp_issuer;	/* tokend */
	unsigned	 totp_pending_ttl; /* s: 900 */

	/* [throttle] */
	unsigned	 max_failures;	/* lock after: 10 (1..100) */
	unsigned	 delay_base;	/* s after 1st failure, doubling: 1 */
	unsigned	 delay_max;	/* s cap of the delay: 30 */

	/* [grant] */
	unsigned	 grant_max_duration; /* s: 86400 (60..2592000) */

	/* [fido2] */
	char		*fido2_rp_id;	/* tokend: fixed, never the host name */
	unsigned	 fido2_challenge_ttl; /* s a login challenge lives: 60 */
	unsigned	 fido2_enroll_ttl; /* s an enrollment challenge: 300 */
	char		*fido2_uv;	/* required|preferred|discouraged */
	char		*fido2_allowed_aaguids; /* comma list of UUIDs; "" = any */

	/* [pam] (module options of the same names override these) */
	char		*factors;	/* "fido2,totp" */
	bool		 nullok;	/* false */
	unsigned	 timeout;	/* s for each call to tokend: 10 */
	unsigned	 fido2_wait;	/* s to wait for a key: 30 (0..300) */
	bool		 cue;		/* false */
	bool		 debug;		/* false */
};

/*
 * Fills *c with the built-in defaults (allocating its strings).
 * Returns 0 or TK_ERR_NOMEM.
 */
int tk_conf_init(struct tk_conf *c);
/* Frees the strings of *c and zeroes it. */
void tk_conf_clear(struct tk_conf *c);

/*
 * Reads `path' over the values already in *c.  A missing file is an
 * error unless `missing_ok'.  On error, a message naming the file and
 * line is written to err (size errlen) and *c may be partly updated:
 * callers refuse to run.  Returns 0, TK_ERR_CONFIG, TK_ERR_PERM (owner,
 * mode, link or type), TK_ERR_NOTFOUND or TK_ERR_NOMEM.
 */
int tk_conf_load(struct tk_conf *c, const char *path, bool missing_ok,
    char *err, size_t errlen);

/*
 * Sets one key of one section from text, with the same checks as the
 * file (used by the file parser and by PAM module options).  Returns 0,
 * TK_ERR_CONFIG with a message in err, or TK_ERR_NOMEM.
 */
int tk_conf_set(struct tk_conf *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen);

/*
 * Parses the checked [fido2] allowed_aaguids list into out[0..*n) (16
 * bytes each, at most `max').  An empty list gives *n = 0 (any model).
 * Returns 0 or TK_ERR_CONFIG.
 */
int tk_conf_aaguids(const struct tk_conf *c, unsigned char (*out)[16],
    size_t max, size_t *n);

#endif /* TK_CONF_H */
