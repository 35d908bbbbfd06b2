/*
 * cmd_init.c -- tokenadm init: the directories, the master key and the
 * database of a new installation.
 *
 * MUST:
 * 1. An existing master key is never overwritten, truncated or
 *    re-owned: init refuses before creating anything.
 * 2. The key file is created new (O_EXCL, no link followed) with mode
 *    0400, filled from getrandom(2), synced to disk with its directory,
 *    and removed again if any step fails.  The key bytes are wiped.
 * 3. Existing directories are left as they are (a warning says when
 *    tokend's account does not own one it needs); new ones get their
 *    exact mode and, when the [tokend] account exists, its ownership.
 * 4. tokend -t runs with fork/execv (no shell), as the [tokend] account
 *    when init runs as root, so the database belongs to the daemon.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include "i18n.h"
#include "json.h"
#include "tokenadm.h"
#include "wipe.h"

#define MASTER_KEY_BYTES	32	/* tokend/seal.h TK_MASTER_KEY_BYTES */
#define MODE_SOCKET_DIR		0755
#define MODE_PRIVATE_DIR	0700
#define MODE_PARENT_DIR		0755	/* missing parents, as mkdir -p */
#define MODE_KEY		0400
#define NDIRS			3
#define EXIT_EXEC_FAILED	127	/* child could not run tokend */

struct owner {
	bool	 known;		/* the [tokend] account exists */
	uid_t	 uid;
	gid_t	 gid;
	char	*name;
};

struct dir {
	const char	*what;	/* for messages */
	char		*path;
	mode_t		 mode;
	bool		 created;
};

/* Returns a malloc'd copy of the directory part of an absolute path. */
static char *
dir_of(const char *path)
{
	char *d, *slash;

	if (path == NULL || path[0] != '/' || (d = strdup(path)) == NULL)
		return (NULL);
	slash = strrchr(d, '/');
	if (slash == d)
		slash[1] = '\0';	/* a file in / */
	else
		*slash = '\0';
	return (d);
}

/*
 * Creates `path' and its missing parents.  Only the last component gets
 * `mode'; *created says whether it was made now.  Returns 0 or -1 with
 * errno set.
 */
static int
make_dirs(char *path, mode_t mode, bool *created)
{
	struct stat st;
	char *p;
	bool last;

	*created = false;
	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0' || p[1] == '\0';
		*p = '\0';
		if (mkdir(path, last ? mode : MODE_PARENT_DIR) == 0) {
			/* the umask must not narrow the mode */
			if (chmod(path, last ? mode : MODE_PARENT_DIR) != 0)
				return (-1);
			if (last)
				*created = true;
		} else if (errno != EEXIST || stat(path, &st) != 0 ||
		    !S_ISDIR(st.st_mode)) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			return (-1);
		}
		if (last)
			return (0);
		*p = '/';
	}
}

/* Copies what happened to an earlier entry with the same path. */
static bool
same_dir(struct dir *dirs, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (strcmp(dirs[k].path, dirs[i].path) == 0) {
			dirs[i].created = dirs[k].created;
			return (true);
		}
	return (false);
}

/* Fills *o from the [tokend] user; o->known false when it is absent. */
static int
owner_lookup(const char *name, struct owner *o)
{
	struct passwd *pw;

	memset(o, 0, sizeof(*o));
	if (name == NULL || (pw = getpwnam(name)) == NULL)
		return (0);
	if ((o->name = strdup(pw->pw_name)) == NULL)
		return (-1);
	o->known = true;
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	return (0);
}

/* Is there an owner to give files to?  Not when it is ourselves. */
static bool
must_give(const struct owner *o)
{
	return (o->known && (o->uid != geteuid() || o->gid != getegid()));
}

/* Gives an open file to the owner; 0 or -1. */
static int
give_fd(const struct owner *o, int fd)
{
	return (must_give(o) ? fchown(fd, o->uid, o->gid) : 0);
}

/* Gives a path (never a link's target) to the owner; 0 or -1. */
static int
give_path(const struct owner *o, const char *path)
{
	return (must_give(o) ? lchown(path, o->uid, o->gid) : 0);
}

/* Fills buf with random bytes from the kernel; 0 or -1. */
static int
random_bytes(unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = getrandom(buf, len, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Writes all of buf to fd; 0 or -1. */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* fsync(2) of a directory, so a new entry in it survives a crash */
static int
sync_dir(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	r = fsync(fd);
	close(fd);
	return (r);
}

/* Creates the master key; TK_EXIT_OK or TK_EXIT_FAIL after a message. */
static int
make_key(const char *path, const char *dir, const struct owner *o)
{
	unsigned char key[MASTER_KEY_BYTES];
	const char *step;
	bool created = false;
	int fd = -1, ex = TK_EXIT_FAIL;

	step = "getrandom";
	if (random_bytes(key, sizeof(key)) != 0)
		goto fail;
	step = "open";
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, MODE_KEY)) == -1)
		goto fail;
	created = true;
	step = "chmod";
	if (fchmod(fd, MODE_KEY) != 0)
		goto fail;
	step = "chown";
	if (give_fd(o, fd) != 0)
		goto fail;
	step = "write";
	if (write_all(fd, key, sizeof(key)) != 0)
		goto fail;
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	step = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "fsync";
	if (sync_dir(dir) != 0)
		goto fail;

	ex = TK_EXIT_OK; /* success */
 fail:
	if (ex != TK_EXIT_OK)
		fprintf(stderr, _("tokenadm: master key %s: %s: %s\n"), path,
		    step, strerror(errno));
	tk_memzero(key, sizeof(key));
	if (fd != -1)
		close(fd);
	if (ex != TK_EXIT_OK && created)
		unlink(path);
	return (ex);
}

/* In the child: become the [tokend] account when we are root. */
static int
drop_to(const struct owner *o)
{
	if (!o->known || geteuid() != 0 || o->uid == 0)
		return (0);
	if (setgroups(0, NULL) != 0 || setgid(o->gid) != 0 ||
	    setuid(o->uid) != 0)
		return (-1);
	return (0);
}

/* Runs "tokend -t [-c FILE]"; TK_EXIT_OK or TK_EXIT_FAIL. */
static int
run_tokend(const char *daemon, char *conf_path, const struct owner *o)
{
	char arg0[] = "tokend", arg_t[] = "-t", arg_c[] = "-c";
	char *argv[5];
	pid_t pid;
	int status;

	argv[0] = arg0;
	argv[1] = arg_t;
	argv[2] = conf_path != NULL ? arg_c : NULL;
	argv[3] = conf_path;
	argv[4] = NULL;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "tokenadm: fork: %s\n", strerror(errno));
		return (TK_EXIT_FAIL);
	}
	if (pid == 0) {
		/* keep our stdout for our own output (JSON) */
		if (dup2(STDERR_FILENO, STDOUT_FILENO) == -1 ||
		    drop_to(o) != 0) {
			fprintf(stderr, "tokenadm: %s: %s\n", daemon,
			    strerror(errno));
			_exit(EXIT_EXEC_FAILED);
		}
		execv(daemon, argv);
		fprintf(stderr, "tokenadm: %s: %s\n", daemon, strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "tokenadm: waitpid: %s\n",
			    strerror(errno));
			return (TK_EXIT_FAIL);
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return (TK_EXIT_OK);
	if (WIFEXITED(status))
		fprintf(stderr, _("tokenadm: %s -t failed (exit %d); the "
		    "master key was created, run it again by hand\n"), daemon,
		    WEXITSTATUS(status));
	else
		fprintf(stderr, _("tokenadm: %s -t failed (signal %d); the "
		    "master key was created, run it again by hand\n"), daemon,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return (TK_EXIT_FAIL);
}

static int
print_json(const struct tk_adm *c, const struct dir *dirs)
{
	struct tk_json j;
	size_t i;

	tk_json_init(&j, stdout);
	tk_json_object_begin(&j);
	tk_json_key(&j, "master_key");
	tk_json_string(&j, c->conf.master_key);
	tk_json_key(&j, "database");
	tk_json_string(&j, c->conf.database);
	tk_json_key(&j, "directories");
	tk_json_array_begin(&j);
	for (i = 0; i < NDIRS; i++) {
		tk_json_object_begin(&j);
		tk_json_key(&j, "path");
		tk_json_string(&j, dirs[i].path);
		tk_json_key(&j, "created");
		tk_json_bool(&j, dirs[i].created);
		tk_json_object_end(&j);
	}
	tk_json_array_end(&j);
	tk_json_object_end(&j);
	return (tk_json_finish(&j) == 0 ? TK_EXIT_OK : TK_EXIT_FAIL);
}

/* Parses init's arguments; TK_EXIT_OK, -1 after --help, or usage. */
static int
init_args(struct tk_adm *c, int argc, char **argv, const char **daemon)
{
	static const struct option opts[] = {
		TK_ADM_LONGOPTS,
		{ "daemon", required_argument, NULL, TK_OPT_DAEMON },
		{ NULL, 0, NULL, 0 }
	};
	int ch, ex;

	*daemon = TOKEND_PATH;
	while ((ch = tk_adm_getopt(c, "init", argc, argv, opts, &ex)) != -1)
		switch (ch) {
		case 'h':
			tk_adm_help("init", stdout);
			return (-1);
		case TK_OPT_DAEMON:
			if (optarg[0] != '/')
				return (tk_adm_usage("init",
				    _("--daemon needs an absolute path")));
			*daemon = optarg;
			break;
		default:
			return (tk_adm_usage("init", _("unknown option")));
		}
	if (ex != TK_EXIT_OK)
		return (ex);
	if (optind != argc)
		return (tk_adm_usage("init", _("too many arguments")));
	return (TK_EXIT_OK);
}

int
tk_cmd_init(struct tk_adm *c, int argc, char **argv)
{
	struct dir dirs[NDIRS];
	struct owner o;
	struct stat st;
	const char *daemon;
	size_t i;
	int ex;

	memset(dirs, 0, sizeof(dirs));
	memset(&o, 0, sizeof(o));
	if ((ex = init_args(c, argc, argv, &daemon)) != TK_EXIT_OK)
		return (ex == -1 ? TK_EXIT_OK : ex);
	if ((ex = tk_adm_conf(c)) != TK_EXIT_OK)
		goto fail;
	ex = TK_EXIT_FAIL;

	if (lstat(c->conf.master_key, &st) == 0) {
		fprintf(stderr, _("tokenadm: master key %s exists; not "
		    "overwritten\n"), c->conf.master_key);
		goto fail;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "tokenadm: %s: %s\n", c->conf.master_key,
		    strerror(errno));
		goto fail;
	}
	dirs[0].what = "socket";
	dirs[0].path = dir_of(c->conf.socket);
	dirs[0].mode = MODE_SOCKET_DIR;
	dirs[1].what = "database";
	dirs[1].path = dir_of(c->conf.database);
	dirs[1].mode = MODE_PRIVATE_DIR;
	dirs[2].what = "master key";
	dirs[2].path = dir_of(c->conf.master_key);
	dirs[2].mode = MODE_PRIVATE_DIR;
	if (owner_lookup(c->conf.user, &o) != 0) {
		fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
		goto fail;
	}
	for (i = 0; i < NDIRS; i++)
		if (dirs[i].path == NULL) {
			fprintf(stderr, _("tokenadm: the %s path must be "
			    "absolute\n"), dirs[i].what);
			goto fail;
		}

	for (i = 0; i < NDIRS; i++) {
		if (i > 0 && same_dir(dirs, i))
			continue;
		if (make_dirs(dirs[i].path, dirs[i].mode,
		    &dirs[i].created) != 0) {
			fprintf(stderr, "tokenadm: mkdir %s: %s\n",
			    dirs[i].path, strerror(errno));
			goto fail;
		}
		if (dirs[i].created && give_path(&o, dirs[i].path) != 0) {
			fprintf(stderr, "tokenadm: chown %s %s: %s\n", o.name,
			    dirs[i].path, strerror(errno));
			goto fail;
		}
		if (dirs[i].created && !c->json)
			printf(_("Created directory %s\n"), dirs[i].path);
		if (!dirs[i].created && i > 0 && o.known &&
		    stat(dirs[i].path, &st) == 0 && st.st_uid != o.uid)
			fprintf(stderr, _("tokenadm: warning: %s is not owned "
			    "by %s\n"), dirs[i].path, o.name);
	}
	if ((ex = make_key(c->conf.master_key, dirs[2].path, &o)) !=
	    TK_EXIT_OK)
		goto fail;
	if (!c->json)
		printf(_("Created master key %s\n"), c->conf.master_key);
	if ((ex = run_tokend(daemon, c->conf.path, &o)) != TK_EXIT_OK)
		goto fail;
	if (c->json)
		ex = print_json(c, dirs);
	else
		printf(_("Database ready: %s\n"), c->conf.database);
 fail:
	for (i = 0; i < NDIRS; i++)
		free(dirs[i].path);
	free(o.name);
	return (ex);
}
