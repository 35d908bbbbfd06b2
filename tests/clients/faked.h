/*
 * faked.h -- a scripted stand-in for tokend, for the client tests: it
 * listens on a UNIX socket in a thread of the test, answers each request
 * with the status the test chose (filling the fields an ok answer
 * needs), and records what it was sent.
 */
#ifndef TK_FAKED_H
#define TK_FAKED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

struct faked {
	char		 dir[64];		/* private temporary dir */
	char		 socket[96];		/* dir/socket */
	int		 lfd;
	pthread_t	 thread;
	bool		 running;
	pthread_mutex_t	 lock;

	/* the script: set before the client runs */
	enum tk_status	 status[TK_MSG_TYPE_END];	/* default ok */
	uint64_t	 factors;		/* USER_STATUS: TOTP */
	bool		 locked;		/* USER_STATUS */
	uint64_t	 retry_after;		/* TOTP_VERIFY when throttled */
	uint64_t	 list_total;		/* CRED_LIST: 0 = two fixed
						   records, else this many,
						   paged from OFFSET */
	bool		 list_more_empty;	/* CRED_LIST: an empty page
						   that claims more */
	uint64_t	 grant_until;		/* USER_STATUS and a GRANTED
						   GRANT_USE: EXPIRES, 0 none */
	bool		 grant_no_expires;	/* GRANTED without EXPIRES */
	int64_t		 recovery_left;		/* ok TOTP_VERIFY: -1 none */
	bool		 list_fido2;		/* CRED_LIST (fixed records):
						   also a suspended FIDO2 one */

	/* FIDO2 logins (test_pam) */
	unsigned char	 fido2_cred[4][64];	/* FIDO2_BEGIN: CRED_IDS */
	size_t		 fido2_cred_len[4];
	unsigned	 fido2_ncreds;		/* 0: an ok without any */
	char		 fido2_rp_id[64];	/* "tokend" */
	char		 fido2_uv[16];		/* "required" */
	bool		 fido2_up;		/* true */
	int64_t		 fido2_ttl;		/* EXPIRES - now: 60 */
	uint64_t	 fido2_challenge_id;	/* last one issued */

	/* what was received */
	unsigned	 count[TK_MSG_TYPE_END];
	char		 code[TK_CODE_MAX + 1];	/* last code sent */
	char		 service[TK_SERVICE_MAX + 1];
	char		 tty[TK_TTY_MAX + 1];
	char		 user[TK_USER_MAX + 1];
	uint64_t	 offset;		/* last CRED_LIST offset */
	unsigned char	 fido2_challenge[32];	/* last one issued */
	uint64_t	 finish_challenge_id;	/* last FIDO2_FINISH: */
	unsigned char	 finish_cred[64];
	size_t		 finish_cred_len;
	unsigned char	 finish_authdata[512];
	size_t		 finish_authdata_len;
	unsigned char	 finish_sig[256];
	size_t		 finish_sig_len;
};

/* Starts the daemon in a new temporary directory; 0 or -1. */
int faked_start(struct faked *);
/* Stops it and removes its directory. */
void faked_stop(struct faked *);
/* Resets the script and the records. */
void faked_reset(struct faked *);

#endif /* TK_FAKED_H */
