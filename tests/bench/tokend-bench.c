/*
 * tokend-bench.c -- N concurrent clients on the socket of a running
 * tokend, verifying TOTP codes of a population made by
 * tools/make-population (docs/performance.md).
 *
 * The mix: every request names a user of the secrets file that no
 * other request of the run names (client k takes users k, k + N, ...),
 * so each user gets at most one code a run and replay protection is
 * exercised honestly: a valid code is the user's code for the current
 * time step computed here with liboath, a wrong one is a code that
 * matches no step within +-2 (every -w'th request).  A user is never
 * used twice within one time step across runs as long as the runs use
 * disjoint ranges (-s FIRST) or a new step has begun (run-all.sh does).
 *
 * At the end the run is VERIFIED: every valid code must have been
 * answered OK exactly once, every wrong code WRONG, and a sample of the
 * accepted codes (-R) sent again must be refused as REPLAY.  Any other
 * answer, error or mismatch voids the figures: they are printed with
 * "VOID" and the exit status is 1.
 *
 * Output: one human line and one "RESULT key=value ..." line for
 * scripts: throughput, latency min/median/p99/max in microseconds,
 * tokend's VmRSS and VmHWM (kB, from /proc/PID/status; the pid comes
 * from -P or from SO_PEERCRED of the socket).
 *
 * FIDO2 (-F FRACTION): that fraction of the requests are FIDO2 logins
 * instead, FIDO2_BEGIN then FIDO2_FINISH with an assertion over the
 * challenge.  Before the timed run each client enrolls -K users of its
 * own through FIDO2_ENROLL_BEGIN/FINISH with its own software
 * authenticator (tests/softkey, the real libfido2; bench_fido2.h), and
 * signs each login's assertion with the credential's key, counter one
 * above the last.  Every -X'th accepted assertion is sent again at once
 * and must be refused (REPLAY: the challenge is burnt); a replay is a
 * failure for tokend's throttle, so that user rests -D seconds before
 * its next login.  Verified at the end: every FIDO2_BEGIN answered OK,
 * every assertion answered OK exactly once (no challenge id twice),
 * every replay REPLAY.  -F 1 needs no secrets file.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fido.h>
#include <liboath/oath.h>

#include "bench_fido2.h"
#include "bench_secrets.h"
#include "client.h"
#include "err.h"
#include "msg.h"
#include "proto.h"

#define BENCH_CLIENTS_MAX	1024
#define BENCH_TIMEOUT_MS	30000

struct bench_opts {
	const char	*socket;
	const char	*secrets;
	size_t		 first;
	size_t		 users;		/* 0: all loaded */
	unsigned	 clients;
	double		 duration;	/* s */
	unsigned	 wrong_every;	/* 0: no wrong codes */
	unsigned	 replay_sample;
	long		 pid;
	bool		 reconnect;	/* one connection a request, as PAM */
	const char	*record;	/* -O: answers to this file */
	const char	*spawn;		/* -Y: start this tokend, time it */
	const char	*spawn_conf;
	const char	*spawn_log;
	double		 fido2;		/* -F: fraction of FIDO2 logins */
	unsigned	 fido2_users;	/* -K: a client */
	unsigned	 fido2_replay;	/* -X: every X'th accepted, again */
	double		 fido2_rest;	/* -D: s a user rests after a replay */
};

/* a growable array of latencies (FIDO2 logins are not bounded by users) */
struct bench_lat {
	uint64_t	*v;
	size_t		 n, cap;
};

/* a code answered OK: sent again at the end, it must be refused */
struct bench_acc {
	size_t		 user;
	char		 code[BENCH_CODE_MAX];
};

/* -O: one line a request, "USER CODE STATUS" (a number; -1: no answer) */
struct bench_rec {
	size_t		 user;
	char		 code[BENCH_CODE_MAX];
	int		 status;
};

struct bench_client {
	pthread_t		 th;
	unsigned		 k;
	const struct bench_opts	*o;
	const struct bench_user	*users;
	size_t			 nusers;
	uint64_t		 deadline_ns;
	uint64_t		*lat;		/* ns, one a request */
	size_t			 nlat;
	struct bench_acc	*accepted;	/* answered OK */
	struct bench_rec	*recs;		/* -O */
	size_t			 nrecs;
	size_t			 naccepted;
	uint64_t		 sent_valid, sent_wrong;
	uint64_t		 ok, wrong, other, errors;
	uint64_t		 bad_valid;	/* valid code not OK */
	uint64_t		 bad_wrong;	/* wrong code not WRONG */
	char			 first_err[160];
	/* FIDO2 */
	struct bench_fkey	*fkey;
	struct bench_fuser	*fusers;
	size_t			 fnext;		/* round robin */
	struct bench_lat	 flat;		/* FINISH, ns */
	struct bench_lat	 flogin;	/* BEGIN + FINISH, ns */
	struct bench_lat	 fchid;		/* challenge ids accepted */
	uint64_t		 f_sent, f_ok, f_bad, f_replays, f_replay_bad;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: tokend-bench -S SOCKET -f SECRETS [-c CLIENTS] [-t SECONDS]\n"
"                    [-s FIRST] [-n USERS] [-w EVERY] [-R SAMPLE]\n"
"                    [-P PID] [-r] [-F FRACTION [-K USERS] [-X EVERY]\n"
"                    [-D SECONDS]]\n"
"  -S  tokend's socket            -f  secrets file of make-population\n"
"  -c  concurrent clients (64)    -t  run at most SECONDS (10)\n"
"  -s  first line of the file (0) -n  users to use (0: all after -s)\n"
"  -w  every EVERY'th request is a wrong code (10; 0: none)\n"
"  -R  accepted codes sent again, expecting REPLAY (1000)\n"
"  -P  tokend's pid for RSS (default: SO_PEERCRED of the socket)\n"
"  -r  a new connection for every request (as pam_tokend does)\n"
"  -F  fraction of the requests that are FIDO2 logins (0; 1: only FIDO2,\n"
"      -f not needed)         -K  FIDO2 users enrolled a client (8)\n"
"  -X  every EVERY'th accepted assertion sent again, expecting REPLAY\n"
"      (100; 0: none)         -D  s a user rests after its replay (3)\n"
"  -O  write \"USER CODE STATUS\" a request to FILE and judge nothing\n"
"      (the fault tests compare two runs; exit 0 when every request ran)\n"
"   or: tokend-bench -S SOCKET -Y TOKEND -C CONF -L LOG\n"
"  starts TOKEND -f -c CONF (output to LOG), prints the time from the\n"
"  fork to its first answer on SOCKET (start to ready) and its pid, and\n"
"  leaves it running\n");
}

static void
client_err(struct bench_client *c, const char *what, int r)
{
	c->errors++;
	if (c->first_err[0] == '\0')
		(void)snprintf(c->first_err, sizeof(c->first_err),
		    "client %u: %s: %s", c->k, what, tk_strerr(r));
}

/* one TOTP_VERIFY; *st the answer's status; 0 or a TK_ERR_* */
static int
verify(tk_client_t **clp, const struct bench_opts *o, const char *user,
    const char *code, enum tk_status *st)
{
	tk_msg_t *rq = NULL, *an = NULL;
	int r;

	*st = TK_ST_INTERNAL;
	if (*clp == NULL && (r = tk_client_open(o->socket, BENCH_TIMEOUT_MS,
	    (uid_t)-1, clp)) != 0)
		return (r);
	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_TOTP_VERIFY)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(rq, TK_KEY_USER, user)) != 0 ||
	    (r = tk_msg_set_text(rq, TK_KEY_CODE, code)) != 0 ||
	    (r = tk_msg_set_text(rq, TK_KEY_SERVICE, "bench")) != 0)
		goto fail;
	if ((r = tk_client_call(*clp, rq, &an)) != 0) {
		tk_client_close(clp);
		goto fail;
	}
	*st = tk_msg_status(an);
	if (o->reconnect)
		tk_client_close(clp);

	r = 0; /* success */
fail:
	tk_msg_free(&rq);
	tk_msg_free(&an);
	return (r);
}

static int
lat_push(struct bench_lat *l, uint64_t v)
{
	uint64_t *p;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? 1024 : 2 * l->cap;
		if ((p = realloc(l->v, cap * sizeof(*p))) == NULL)
			return (-1);
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return (0);
}

/* a request on *clp (opened when NULL); 0 or a TK_ERR_* */
static int
call(tk_client_t **clp, const struct bench_opts *o, const tk_msg_t *rq,
    tk_msg_t **an)
{
	int r;

	if (*clp == NULL && (r = tk_client_open(o->socket, BENCH_TIMEOUT_MS,
	    (uid_t)-1, clp)) != 0)
		return (r);
	if ((r = tk_client_call(*clp, rq, an)) != 0) {
		tk_client_close(clp);
		return (r);
	}
	if (o->reconnect)
		tk_client_close(clp);
	return (0);
}

/* the next FIDO2 user of client c not resting after a replay */
static struct bench_fuser *
fido2_pick(struct bench_client *c, uint64_t now, size_t *idx)
{
	unsigned n = c->o->fido2_users, i;

	for (i = 0; i < n; i++) {
		*idx = (c->fnext + i) % n;
		if (c->fusers[*idx].cool_until_ns <= now) {
			c->fnext = *idx + 1;
			return (&c->fusers[*idx]);
		}
	}
	return (NULL);
}

/* users of client c other than `self' that may log in now */
static unsigned
fido2_ready(const struct bench_client *c, size_t self, uint64_t now)
{
	unsigned i, k = 0;

	for (i = 0; i < c->o->fido2_users; i++)
		if (i != self && c->fusers[i].cool_until_ns <= now)
			k++;
	return (k);
}

/*
 * One FIDO2 login: FIDO2_BEGIN, the assertion, FIDO2_FINISH (timed
 * without the signing in the bench), and every -X'th time the same
 * FINISH again, which must be refused.
 */
static void
fido2_login(struct bench_client *c, tk_client_t **clp)
{
	const struct bench_opts *o = c->o;
	unsigned char authdata[BENCH_FIDO2_AUTHDATA], sig[BENCH_FIDO2_SIG_MAX];
	unsigned char challenge[BENCH_FIDO2_CHALLENGE];
	const unsigned char *p;
	struct bench_fuser *u;
	tk_msg_t *rq = NULL, *an = NULL;
	uint64_t t0, t1, t2, t3, chid = 0;
	size_t len, siglen, idx;
	int r;

	if ((u = fido2_pick(c, bench_now_ns(), &idx)) == NULL)
		return;		/* cannot happen: one always rests less */
	c->f_sent++;
	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_BEGIN)) == NULL ||
	    tk_msg_set_text(rq, TK_KEY_USER, u->name) != 0 ||
	    tk_msg_set_text(rq, TK_KEY_SERVICE, "bench") != 0) {
		client_err(c, "FIDO2_BEGIN", TK_ERR_NOMEM);
		goto bad;
	}
	t0 = bench_now_ns();
	if ((r = call(clp, o, rq, &an)) != 0) {
		client_err(c, "FIDO2_BEGIN", r);
		goto bad;
	}
	t1 = bench_now_ns();
	if (tk_msg_status(an) != TK_ST_OK ||
	    tk_msg_get_uint(an, TK_KEY_CHALLENGE_ID, &chid) != 0 ||
	    tk_msg_get_bytes(an, TK_KEY_CHALLENGE, &p, &len) != 0 ||
	    len != sizeof(challenge)) {
		client_err(c, "FIDO2_BEGIN answer", TK_ERR_PROTO);
		goto bad;
	}
	memcpy(challenge, p, len);
	tk_msg_free(&an);
	tk_msg_free(&rq);
	if (bench_fido2_sign(u, challenge, authdata, sig, &siglen) != 0) {
		client_err(c, "ES256 signature", TK_ERR_CRYPTO);
		goto bad;
	}
	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_FIDO2_FINISH)) == NULL ||
	    tk_msg_set_text(rq, TK_KEY_USER, u->name) != 0 ||
	    tk_msg_set_uint(rq, TK_KEY_CHALLENGE_ID, chid) != 0 ||
	    tk_msg_set_bytes(rq, TK_KEY_CRED_ID, u->cred_id,
	    u->cred_id_len) != 0 ||
	    tk_msg_set_bytes(rq, TK_KEY_AUTHDATA, authdata,
	    sizeof(authdata)) != 0 ||
	    tk_msg_set_bytes(rq, TK_KEY_SIG, sig, siglen) != 0 ||
	    tk_msg_set_text(rq, TK_KEY_SERVICE, "bench") != 0) {
		client_err(c, "FIDO2_FINISH", TK_ERR_NOMEM);
		goto bad;
	}
	t2 = bench_now_ns();
	if ((r = call(clp, o, rq, &an)) != 0) {
		client_err(c, "FIDO2_FINISH", r);
		goto bad;
	}
	t3 = bench_now_ns();
	if (tk_msg_status(an) != TK_ST_OK) {
		if (c->first_err[0] == '\0')
			(void)snprintf(c->first_err, sizeof(c->first_err),
			    "client %u: FIDO2_FINISH of %s: %s", c->k,
			    u->name, tk_status_name(tk_msg_status(an)));
		goto bad;
	}
	tk_msg_free(&an);
	c->f_ok++;
	if (lat_push(&c->flat, t3 - t2) != 0 ||
	    lat_push(&c->flogin, (t1 - t0) + (t3 - t2)) != 0 ||
	    lat_push(&c->fchid, chid) != 0) {
		client_err(c, "latencies", TK_ERR_NOMEM);
		goto out;
	}
	/* the same assertion again: the challenge is burnt */
	if (o->fido2_replay > 0 && c->f_ok % o->fido2_replay == 0 &&
	    fido2_ready(c, idx, bench_now_ns()) > 0) {
		c->f_replays++;
		if ((r = call(clp, o, rq, &an)) != 0) {
			client_err(c, "FIDO2_FINISH replay", r);
			c->f_replay_bad++;
		} else if (tk_msg_status(an) != TK_ST_REPLAY)
			c->f_replay_bad++;
		/* a failure for the throttle: rest past its delay */
		u->cool_until_ns = bench_now_ns() +
		    (uint64_t)(o->fido2_rest * 1e9);
	}
	goto out;
bad:
	c->f_bad++;
out:
	tk_msg_free(&rq);
	tk_msg_free(&an);
}

static void *
client_main(void *arg)
{
	struct bench_client *c = arg;
	const struct bench_opts *o = c->o;
	const struct bench_user *u;
	tk_client_t *cl = NULL;
	char code[BENCH_CODE_MAX];
	enum tk_status st;
	uint64_t t0, t1, seq, tseq, g;
	size_t i, ui;
	bool wrong;
	int r;

	for (i = c->k, seq = 0, g = c->k;; g += o->clients) {
		if (bench_now_ns() >= c->deadline_ns)
			break;
		/* request number g is FIDO2 when it crosses a multiple */
		if (o->fido2 > 0 && (uint64_t)((double)(g + 1) * o->fido2) !=
		    (uint64_t)((double)g * o->fido2)) {
			fido2_login(c, &cl);
			continue;
		}
		if (i >= c->nusers)
			break;
		ui = i;
		i += o->clients;
		tseq = seq++;
		u = &c->users[ui];
		/* the global TOTP request number decides the mix */
		wrong = o->wrong_every > 0 &&
		    (tseq * o->clients + c->k) % o->wrong_every ==
		    o->wrong_every - 1;
		if ((wrong ? bench_wrong_code(u, time(NULL), 2, code) :
		    bench_code(u, time(NULL), code)) != 0) {
			client_err(c, "liboath", TK_ERR_CRYPTO);
			break;
		}
		t0 = bench_now_ns();
		r = verify(&cl, o, u->name, code, &st);
		t1 = bench_now_ns();
		if (wrong)
			c->sent_wrong++;
		else
			c->sent_valid++;
		if (r != 0 && c->recs != NULL) {
			c->recs[c->nrecs].user = ui;
			memcpy(c->recs[c->nrecs].code, code, sizeof(code));
			c->recs[c->nrecs++].status = -1;
		}
		if (r != 0) {
			client_err(c, "TOTP_VERIFY", r);
			if (wrong)
				c->bad_wrong++;
			else
				c->bad_valid++;
			continue;
		}
		if (c->recs != NULL) {
			c->recs[c->nrecs].user = ui;
			memcpy(c->recs[c->nrecs].code, code, sizeof(code));
			c->recs[c->nrecs++].status = r != 0 ? -1 : (int)st;
		}
		c->lat[c->nlat++] = t1 - t0;
		if (st == TK_ST_OK)
			c->ok++;
		else if (st == TK_ST_WRONG)
			c->wrong++;
		else
			c->other++;
		if (wrong && st != TK_ST_WRONG)
			c->bad_wrong++;
		if (!wrong && st != TK_ST_OK)
			c->bad_valid++;
		if (!wrong && st == TK_ST_OK) {
			c->accepted[c->naccepted].user = ui;
			memcpy(c->accepted[c->naccepted++].code, code,
			    sizeof(code));
		}
	}
	tk_client_close(&cl);
	return (NULL);
}

/* the pid of the process listening on `path' */
static long
peer_pid(const char *path)
{
	struct sockaddr_un sun;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	long pid = -1;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return (-1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		pid = (long)cr.pid;
	(void)close(fd);
	return (pid);
}

/* VmRSS and VmHWM of `pid' in kB (0 when unknown) */
static void
rss_of(long pid, uint64_t *rss, uint64_t *hwm)
{
	char path[64], line[256];
	unsigned long long v;
	FILE *f;

	*rss = *hwm = 0;
	(void)snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*rss = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			*hwm = v;
	}
	(void)fclose(f);
}

/*
 * -Y: forks and execs tokend, then asks USER_STATUS every 200 us until
 * an answer comes.  Prints "RESULT ready_ms=... pid=...".
 */
static int
spawn_ready(const struct bench_opts *o)
{
	tk_client_t *cl = NULL;
	tk_msg_t *rq = NULL, *an = NULL;
	uint64_t t0, t;
	pid_t pid;
	int fd, status;

	t0 = bench_now_ns();
	if ((pid = fork()) < 0) {
		perror("fork");
		return (2);
	}
	if (pid == 0) {
		if ((fd = open(o->spawn_log, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		(void)setsid();
		execl(o->spawn, o->spawn, "-f", "-c", o->spawn_conf,
		    (char *)NULL);
		_exit(127);
	}
	if ((rq = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_STATUS)) == NULL ||
	    tk_msg_set_text(rq, TK_KEY_USER, "ready-probe") != 0)
		return (2);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "tokend-bench: tokend exited at "
			    "start (see %s)\n", o->spawn_log);
			return (1);
		}
		if (tk_client_open(o->socket, 1000, (uid_t)-1, &cl) == 0 &&
		    tk_client_call(cl, rq, &an) == 0)
			break;
		tk_client_close(&cl);
		if (bench_now_ns() - t0 > 30000000000ULL) {
			fprintf(stderr, "tokend-bench: no answer in 30 s\n");
			return (1);
		}
		(void)usleep(200);
	}
	t = bench_now_ns();
	printf("RESULT ready_ms=%.1f pid=%ld status=%s\n",
	    (double)(t - t0) / 1e6, (long)pid,
	    tk_status_name(tk_msg_status(an)));
	tk_msg_free(&an);
	tk_msg_free(&rq);
	tk_client_close(&cl);
	return (0);
}

static int
parse_opts(int argc, char **argv, struct bench_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->clients = 64;
	o->duration = 10;
	o->wrong_every = 10;
	o->replay_sample = 1000;
	o->pid = -1;
	o->fido2_users = 8;
	o->fido2_replay = 100;
	o->fido2_rest = 3;
	while ((ch = getopt(argc, argv,
	    "S:f:c:t:s:n:w:R:P:rF:K:X:D:Y:C:L:O:h")) !=
	    -1) {
		switch (ch) {
		case 'S': o->socket = optarg; break;
		case 'f': o->secrets = optarg; break;
		case 'c': o->clients = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't': o->duration = strtod(optarg, NULL); break;
		case 's': o->first = strtoul(optarg, NULL, 10); break;
		case 'n': o->users = strtoul(optarg, NULL, 10); break;
		case 'w': o->wrong_every = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R': o->replay_sample = (unsigned)strtoul(optarg, NULL,
		    10);
			break;
		case 'P': o->pid = strtol(optarg, NULL, 10); break;
		case 'r': o->reconnect = true; break;
		case 'F': o->fido2 = strtod(optarg, NULL); break;
		case 'K': o->fido2_users = (unsigned)strtoul(optarg, NULL,
		    10);
			break;
		case 'X': o->fido2_replay = (unsigned)strtoul(optarg, NULL,
		    10);
			break;
		case 'D': o->fido2_rest = strtod(optarg, NULL); break;
		case 'Y': o->spawn = optarg; break;
		case 'O': o->record = optarg; break;
		case 'C': o->spawn_conf = optarg; break;
		case 'L': o->spawn_log = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return (-1);
		}
	}
	if (o->spawn != NULL)
		return (optind == argc && o->socket != NULL &&
		    o->spawn_conf != NULL && o->spawn_log != NULL ? 0 : -1);
	if (optind != argc || o->socket == NULL ||
	    (o->secrets == NULL && o->fido2 < 1) ||
	    o->clients == 0 || o->clients > BENCH_CLIENTS_MAX ||
	    o->duration <= 0 || o->wrong_every == 1 ||
	    o->fido2 < 0 || o->fido2 > 1 || o->fido2_rest < 0 ||
	    (o->fido2 > 0 && (o->fido2_users < 2 ||
	    o->fido2_users > 10000)) || (o->fido2 > 0 && o->record != NULL))
		return (-1);
	return (0);
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_client *cs = NULL;
	struct bench_user *users = NULL;
	tk_client_t *cl = NULL;
	uint64_t *all = NULL, pct[4], t0, t1, rss = 0, hwm = 0;
	uint64_t sent_valid = 0, sent_wrong = 0, ok = 0, wrong = 0, other = 0;
	uint64_t errors = 0, bad_valid = 0, bad_wrong = 0, replays = 0;
	uint64_t replay_bad = 0;
	uint64_t f_sent = 0, f_ok = 0, f_bad = 0, f_replays = 0;
	uint64_t f_replay_bad = 0, f_dup = 0, fpct[4], lpct[4];
	struct bench_lat fall = { NULL, 0, 0 }, lall = { NULL, 0, 0 };
	struct bench_lat call_ids = { NULL, 0, 0 };
	enum tk_status st;
	size_t nusers = 0, nall = 0, per, i, j, k;
	const char *first_err = NULL;
	char fdir[] = "/tmp/tokend-bench.XXXXXX", prefix[24];
	double secs;
	bool valid;
	int status = 1;

	if (parse_opts(argc, argv, &o) != 0) {
		usage(stderr);
		return (2);
	}
	if (o.spawn != NULL)
		return (spawn_ready(&o));
	if (oath_init() != OATH_OK || (o.secrets != NULL &&
	    bench_secrets_load(o.secrets, o.first, o.users, &users,
	    &nusers) != 0))
		return (2);
	if (o.fido2 < 1 && nusers < o.clients) {
		fprintf(stderr, "tokend-bench: %zu users for %u clients\n",
		    nusers, o.clients);
		return (2);
	}
	if (o.pid <= 0)
		o.pid = peer_pid(o.socket);
	per = nusers / o.clients + 1;
	if ((cs = calloc(o.clients, sizeof(*cs))) == NULL)
		return (2);
	if (o.fido2 > 0) {
		/* untimed: each client's users, on its own soft key */
		fido_init(0);
		if (mkdtemp(fdir) == NULL) {
			perror("mkdtemp");
			return (2);
		}
		(void)snprintf(prefix, sizeof(prefix), "fb%lx",
		    ((unsigned long)time(NULL) << 16 ^ (unsigned long)getpid()) &
		    0xffffffffUL);
		t0 = bench_now_ns();
		for (k = 0; k < o.clients; k++) {
			char pk[sizeof(prefix) + 12];

			(void)snprintf(pk, sizeof(pk), "%s-%zu", prefix, k);
			if ((cs[k].fusers = calloc(o.fido2_users,
			    sizeof(*cs[k].fusers))) == NULL ||
			    bench_fkey_enroll(o.socket, fdir, (unsigned)k, pk,
			    o.fido2_users, &cs[k].fkey, cs[k].fusers) != 0) {
				fprintf(stderr, "tokend-bench: FIDO2 enrollment "
				    "failed\n");
				for (j = 0; j <= k; j++)
					bench_fkey_close(&cs[j].fkey);
				(void)rmdir(fdir);
				return (2);
			}
		}
		fprintf(stderr, "tokend-bench: %u FIDO2 users enrolled "
		    "(users %s-*) in %.2f s\n", o.clients * o.fido2_users,
		    prefix, (double)(bench_now_ns() - t0) / 1e9);
	}
	t0 = bench_now_ns();
	for (k = 0; k < o.clients; k++) {
		cs[k].k = (unsigned)k;
		cs[k].o = &o;
		cs[k].users = users;
		cs[k].nusers = nusers;
		cs[k].deadline_ns = t0 + (uint64_t)(o.duration * 1e9);
		if ((cs[k].lat = calloc(per, sizeof(uint64_t))) == NULL ||
		    (cs[k].accepted = calloc(per,
		    sizeof(struct bench_acc))) == NULL ||
		    (o.record != NULL && (cs[k].recs = calloc(per,
		    sizeof(struct bench_rec))) == NULL))
			return (2);
	}
	for (k = 0; k < o.clients; k++)
		if (pthread_create(&cs[k].th, NULL, client_main, &cs[k]) != 0) {
			perror("pthread_create");
			return (2);
		}
	for (k = 0; k < o.clients; k++)
		(void)pthread_join(cs[k].th, NULL);
	t1 = bench_now_ns();
	rss_of(o.pid, &rss, &hwm);

	if ((all = calloc(nusers + 1, sizeof(*all))) == NULL)
		return (2);
	for (k = 0; k < o.clients; k++) {
		memcpy(all + nall, cs[k].lat, cs[k].nlat * sizeof(*all));
		nall += cs[k].nlat;
		sent_valid += cs[k].sent_valid;
		sent_wrong += cs[k].sent_wrong;
		ok += cs[k].ok;
		wrong += cs[k].wrong;
		other += cs[k].other;
		errors += cs[k].errors;
		bad_valid += cs[k].bad_valid;
		bad_wrong += cs[k].bad_wrong;
		if (first_err == NULL && cs[k].first_err[0] != '\0')
			first_err = cs[k].first_err;
		f_sent += cs[k].f_sent;
		f_ok += cs[k].f_ok;
		f_bad += cs[k].f_bad;
		f_replays += cs[k].f_replays;
		f_replay_bad += cs[k].f_replay_bad;
		for (i = 0; i < cs[k].flat.n; i++)
			if (lat_push(&fall, cs[k].flat.v[i]) != 0 ||
			    lat_push(&lall, cs[k].flogin.v[i]) != 0 ||
			    lat_push(&call_ids, cs[k].fchid.v[i]) != 0)
				return (2);
	}
	bench_percentiles(fall.v, fall.n, fpct);
	bench_percentiles(lall.v, lall.n, lpct);
	/* every challenge accepted once: sorted, no id twice */
	bench_percentiles(call_ids.v, call_ids.n, pct);
	for (i = 1; i < call_ids.n; i++)
		if (call_ids.v[i] == call_ids.v[i - 1])
			f_dup++;
	secs = (double)(t1 - t0) / 1e9;
	bench_percentiles(all, nall, pct);
	if (o.record != NULL) {
		FILE *rf;

		if ((rf = fopen(o.record, "w")) == NULL) {
			perror(o.record);
			return (2);
		}
		for (k = 0; k < o.clients; k++)
			for (i = 0; i < cs[k].nrecs; i++)
				fprintf(rf, "%s %s %d\n",
				    users[cs[k].recs[i].user].name,
				    cs[k].recs[i].code, cs[k].recs[i].status);
		if (fclose(rf) != 0) {
			perror(o.record);
			return (2);
		}
		printf("tokend-bench: %zu answers recorded in %s\n",
		    (size_t)(sent_valid + sent_wrong), o.record);
		return (sent_valid + sent_wrong == nusers ? 0 : 1);
	}

	/* replay: accepted codes again, in the same step, must be refused */
	for (k = 0, j = 0; k < o.clients && j < o.replay_sample; k++)
		for (i = 0; i < cs[k].naccepted && j < o.replay_sample;
		    i += 1 + cs[k].naccepted / (o.replay_sample / o.clients +
		    1), j++) {
			const struct bench_acc *a = &cs[k].accepted[i];

			if (verify(&cl, &o, users[a->user].name, a->code,
			    &st) != 0) {
				replay_bad++;
				continue;
			}
			replays++;
			/* REPLAY, or WRONG once the step has moved on */
			if (st != TK_ST_REPLAY && st != TK_ST_WRONG)
				replay_bad++;
		}
	tk_client_close(&cl);

	valid = errors == 0 && bad_valid == 0 && bad_wrong == 0 &&
	    other == 0 && replay_bad == 0 && ok == sent_valid &&
	    wrong == sent_wrong && nall + f_ok > 0 && f_bad == 0 &&
	    f_ok == f_sent && f_replay_bad == 0 && f_dup == 0 &&
	    (o.fido2 < 1 || f_ok > 0) && (o.fido2 > 0 || nall > 0);
	if (o.fido2 > 0) {
		printf("tokend-bench: FIDO2: %" PRIu64 " logins in %.2f s: "
		    "%.0f assertion verifications/s; FIDO2_FINISH latency "
		    "us min %.0f median %.0f p99 %.0f max %.0f; "
		    "BEGIN+FINISH median %.0f p99 %.0f; accepted %" PRIu64
		    "/%" PRIu64 ", replays refused %" PRIu64 "/%" PRIu64
		    ", challenge ids twice %" PRIu64 "\n", f_sent, secs,
		    (double)f_ok / secs, fpct[0] / 1e3, fpct[1] / 1e3,
		    fpct[2] / 1e3, fpct[3] / 1e3, lpct[1] / 1e3,
		    lpct[2] / 1e3, f_ok, f_sent, f_replays - f_replay_bad,
		    f_replays, f_dup);
		printf("RESULT_FIDO2 clients=%u users=%u logins=%" PRIu64
		    " seconds=%.3f rate=%.0f min_us=%.0f median_us=%.0f "
		    "p99_us=%.0f max_us=%.0f login_median_us=%.0f "
		    "login_p99_us=%.0f accepted=%" PRIu64 " replays=%" PRIu64
		    " replays_refused=%" PRIu64 " verified=%s\n", o.clients,
		    o.clients * o.fido2_users, f_sent, secs,
		    (double)f_ok / secs, fpct[0] / 1e3, fpct[1] / 1e3,
		    fpct[2] / 1e3, fpct[3] / 1e3, lpct[1] / 1e3,
		    lpct[2] / 1e3, f_ok, f_replays, f_replays - f_replay_bad,
		    valid ? "yes" : "no");
	}
	printf("tokend-bench: %u clients, %" PRIu64 " requests in %.2f s: "
	    "%.0f verifications/s; latency us min %.0f median %.0f "
	    "p99 %.0f max %.0f; tokend VmRSS %" PRIu64 " kB VmHWM %" PRIu64
	    " kB; ok %" PRIu64 "/%" PRIu64 " wrong %" PRIu64 "/%" PRIu64
	    " replay-checked %" PRIu64 " -> %s\n", o.clients,
	    (uint64_t)nall, secs, (double)nall / secs, pct[0] / 1e3,
	    pct[1] / 1e3, pct[2] / 1e3, pct[3] / 1e3, rss, hwm, ok,
	    sent_valid, wrong, sent_wrong, replays,
	    valid ? "VERIFIED" : "VOID");
	printf("RESULT clients=%u requests=%zu seconds=%.3f rate=%.0f "
	    "min_us=%.0f median_us=%.0f p99_us=%.0f max_us=%.0f "
	    "rss_kb=%" PRIu64 " hwm_kb=%" PRIu64 " valid=%" PRIu64
	    " wrong=%" PRIu64 " replay_checked=%" PRIu64 " verified=%s\n",
	    o.clients, nall, secs, (double)nall / secs, pct[0] / 1e3,
	    pct[1] / 1e3, pct[2] / 1e3, pct[3] / 1e3, rss, hwm, sent_valid,
	    sent_wrong, replays, valid ? "yes" : "no");
	if (!valid) {
		fprintf(stderr, "tokend-bench: VOID: errors %" PRIu64
		    ", valid not ok %" PRIu64 ", wrong not refused %" PRIu64
		    ", other answers %" PRIu64 ", replay not refused %"
		    PRIu64 ", FIDO2 logins failed %" PRIu64 ", FIDO2 replays "
		    "not refused %" PRIu64 ", challenges accepted twice %"
		    PRIu64 "%s%s\n", errors, bad_valid, bad_wrong, other,
		    replay_bad, f_bad, f_replay_bad, f_dup,
		    first_err != NULL ? "; first: " : "",
		    first_err != NULL ? first_err : "");
		if (ok + wrong + other + errors == 0)
			fprintf(stderr, "tokend-bench: no request ran\n");
	} else
		status = 0;
	for (k = 0; k < o.clients; k++) {
		free(cs[k].lat);
		free(cs[k].accepted);
		free(cs[k].recs);
		free(cs[k].flat.v);
		free(cs[k].flogin.v);
		free(cs[k].fchid.v);
		free(cs[k].fusers);
		bench_fkey_close(&cs[k].fkey);
	}
	if (o.fido2 > 0)
		(void)rmdir(fdir);
	free(fall.v);
	free(lall.v);
	free(call_ids.v);
	free(cs);
	free(all);
	free(users);
	return (status);
}
