/*
 * pam-bench.c -- the PAM-level benchmark: pam_start -> pam_authenticate
 * -> pam_end in a loop over the users of a secrets file (the format of
 * tools/make-population), timing pam_authenticate only.  The same
 * program drives pam_tokend.so, pam_oath and
 * google-authenticator-libpam: only the pam_wrapper service file
 * differs (run-all.sh writes them), so the comparison is one method.
 *
 * It runs with pam_wrapper preloaded (PAM_WRAPPER=1,
 * PAM_WRAPPER_SERVICE_DIR), like tests/pam/pamdriver.
 *
 * The clock.  Every module refuses a code twice in one time step, so a
 * store of one user allows one login a step.  With -F FILE the run
 * uses libfaketime's timestamp file (FAKETIME_TIMESTAMP_FILE=FILE,
 * FAKETIME_NO_CACHE=1, FAKETIME_DONT_FAKE_MONOTONIC=1, TZ=UTC), which
 * tokend and this program (hence pam_oath and google-authenticator,
 * which read the clock inside it) both preload: before login i the
 * frozen clock is set, untimed, to START + 30 i + 10 s, so every login
 * is in a new step, and user i mod M logs in with its code of that
 * step.  Without -F the real clock is used and every user at most once.
 *
 * Checks: every login must succeed (PAM_SUCCESS); with -w every
 * EVERY'th login sends a wrong code and must fail with PAM_AUTH_ERR;
 * at the end the last accepted code is sent again and must be refused.
 * Otherwise the figures are VOID and the exit status 1.
 *
 * Output: one human line and "RESULT label=... users=M logins=N
 * min_us= median_us= p99_us= max_us= txn_median_us= txn_p99_us=
 * verified=yes|no".  The min/median/p99/max figures time
 * pam_authenticate alone; txn_* time the whole transaction, pam_start
 * to pam_end, which includes libpam's dlopen and dlclose of the module
 * and of the libraries it links (paid by sshd, sudo and login at every
 * transaction).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>

#include "bench_secrets.h"

struct conv_data {
	const char	*answer;
	unsigned	 prompts;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct conv_data *cd = arg;
	struct pam_response *r;
	int i;

	if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return (PAM_CONV_ERR);
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		cd->prompts++;
		if ((r[i].resp = strdup(cd->answer)) == NULL)
			goto fail;
	}
	*resp = r;
	return (PAM_SUCCESS);
fail:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return (PAM_CONV_ERR);
}

/* sets the frozen fake clock to t (UTC), atomically */
static int
set_clock(const char *file, time_t t)
{
	char tmp[4096], buf[64];
	struct tm tm;
	FILE *f;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return (-1);
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((f = fopen(tmp, "w")) == NULL)
		return (-1);
	if (fprintf(f, "%s\n", buf) < 0 || fclose(f) != 0)
		return (-1);
	return (rename(tmp, file));
}

/*
 * one transaction; *rc of pam_authenticate, *ns its duration, *txn_ns
 * that of the whole transaction (pam_start to pam_end)
 */
static int
login(const char *service, const char *user, const char *code, int *rc,
    uint64_t *ns, uint64_t *txn_ns)
{
	struct conv_data cd = { code, 0 };
	struct pam_conv pc = { conv, &cd };
	pam_handle_t *h = NULL;
	uint64_t t0, txn0;
	int r;

	txn0 = bench_now_ns();
	if ((r = pam_start(service, user, &pc, &h)) != PAM_SUCCESS) {
		fprintf(stderr, "pam-bench: pam_start: %d\n", r);
		return (-1);
	}
	(void)pam_set_item(h, PAM_TTY, "pts/0");
	t0 = bench_now_ns();
	*rc = pam_authenticate(h, 0);
	*ns = bench_now_ns() - t0;
	(void)pam_end(h, *rc);
	*txn_ns = bench_now_ns() - txn0;
	return (0);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: pam-bench -s SERVICE -f SECRETS [-l LABEL] [-n LOGINS] [-m USERS]\n"
"                 [-F TIMESTAMP-FILE] [-w EVERY] [-q]\n"
"  -s  pam_wrapper service    -f  secrets file of make-population\n"
"  -l  label of the RESULT line (default: the service)\n"
"  -n  logins to time (200)   -m  users of the file to use (all)\n"
"  -F  libfaketime timestamp file: a new 30 s step for every login\n"
"  -w  every EVERY'th login uses a wrong code (0: none)\n"
"  -L  close descriptor FD at once (the pam_wrapper start-up lock)\n");
}

int
main(int argc, char **argv)
{
	struct bench_user *users = NULL;
	const char *service = NULL, *secrets = NULL, *label = NULL;
	const char *clockfile = NULL;
	char code[BENCH_CODE_MAX], last_code[BENCH_CODE_MAX] = "";
	uint64_t *lat = NULL, *txn = NULL, pct[4], tpct[4], ns, txn_ns;
	size_t nusers = 0, logins = 200, m = 0, i, nlat = 0;
	size_t ok = 0, refused = 0, bad = 0, last_user = 0;
	unsigned wrong_every = 0;
	time_t start, t;
	bool wrong, verified, have_last = false;
	int ch, rc;

	while ((ch = getopt(argc, argv, "s:f:l:n:m:F:w:L:h")) != -1) {
		switch (ch) {
		case 's': service = optarg; break;
		case 'f': secrets = optarg; break;
		case 'l': label = optarg; break;
		case 'n': logins = strtoul(optarg, NULL, 10); break;
		case 'm': m = strtoul(optarg, NULL, 10); break;
		case 'F': clockfile = optarg; break;
		case 'w': wrong_every = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			/* pam_wrapper's start-up ran already (tests/pam) */
			(void)close((int)strtol(optarg, NULL, 10));
			break;
		case 'h': usage(stdout); return (0);
		default: usage(stderr); return (2);
		}
	}
	if (optind != argc || service == NULL || secrets == NULL ||
	    logins == 0 || wrong_every == 1) {
		usage(stderr);
		return (2);
	}
	if (label == NULL)
		label = service;
	if (oath_init() != OATH_OK ||
	    bench_secrets_load(secrets, 0, m, &users, &nusers) != 0 ||
	    nusers == 0)
		return (2);
	if (clockfile == NULL && logins > nusers) {
		fprintf(stderr, "pam-bench: %zu logins need %zu users on the "
		    "real clock (or -F)\n", logins, logins);
		return (2);
	}
	if ((lat = calloc(logins, sizeof(*lat))) == NULL ||
	    (txn = calloc(logins, sizeof(*txn))) == NULL)
		return (2);
	/* start at a step boundary, some steps from now */
	start = time(NULL);
	start = start - start % 30 + 30;

	for (i = 0; i < logins; i++) {
		const struct bench_user *u = &users[i % nusers];

		if (clockfile != NULL) {
			t = start + (time_t)(30 * i) + 10;
			if (set_clock(clockfile, t) != 0) {
				perror(clockfile);
				return (2);
			}
		} else
			t = time(NULL);
		wrong = wrong_every > 0 && i % wrong_every == wrong_every - 1;
		if ((wrong ? bench_wrong_code(u, t, 2, code) :
		    bench_code(u, t, code)) != 0)
			return (2);
		if (login(service, u->name, code, &rc, &ns, &txn_ns) != 0)
			return (2);
		txn[nlat] = txn_ns;
		lat[nlat++] = ns;
		if (rc == PAM_SUCCESS)
			ok++;
		else
			refused++;
		if (wrong ? rc != PAM_AUTH_ERR : rc != PAM_SUCCESS) {
			if (bad++ < 5)
				fprintf(stderr, "pam-bench: login %zu of %s "
				    "(%s code): %s\n", i, u->name,
				    wrong ? "wrong" : "valid",
				    pam_strerror(NULL, rc));
		}
		if (!wrong && rc == PAM_SUCCESS) {
			memcpy(last_code, code, sizeof(code));
			last_user = i % nusers;
			have_last = true;
		}
	}
	/* the last accepted code again, at the same time: refused */
	if (have_last) {
		if (login(service, users[last_user].name, last_code, &rc,
		    &ns, &txn_ns) != 0)
			return (2);
		if (rc == PAM_SUCCESS) {
			bad++;
			fprintf(stderr, "pam-bench: a replayed code was "
			    "accepted\n");
		}
	}
	verified = bad == 0 && have_last;
	bench_percentiles(lat, nlat, pct);
	bench_percentiles(txn, nlat, tpct);
	printf("pam-bench: %s: %zu users, %zu logins (%zu ok, %zu refused): "
	    "pam_authenticate us min %.0f median %.0f p99 %.0f max %.0f; "
	    "pam_start..pam_end us median %.0f p99 %.0f -> %s\n", label,
	    nusers, nlat, ok, refused, pct[0] / 1e3, pct[1] / 1e3,
	    pct[2] / 1e3, pct[3] / 1e3, tpct[1] / 1e3, tpct[2] / 1e3,
	    verified ? "VERIFIED" : "VOID");
	printf("RESULT label=%s users=%zu logins=%zu min_us=%.0f "
	    "median_us=%.0f p99_us=%.0f max_us=%.0f txn_median_us=%.0f "
	    "txn_p99_us=%.0f verified=%s\n", label, nusers, nlat,
	    pct[0] / 1e3, pct[1] / 1e3, pct[2] / 1e3, pct[3] / 1e3,
	    tpct[1] / 1e3, tpct[2] / 1e3, verified ? "yes" : "no");
	free(lat);
	free(txn);
	free(users);
	return (verified ? 0 : 1);
}
