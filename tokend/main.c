/*
 * main.c -- tokend: options, configuration, master key, store, then the
 * event loop (server.c).  Everything here runs before the first client
 * and refuses to start on any doubt.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "audit.h"
#include "conf.h"
#include "daemon.h"
#include "err.h"
#include "fido2.h"
#include "fido2_keycache.h"
#include "log.h"
#include "seal.h"
#include "server.h"
#include "store.h"
#ifdef HAVE_LIBPQ
#include "store_migrate.h"
#endif

#define TK_CONF_ERR_MAX		512	/* bytes of a config error message */
#define TK_FD_SCAN_MAX		65536	/* highest fd closed at start */
#define TK_SD_LISTEN_FDS_START	3	/* sd-daemon.h SD_LISTEN_FDS_START */

static void
tk_main_usage(void)
{
	fprintf(stderr, "usage: tokend [-dft] [-c config] [-m sqlite-file]\n");
}

/*
 * Opens the store the configuration names: PostgreSQL when [store] url
 * is set (never logged: it may hold a password), else SQLite at [tokend]
 * database.
 */
static int
tk_main_open_store(const struct tk_conf *conf,
    const unsigned char audit_key[TK_AUDIT_KEY_BYTES], tk_store_t **store)
{
	int r;

	if (conf->store_url != NULL && conf->store_url[0] != '\0') {
#ifdef HAVE_LIBPQ
		r = tk_store_open_pg(conf->store_url, audit_key,
		    TK_AUDIT_KEY_BYTES, store);
		if (r != 0)
			tk_log(LOG_ERR, "store PostgreSQL ([store] url): %s",
			    tk_strerr(r));
		return (r);
#else
		tk_log(LOG_ERR, "configuration: [store] url is set, but this "
		    "tokend was built without PostgreSQL support (libpq)");
		tk_audit_config_error("[store] url needs PostgreSQL support");
		return (TK_ERR_CONFIG);
#endif
	}
	r = tk_store_open_sqlite(conf->database, audit_key,
	    TK_AUDIT_KEY_BYTES, store);
	if (r != 0)
		tk_log(LOG_ERR, "store %s: %s", conf->database, tk_strerr(r));
	return (r);
}

/*
 * tokend -m FILE: copies the SQLite store FILE into the PostgreSQL
 * store named by $TOKEND_STORE_URL (set by tokenadm migrate-store --to:
 * the environment, unlike the command line, is not readable by other
 * users) or else by [store] url; tokend itself must be stopped.
 */
static int
tk_main_migrate(const struct tk_conf *conf, const char *from,
    const tk_master_key_t *key)
{
#ifdef HAVE_LIBPQ
	struct tk_migrate_report rep;
	const char *to;
	int r;

	to = getenv("TOKEND_STORE_URL");
	if (to == NULL || *to == '\0')
		to = conf->store_url;
	if (to == NULL || *to == '\0') {
		tk_log(LOG_ERR, "migrate: no target: set [store] url or give "
		    "tokenadm migrate-store --to");
		return (TK_ERR_CONFIG);
	}
	if ((r = tk_store_migrate(from, to, key, &rep)) != 0) {
		tk_log(LOG_ERR, "migrate: failed (%s); the SQLite store is "
		    "unchanged", tk_strerr(r));
		return (r);
	}
	printf("credentials=%llu throttle=%llu audit=%llu "
	    "recovery_codes=%llu grants=%llu challenges=%llu anchor=%llu "
	    "secrets_verified=%llu\n", (unsigned long long)rep.credentials,
	    (unsigned long long)rep.throttle, (unsigned long long)rep.audit,
	    (unsigned long long)rep.recovery_codes,
	    (unsigned long long)rep.grants,
	    (unsigned long long)rep.challenges, (unsigned long long)rep.anchor,
	    (unsigned long long)rep.secrets);
	tk_log(LOG_INFO, "migrate: done and verified: %llu credentials, %llu "
	    "audit rows", (unsigned long long)rep.credentials,
	    (unsigned long long)rep.audit);
	return (0);
#else
	(void)conf;
	(void)from;
	(void)key;
	tk_log(LOG_ERR, "migrate: this tokend was built without PostgreSQL "
	    "support (libpq)");
	return (TK_ERR_CONFIG);
#endif
}

/*
 * Makes sure 0, 1 and 2 are open (on /dev/null) and closes every other
 * inherited descriptor, except the sockets systemd passes to us.
 */
static void
tk_main_fds(void)
{
	const char *pid_env, *fds_env;
	long max, fd, keep = TK_SD_LISTEN_FDS_START;
	char *end;
	int nfd;

	for (fd = 0; fd <= STDERR_FILENO; fd++)
		if (fcntl((int)fd, F_GETFD) < 0 &&
		    (nfd = open("/dev/null", O_RDWR)) >= 0 && nfd != fd)
			(void)close(nfd);
	if ((pid_env = getenv("LISTEN_PID")) != NULL &&
	    (fds_env = getenv("LISTEN_FDS")) != NULL &&
	    strtol(pid_env, &end, 10) == (long)getpid() && *end == '\0') {
		errno = 0;
		fd = strtol(fds_env, &end, 10);
		if (errno == 0 && *end == '\0' && fd > 0 && fd < INT_MAX / 2)
			keep = TK_SD_LISTEN_FDS_START + fd;
	}
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > TK_FD_SCAN_MAX)
		max = TK_FD_SCAN_MAX;
	for (fd = keep; fd < max; fd++)
		(void)close((int)fd);
}

int
main(int argc, char **argv)
{
	struct tk_conf conf;
	struct tk_daemon d;
	unsigned char audit_key[TK_AUDIT_KEY_BYTES];
	char err[TK_CONF_ERR_MAX];
	tk_master_key_t *key = NULL;
	tk_store_t *store = NULL;
	tk_server_t *srv = NULL;
	const char *path = TK_CONF_DEFAULT_PATH, *migrate_from = NULL;
	bool explicit_conf = false, foreground = false, debug = false;
	bool check_only = false;
	int ch, r, status = EXIT_FAILURE;

	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt(argc, argv, "c:dfm:th")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit_conf = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'm':
			migrate_from = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'h':
		default:
			tk_main_usage();
			return (ch == 'h' ? EXIT_SUCCESS : EXIT_FAILURE);
		}
	}
	if (optind != argc) {
		tk_main_usage();
		return (EXIT_FAILURE);
	}

	tk_main_fds();
	(void)signal(SIGPIPE, SIG_IGN);
	umask(022);
	/* -f and -t report to the terminal; the daemon to syslog */
	if (foreground || check_only || migrate_from != NULL)
		tk_log_to_stderr("tokend");
	else
		tk_log_to_syslog("tokend", LOG_AUTHPRIV);
	tk_log_set_debug(debug);

	if (sodium_init() < 0 || oath_init() != OATH_OK) {
		tk_log(LOG_ERR, "cannot initialise libsodium or liboath");
		goto fail;
	}
	tk_fido2_init();
	if ((r = tk_conf_init(&conf)) != 0) {
		tk_log(LOG_ERR, "configuration: %s", tk_strerr(r));
		goto fail;
	}
	err[0] = '\0';
	if ((r = tk_conf_load(&conf, path, !explicit_conf, err,
	    sizeof(err))) != 0) {
		tk_log(LOG_ERR, "%s", err[0] != '\0' ? err : tk_strerr(r));
		tk_audit_config_error(err[0] != '\0' ? err : tk_strerr(r));
		goto fail;
	}
	err[0] = '\0';
	if ((r = tk_master_key_load(conf.master_key, &key, err,
	    sizeof(err))) != 0) {
		tk_log(LOG_ERR, "master key %s: %s", conf.master_key,
		    err[0] != '\0' ? err : tk_strerr(r));
		tk_audit_config_error(err[0] != '\0' ? err : tk_strerr(r));
		goto fail;
	}
	if ((r = tk_master_key_derive(key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key)) != 0) {
		tk_log(LOG_ERR, "cannot derive the audit key: %s",
		    tk_strerr(r));
		goto fail;
	}
	if (migrate_from != NULL) {
		sodium_memzero(audit_key, sizeof(audit_key));
		if (tk_main_migrate(&conf, migrate_from, key) == 0)
			status = EXIT_SUCCESS;
		goto fail;
	}
	r = tk_main_open_store(&conf, audit_key, &store);
	sodium_memzero(audit_key, sizeof(audit_key));
	if (r != 0)
		goto fail;
	if (check_only) {
		tk_log(LOG_INFO, "configuration, master key and store are "
		    "usable");
		status = EXIT_SUCCESS;
		goto fail;
	}
	if ((r = tk_daemon_init(&d, &conf, store, key)) != 0 ||
	    (r = tk_server_open(&d, &srv)) != 0) {
		tk_log(LOG_ERR, "cannot start: %s", tk_strerr(r));
		goto fail;
	}
	/* the chain records every start and stop (a start must be stored) */
	if ((r = tk_audit_daemon(&d, "daemon_start", PACKAGE_VERSION)) != 0) {
		tk_log(LOG_ERR, "cannot start: the audit trail cannot be "
		    "written: %s", tk_strerr(r));
		goto fail;
	}
	if ((r = tk_server_run(srv)) != 0) {
		tk_log(LOG_ERR, "event loop failed: %s", tk_strerr(r));
		(void)tk_audit_daemon(&d, "daemon_stop", "event loop failed");
		goto fail;
	}
	(void)tk_audit_daemon(&d, "daemon_stop", NULL);
	tk_log(LOG_INFO, "stopped");

	status = EXIT_SUCCESS; /* success */
fail:
	tk_server_close(&srv);
	tk_fido2_keycache_clear();
	tk_store_close(&store);
	tk_master_key_free(&key);
	sodium_memzero(audit_key, sizeof(audit_key));
	tk_conf_clear(&conf);
	return (status);
}
