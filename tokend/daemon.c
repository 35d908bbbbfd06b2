/*
 * daemon.c -- the handler context: clock and host name.
 */
#include "config.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "err.h"
#include "log.h"

static int
tk_daemon_system_clock(void *arg, int64_t *now)
{
	time_t t;

	(void)arg;
	if ((t = time(NULL)) == (time_t)-1)
		return (TK_ERR_IO);
	*now = (int64_t)t;
	return (0);
}

void
tk_daemon_set_clock(struct tk_daemon *d, tk_clock_fn_t *fn, void *arg)
{
	int64_t now;

	d->clock = fn;
	d->clock_arg = arg;
	if (fn(arg, &now) == 0)
		d->started = now;
}

int
tk_daemon_now(const struct tk_daemon *d, int64_t *now)
{
	int r;

	*now = 0;
	if ((r = d->clock(d->clock_arg, now)) != 0) {
		tk_log(LOG_ERR, "cannot read the clock: %s", tk_strerr(r));
		*now = 0;
		return (TK_ERR_IO);
	}
	if (*now < TK_CLOCK_MIN) {
		tk_log(LOG_ERR, "clock reads %lld, before 2020: refusing",
		    (long long)*now);
		*now = 0;
		return (TK_ERR_IO);
	}
	return (0);
}

int
tk_daemon_init(struct tk_daemon *d, const struct tk_conf *conf,
    tk_store_t *store, const tk_master_key_t *key)
{
	int64_t now;
	int r;

	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->store = store;
	d->key = key;
	d->clock = tk_daemon_system_clock;
	if (gethostname(d->host, sizeof(d->host)) != 0)
		d->host[0] = '\0';
	d->host[sizeof(d->host) - 1] = '\0';
	if ((r = tk_daemon_now(d, &now)) != 0)
		return (r);
	d->started = now;
	return (0);
}
