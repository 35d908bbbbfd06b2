/*
 * pamdriver.c -- a minimal PAM application for the integration tests.
 *
 * It runs pam_start(SERVICE, USER) -> pam_authenticate -> pam_end and
 * prints the result of pam_authenticate on stdout as "NUMBER NAME"
 * (for example "0 PAM_SUCCESS").  It exits 0 whenever it could run the
 * transaction at all, so the tests judge the printed result, never the
 * exit status; 2 means a usage error, 3 that pam_start itself failed.
 *
 * The tests run it with pam_wrapper preloaded (LD_PRELOAD on this
 * program only), so the service file comes from PAM_WRAPPER_SERVICE_DIR
 * and the real /etc/pam.d is never read.  With TK_PAM_CONFDIR set to a
 * directory it reads the service from there through pam_start_confdir()
 * (Linux-PAM 1.4) instead, without pam_wrapper: the sanitizer pass
 * needs that, since AddressSanitizer refuses the RTLD_DEEPBIND with
 * which pam_wrapper loads libpam (tests/pam/lib.sh, TK_PAM_NO_WRAPPER).
 *
 * The module's log lines (pam_syslog, pam_vsyslog) never reach the
 * system log.  This program defines both functions, so the module
 * loaded into it calls them before libpam's: under pam_wrapper they go
 * on to pam_wrapper's (which prints them on stderr as "PWRAP_ERROR[...]
 * - SYSLOG(3): text" up to the level PAM_WRAPPER_DEBUGLEVEL names,
 * errors by default); in confdir mode the driver prints them itself on
 * stderr as "PAMDRIVER_ERROR[...] - SYSLOG(3): text" at the same levels,
 * so a test finds them in either mode.
 *
 * Every message the conversation receives goes to stderr as
 * "STYLE: text" (PROMPT_ECHO_OFF, PROMPT_ECHO_ON, ERROR_MSG, TEXT_INFO)
 * so the tests can check prompts and messages.  Answers to prompts come
 * from -a options, used in order; a prompt with no answer left makes the
 * conversation fail.  -N, -0, -Z and -C replace the conversation with
 * a broken one.
 *
 * -L FD closes descriptor FD as soon as main() reads it.  The tests hold a
 * lock on it while the program starts, so that the start-up code of
 * pam_wrapper (which picks and fills a directory /tmp/pam.X, without
 * any lock of its own) never runs in two drivers at the same time.
 *
 * -T SECONDS ends the program with SIGALRM after that long (default
 * 60), so that a hanging module cannot hang the tests.
 *
 * -D prints "fds: before=N after=M" on stderr: the descriptors open
 * before the transaction and after its pam_end (a module, or an object
 * it loads, that leaks one shows M > N).
 *
 * -P N runs N transactions at once in N threads of this one process
 * (each with its own handle and its own copy of the answers) and prints
 * one result line per thread.  The concurrency tests use it because
 * pam_wrapper gives each process one of a few dozen private directories
 * (/tmp/pam.X), which limits how many wrapped processes may run at once.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>

#define MAX_ANSWERS	32
#define MAX_THREADS	64

enum conv_mode {
	CONV_ANSWER,	/* answer prompts from the -a list */
	CONV_ERROR,	/* -N: return PAM_CONV_ERR */
	CONV_NULL_TEXT,	/* -0: succeed with a NULL text in each response */
	CONV_NULL_ARRAY,/* -Z: succeed without any response array */
	CONV_NONE	/* -C: no conversation function at all */
};

struct driver {
	enum conv_mode	 mode;
	const char	*answers[MAX_ANSWERS];
	int		 nanswers;
	int		 next;
	const char	*service;
	const char	*user;
	const char	*rhost;
	const char	*tty;
	int		 result;	/* of pam_authenticate */
	int		 started;	/* pam_start succeeded */
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	int		 code;
	const char	*name;
} pam_names[] = {
	{ PAM_SUCCESS, "PAM_SUCCESS" },
	{ PAM_OPEN_ERR, "PAM_OPEN_ERR" },
	{ PAM_SYMBOL_ERR, "PAM_SYMBOL_ERR" },
	{ PAM_SERVICE_ERR, "PAM_SERVICE_ERR" },
	{ PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR" },
	{ PAM_BUF_ERR, "PAM_BUF_ERR" },
	{ PAM_PERM_DENIED, "PAM_PERM_DENIED" },
	{ PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT" },
	{ PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN" },
	{ PAM_MAXTRIES, "PAM_MAXTRIES" },
	{ PAM_NEW_AUTHTOK_REQD, "PAM_NEW_AUTHTOK_REQD" },
	{ PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED" },
	{ PAM_SESSION_ERR, "PAM_SESSION_ERR" },
	{ PAM_CRED_UNAVAIL, "PAM_CRED_UNAVAIL" },
	{ PAM_CRED_EXPIRED, "PAM_CRED_EXPIRED" },
	{ PAM_CRED_ERR, "PAM_CRED_ERR" },
	{ PAM_NO_MODULE_DATA, "PAM_NO_MODULE_DATA" },
	{ PAM_CONV_ERR, "PAM_CONV_ERR" },
	{ PAM_AUTHTOK_ERR, "PAM_AUTHTOK_ERR" },
	{ PAM_AUTHTOK_RECOVERY_ERR, "PAM_AUTHTOK_RECOVERY_ERR" },
	{ PAM_AUTHTOK_LOCK_BUSY, "PAM_AUTHTOK_LOCK_BUSY" },
	{ PAM_AUTHTOK_DISABLE_AGING, "PAM_AUTHTOK_DISABLE_AGING" },
	{ PAM_TRY_AGAIN, "PAM_TRY_AGAIN" },
	{ PAM_IGNORE, "PAM_IGNORE" },
	{ PAM_ABORT, "PAM_ABORT" },
	{ PAM_AUTHTOK_EXPIRED, "PAM_AUTHTOK_EXPIRED" },
	{ PAM_MODULE_UNKNOWN, "PAM_MODULE_UNKNOWN" },
	{ PAM_BAD_ITEM, "PAM_BAD_ITEM" },
	{ PAM_CONV_AGAIN, "PAM_CONV_AGAIN" },
	{ PAM_INCOMPLETE, "PAM_INCOMPLETE" },
};

static const char *
pam_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(pam_names) / sizeof(pam_names[0]); i++)
		if (pam_names[i].code == code)
			return pam_names[i].name;
	return "PAM_UNKNOWN_CODE";
}

/* open descriptors of this process (the one counting them excluded) */
static int
count_fds(void)
{
	DIR *dir;
	struct dirent *e;
	int n = 0;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	(void)closedir(dir);
	return (n - 1);
}

static const char *
style_name(int style)
{
	switch (style) {
	case PAM_PROMPT_ECHO_OFF:
		return "PROMPT_ECHO_OFF";
	case PAM_PROMPT_ECHO_ON:
		return "PROMPT_ECHO_ON";
	case PAM_ERROR_MSG:
		return "ERROR_MSG";
	case PAM_TEXT_INFO:
		return "TEXT_INFO";
	default:
		return "UNKNOWN_STYLE";
	}
}

static void
free_responses(struct pam_response *r, int n)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			memset(r[i].resp, 0, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
}

static int
conversation(int n, const struct pam_message **msg,
    struct pam_response **resp, void *data)
{
	struct driver *d = data;
	struct pam_response *r;
	int i, prompt;

	if (resp == NULL || msg == NULL || n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	*resp = NULL;

	pthread_mutex_lock(&out_lock);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s: %s\n", style_name(msg[i]->msg_style),
		    msg[i]->msg != NULL ? msg[i]->msg : "(null)");
	fflush(stderr);
	pthread_mutex_unlock(&out_lock);

	switch (d->mode) {
	case CONV_ERROR:
		fprintf(stderr, "CONV: returning PAM_CONV_ERR\n");
		return PAM_CONV_ERR;
	case CONV_NULL_ARRAY:
		fprintf(stderr, "CONV: returning no response array\n");
		return PAM_SUCCESS;
	default:
		break;
	}

	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		prompt = msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON;
		if (!prompt)
			continue;
		if (d->mode == CONV_NULL_TEXT) {
			fprintf(stderr, "CONV: answering with a NULL text\n");
			continue;
		}
		if (d->next >= d->nanswers) {
			fprintf(stderr, "CONV: no answer left\n");
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
		if ((r[i].resp = strdup(d->answers[d->next++])) == NULL) {
			free_responses(r, n);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pamdriver -s SERVICE -u USER [-r RHOST] [-t TTY]\n"
	    "                 [-a ANSWER ...] [-N | -0 | -Z | -C] [-P N]\n"
	    "                 [-L FD] [-T SECONDS] [-D]\n"
	    "  -a ANSWER  answer the next prompt with ANSWER (repeatable)\n"
	    "  -N         the conversation returns PAM_CONV_ERR\n"
	    "  -0         the conversation returns NULL response texts\n"
	    "  -Z         the conversation returns no response array\n"
	    "  -C         no conversation function at all\n"
	    "  -P N       N transactions at once, in N threads\n"
	    "  -L FD      close FD at start (releases a start-up lock)\n"
	    "  -T SECONDS give up (SIGALRM) after SECONDS (default 60)\n"
	    "  -D         report the open descriptors before and after\n");
	exit(2);
}

/* confdir mode: TK_PAM_CONFDIR names the service directory */
static const char *
confdir_mode(void)
{
	const char *confdir = getenv("TK_PAM_CONFDIR");

	return (confdir != NULL && *confdir != '\0' ? confdir : NULL);
}

/*
 * The module's log lines (see the top of this file).  pam_wrapper's
 * levels: ERROR (0) for LOG_EMERG..LOG_ERR, WARN (1) for LOG_WARNING,
 * DEBUG (2) for LOG_NOTICE..LOG_DEBUG; a line is printed when its level
 * is at most PAM_WRAPPER_DEBUGLEVEL (default 0).
 */
void
pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt,
    va_list args)
{
	static const char *const names[] = { "ERROR", "WARN", "DEBUG" };
	void (*next)(const pam_handle_t *, int, const char *, va_list);
	const char *env;
	char text[1024];
	int pri = LOG_PRI(priority), level, max = 0;

	if (confdir_mode() == NULL) {
		/* pam_wrapper's, or libpam's */
		*(void **)&next = dlsym(RTLD_NEXT, "pam_vsyslog");
		if (next != NULL)
			next(pamh, priority, fmt, args);
		return;
	}
	level = pri <= LOG_ERR ? 0 : pri == LOG_WARNING ? 1 : 2;
	if ((env = getenv("PAM_WRAPPER_DEBUGLEVEL")) != NULL)
		max = atoi(env);
	if (level > max)
		return;
	(void)vsnprintf(text, sizeof(text), fmt, args);
	/* one fprintf a line: threads (-P) may log at the same time */
	fprintf(stderr, "PAMDRIVER_%s[pamdriver (%d)] - SYSLOG(%d): %s\n",
	    names[level], (int)getpid(), pri, text);
}

void
pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pam_vsyslog(pamh, priority, fmt, args);
	va_end(args);
}

/* pam_start, or pam_start_confdir when TK_PAM_CONFDIR names a directory */
static int
driver_start(const struct driver *d, const struct pam_conv *conv,
    pam_handle_t **h)
{
	const char *confdir;

	if ((confdir = confdir_mode()) != NULL)
		return (pam_start_confdir(d->service, d->user, conv, confdir,
		    h));
	return (pam_start(d->service, d->user, conv, h));
}

/* one transaction: pam_start, items, pam_authenticate, pam_end */
static void *
transaction(void *arg)
{
	struct driver *d = arg;
	struct pam_conv conv;
	pam_handle_t *h = NULL;
	int rc, end;

	conv.conv = d->mode == CONV_NONE ? NULL : conversation;
	conv.appdata_ptr = d;

	rc = driver_start(d, &conv, &h);
	if (rc != PAM_SUCCESS) {
		d->result = rc;
		fprintf(stderr, "pamdriver: pam_start: %s\n", pam_name(rc));
		return NULL;
	}
	if (d->rhost != NULL &&
	    (rc = pam_set_item(h, PAM_RHOST, d->rhost)) != PAM_SUCCESS) {
		d->result = rc;
		fprintf(stderr, "pamdriver: PAM_RHOST: %s\n", pam_name(rc));
		pam_end(h, rc);
		return NULL;
	}
	if (d->tty != NULL &&
	    (rc = pam_set_item(h, PAM_TTY, d->tty)) != PAM_SUCCESS) {
		d->result = rc;
		fprintf(stderr, "pamdriver: PAM_TTY: %s\n", pam_name(rc));
		pam_end(h, rc);
		return NULL;
	}
	d->started = 1;
	d->result = pam_authenticate(h, 0);
	if ((end = pam_end(h, d->result)) != PAM_SUCCESS)
		fprintf(stderr, "pamdriver: pam_end: %s\n", pam_name(end));
	return NULL;
}

int
main(int argc, char **argv)
{
	struct driver d, *ds;
	pthread_t tids[MAX_THREADS];
	char *end;
	long nthreads = 1, v;
	unsigned seconds = 60;
	int ch, i, ex = 0, fds = 0, fds_before = -1;

	memset(&d, 0, sizeof(d));
	d.mode = CONV_ANSWER;
	while ((ch = getopt(argc, argv, "s:u:r:t:a:N0ZCP:L:T:Dh")) != -1) {
		switch (ch) {
		case 's':
			d.service = optarg;
			break;
		case 'u':
			d.user = optarg;
			break;
		case 'r':
			d.rhost = optarg;
			break;
		case 't':
			d.tty = optarg;
			break;
		case 'a':
			if (d.nanswers >= MAX_ANSWERS)
				usage();
			d.answers[d.nanswers++] = optarg;
			break;
		case 'N':
			d.mode = CONV_ERROR;
			break;
		case '0':
			d.mode = CONV_NULL_TEXT;
			break;
		case 'Z':
			d.mode = CONV_NULL_ARRAY;
			break;
		case 'C':
			d.mode = CONV_NONE;
			break;
		case 'P':
			nthreads = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || nthreads < 1 ||
			    nthreads > MAX_THREADS)
				usage();
			break;
		case 'L':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 3 ||
			    v > 1024)
				usage();
			close((int)v);
			break;
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 ||
			    v > 3600)
				usage();
			seconds = (unsigned)v;
			break;
		case 'D':
			fds = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || d.service == NULL || d.user == NULL)
		usage();
	alarm(seconds);

	if (nthreads == 1) {
		if (fds)
			fds_before = count_fds();
		transaction(&d);
		if (fds)
			fprintf(stderr, "fds: before=%d after=%d\n", fds_before,
			    count_fds());
		printf("%d %s\n", d.result, pam_name(d.result));
		return d.started ? 0 : 3;
	}

	if ((ds = calloc((size_t)nthreads, sizeof(*ds))) == NULL) {
		perror("pamdriver");
		return 3;
	}
	for (i = 0; i < nthreads; i++) {
		ds[i] = d;
		if (pthread_create(&tids[i], NULL, transaction, &ds[i]) != 0) {
			fprintf(stderr, "pamdriver: cannot start thread %d\n", i);
			nthreads = i;
			ex = 3;
			break;
		}
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tids[i], NULL);
		printf("%d %s\n", ds[i].result, pam_name(ds[i].result));
		if (!ds[i].started)
			ex = 3;
	}
	free(ds);
	return ex;
}
