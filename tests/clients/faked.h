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

	/* what was received */
	unsigned	 count[TK_MSG_TYPE_END];
	char		 code[TK_CODE_MAX + 1];	/* last code sent */
	char		 service[TK_SERVICE_MAX + 1];
	char		 tty[TK_TTY_MAX + 1];
	char		 user[TK_USER_MAX + 1];
	uint64_t	 offset;		/* last CRED_LIST offset */
};

/* Starts the daemon in a new temporary directory; 0 or -1. */
int faked_start(struct faked *);
/* Stops it and removes its directory. */
void faked_stop(struct faked *);
/* Resets the script and the records. */
void faked_reset(struct faked *);

#endif /* TK_FAKED_H */
