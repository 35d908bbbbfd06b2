/*
 * cmd_migrate.c -- tokenadm migrate-store: moves a single-host SQLite
 * store into PostgreSQL.  Root only, with tokend stopped.
 *
 * tokenadm holds no store code (it talks to tokend over the socket), so
 * the copy is done by the tokend program itself: "tokend -m FILE" as the
 * [tokend] account, like init's "tokend -t".  tokend copies every row
 * (ids, sealed secrets, audit MACs and anchor as they are: the same
 * master key), then verifies the target before it reports success.
 *
 * Invariants:
 *  1. The target URL reaches tokend in its environment
 *     (TOKEND_STORE_URL), never on a command line other users can read;
 *     a URL that carries a password is refused: the password belongs in
 *     libpq's passfile or service file.
 *  2. A running tokend (its socket answers) is refused: nothing may
 *     change the source while it is copied.
 *  3. fork/execv, no shell.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "json.h"
#include "tokenadm.h"

#define EXIT_EXEC_FAILED	127	/* child could not run tokend */
#define REPORT_MAX		1024	/* tokend -m's report line, bytes */
#define REPORT_FIELDS_MAX	16

/* invariant 1: "password=" in a conninfo, or user:password@ in a URL */
static int
url_has_password(const char *url)
{
	const char *p, *at;

	if (strstr(url, "password=") != NULL ||
	    strstr(url, "password =") != NULL)
		return (1);
	if ((p = strstr(url, "://")) != NULL) {
		p += 3;
		at = strchr(p, '@');
		if (at != NULL && memchr(p, ':', (size_t)(at - p)) != NULL)
			return (1);
	}
	return (0);
}

/* invariant 2: 1 when something accepts connections on the socket */
static int
daemon_running(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return (0);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return (r);
}

/* in the child: become the [tokend] account when it exists */
static int
become(const char *name)
{
	struct passwd *pw;

	if (name == NULL || (pw = getpwnam(name)) == NULL || pw->pw_uid == 0)
		return (0);
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return (-1);
	return (0);
}

/*
 * tokend -m's report, one line of NAME=NUMBER pairs ("credentials=3
 * throttle=1 ..."), as one JSON object of numbers plus "verified": true
 * (tokend reports only after verifying the copy).  Returns 0, or -1
 * when the line is not such a report (nothing is printed then).
 */
static int
report_json(char *line)
{
	struct tk_json j;
	char *names[REPORT_FIELDS_MAX], *values[REPORT_FIELDS_MAX];
	char *tok, *eq, *save = NULL, *end;
	unsigned long long v;
	size_t i, n = 0;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (n == REPORT_FIELDS_MAX || (eq = strchr(tok, '=')) == NULL ||
		    eq == tok || strspn(tok, "abcdefghijklmnopqrstuvwxyz_") !=
		    (size_t)(eq - tok) || eq[1] == '\0' ||
		    strspn(eq + 1, "0123456789") != strlen(eq + 1))
			return (-1);
		*eq = '\0';
		names[n] = tok;
		values[n++] = eq + 1;
	}
	if (n == 0)
		return (-1);
	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	for (i = 0; i < n; i++) {
		errno = 0;
		v = strtoull(values[i], &end, 10);
		if (errno != 0 || *end != '\0')
			return (-1);
		tk_json_key(&j, names[i]);
		tk_json_uint(&j, v);
	}
	tk_json_key(&j, "verified");
	tk_json_bool(&j, true);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? 0 : -1);
}

/* reads fd to its end into buf (len bytes, NUL-terminated, cut) */
static void
report_read(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	char sink[256];

	for (;;) {
		if (got + 1 < len)
			n = read(fd, buf + got, len - 1 - got);
		else
			n = read(fd, sink, sizeof(sink));	/* drain */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	buf[got] = '\0';
}

static int
run_migrate(struct tk_adm *c, const char *daemon, const char *file,
    const char *to)
{
	char arg0[] = "tokend", arg_m[] = "-m", arg_c[] = "-c";
	char *argv[6], report[REPORT_MAX];
	pid_t pid;
	int status, i = 0, out[2];

	argv[i++] = arg0;
	if (c->conf_path != NULL) {
		argv[i++] = arg_c;
		argv[i++] = (char *)(uintptr_t)c->conf_path;
	}
	argv[i++] = arg_m;
	argv[i++] = (char *)(uintptr_t)file;
	argv[i] = NULL;
	fflush(stdout);
	fflush(stderr);
	/* tokend's report comes back through a pipe: --json rewrites it */
	if (pipe2(out, O_CLOEXEC) != 0) {
		fprintf(stderr, "tokenadm: pipe: %s\n", strerror(errno));
		return (TK_EXIT_FAIL);
	}
	if ((pid = fork()) == -1) {
		fprintf(stderr, "tokenadm: fork: %s\n", strerror(errno));
		close(out[0]);
		close(out[1]);
		return (TK_EXIT_FAIL);
	}
	if (pid == 0) {
		if (dup2(out[1], STDOUT_FILENO) == -1 ||
		    (to != NULL && setenv("TOKEND_STORE_URL", to, 1) != 0) ||
		    become(c->conf.user) != 0) {
			fprintf(stderr, "tokenadm: %s: %s\n", daemon,
			    strerror(errno));
			_exit(EXIT_EXEC_FAILED);
		}
		execv(daemon, argv);
		fprintf(stderr, "tokenadm: %s: %s\n", daemon, strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}
	close(out[1]);
	report_read(out[0], report, sizeof(report));
	close(out[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "tokenadm: waitpid: %s\n",
			    strerror(errno));
			return (TK_EXIT_FAIL);
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (!c->json) {
			fputs(report, stdout);
			return (TK_EXIT_OK);
		}
		if (report_json(report) == 0)
			return (TK_EXIT_OK);
		fprintf(stderr, _("tokenadm: tokend reported the migration "
		    "in a form this tokenadm does not know; the copy was "
		    "verified, see tokend's log\n"));
		return (TK_EXIT_FAIL);
	}
	fputs(report, stdout);
	fprintf(stderr, _("tokenadm: the migration failed; the messages "
	    "above say why.  The SQLite store is unchanged.\n"));
	return (TK_EXIT_FAIL);
}

int
tk_cmd_migrate_store(struct tk_adm *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, TK_OPT_FROM },
		{ "to", required_argument, NULL, TK_OPT_TO },
		{ "daemon", required_argument, NULL, TK_OPT_DAEMON },
		TK_ADM_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *from = NULL, *to = NULL, *daemon = TOKEND_PATH, *file;
	int ch, ex;

	while ((ch = tk_adm_getopt(c, "migrate-store", argc, argv, longopts,
	    &ex)) != -1) {
		switch (ch) {
		case TK_OPT_FROM:
			from = optarg;
			break;
		case TK_OPT_TO:
			to = optarg;
			break;
		case TK_OPT_DAEMON:
			if (optarg[0] != '/')
				return (tk_adm_usage("migrate-store",
				    _("--daemon needs an absolute path")));
			daemon = optarg;
			break;
		case 'h':
			tk_adm_help("migrate-store", stdout);
			return (TK_EXIT_OK);
		default:
			return (tk_adm_usage("migrate-store",
			    _("unknown option")));
		}
	}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (argc != optind || from == NULL)
		return (tk_adm_usage("migrate-store",
		    _("expected: migrate-store --from sqlite:FILE "
		    "[--to URL]")));
	if (strncmp(from, "sqlite:", 7) != 0 || from[7] != '/')
		return (tk_adm_usage("migrate-store",
		    _("--from needs sqlite: and an absolute path")));
	file = from + 7;
	if (to != NULL && (tk_adm_check_text(to, 1024) != 0 ||
	    (strncmp(to, "postgresql://", 13) != 0 &&
	    strncmp(to, "postgres://", 11) != 0 && strchr(to, '=') == NULL)))
		return (tk_adm_usage("migrate-store",
		    _("--to needs a postgresql:// URL or a libpq conninfo")));
	if (to != NULL && url_has_password(to))
		return (tk_adm_usage("migrate-store",
		    _("--to must not hold a password: put it in the tokend "
		    "account's ~/.pgpass or a service file")));
	if (geteuid() != 0) {
		fprintf(stderr, _("tokenadm: migrate-store: root only\n"));
		return (TK_EXIT_FAIL);
	}
	if ((ex = tk_adm_conf(c)) != TK_EXIT_OK)
		return (ex);
	if (to == NULL && (c->conf.store_url == NULL ||
	    c->conf.store_url[0] == '\0'))
		return (tk_adm_usage("migrate-store",
		    _("give --to, or set [store] url in tokend.conf")));
	if (daemon_running(c->conf.socket)) {
		fprintf(stderr, _("tokenadm: tokend is running (%s answers); "
		    "stop it first: systemctl stop tokend\n"), c->conf.socket);
		return (TK_EXIT_FAIL);
	}
	if ((ex = run_migrate(c, daemon, file, to)) != TK_EXIT_OK)
		return (ex);
	if (!c->json)
		printf(_("The store was copied to PostgreSQL and verified.  Set "
		    "[store] url in tokend.conf (if not yet) and start tokend; "
		    "keep %s as a backup until you are satisfied.\n"), file);
	return (TK_EXIT_OK);
}
