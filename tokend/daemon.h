/*
 * daemon.h -- the context every request handler runs in: configuration,
 * store, master key, clock and counters.  One instance per process,
 * owned by main.c; the event loop and the handlers only borrow it.
 */
#ifndef TK_DAEMON_H
#define TK_DAEMON_H

#include <stdint.h>

#include "conf.h"
#include "seal.h"
#include "store.h"

/* 2020-01-01T00:00:00Z: a clock earlier than this is taken as broken */
#define TK_CLOCK_MIN		1577836800
#define TK_HOST_MAX		255	/* bytes of a host name */

/*
 * The daemon's idea of "now", in UNIX seconds.  main.c installs one that
 * reads time(); tests install their own.  Returns 0 and *now, or
 * TK_ERR_IO when no time can be read.
 */
typedef int tk_clock_fn_t(void *arg, int64_t *now);

struct tk_daemon_counters {
	uint64_t	 requests;	/* requests dispatched */
	uint64_t	 denied;	/* refused by the role table */
	uint64_t	 bad_requests;	/* malformed frames or messages */
	uint64_t	 internal;	/* answered TK_ST_INTERNAL */
};

struct tk_daemon {
	const struct tk_conf	*conf;		/* borrowed */
	tk_store_t		*store;		/* borrowed */
	const tk_master_key_t	*key;		/* borrowed */
	tk_clock_fn_t		*clock;
	void			*clock_arg;
	int64_t			 started;	/* clock at tk_daemon_init */
	char			 host[TK_HOST_MAX + 1];
	struct tk_daemon_counters counters;
};

/*
 * Fills *d with borrowed pointers, the system clock and this host's
 * name.  Returns 0, or TK_ERR_IO when the clock cannot be read or is
 * before TK_CLOCK_MIN.
 */
int tk_daemon_init(struct tk_daemon *d, const struct tk_conf *conf,
    tk_store_t *store, const tk_master_key_t *key);
/* Replaces the clock (tests, before or after tk_daemon_init). */
void tk_daemon_set_clock(struct tk_daemon *d, tk_clock_fn_t *fn, void *arg);
/*
 * Reads the daemon clock.  Returns 0 and *now, or TK_ERR_IO (logged)
 * when the clock fails or reads earlier than TK_CLOCK_MIN: callers fail
 * closed.
 */
int tk_daemon_now(const struct tk_daemon *d, int64_t *now);

#endif /* TK_DAEMON_H */
