/*
 * make-population.c -- creates many enrolled, active TOTP users in
 * tokend's store for the benchmarks (tests/bench, docs/performance.md).
 *
 * It is the documented bulk path: it links tokend's own store and
 * sealing code (libtokend.la), opens the database named by tokend.conf
 * exactly as tokend does (path checks, WAL, synchronous=FULL,
 * migrations), and for each user inserts the credential row, seals a
 * fresh libsodium-random secret to (user, credential id) under the
 * master key and stores it -- the very calls TOTP_ENROLL_BEGIN makes --
 * with the credential active at once (last step 0).  Rows go in
 * transactions of --batch users; each transaction also appends one
 * audit row (event "enroll_bulk") to the chain, so the trail says who
 * created them and how many.
 *
 * The secrets are written, in hex, to a separate file created with mode
 * 0600 (O_EXCL: an existing file is never overwritten) for the bench
 * programs that must compute valid codes.  That file is as sensitive as
 * the master key: it is for test populations only.
 *
 * MUST invariants:
 *  1. No secret is stored unsealed, and every sealed blob is bound to
 *     its own user and credential id (tk_seal after tk_store_cred_insert).
 *  2. A batch is committed only when every row of it and its audit row
 *     were written; the secrets of a batch reach the secrets file before
 *     its commit, so a committed credential always has its line.
 *  3. tokend must not hold the database meanwhile (SQLite's locks make
 *     a running tokend wait, which is allowed but slow).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "audit.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "seal.h"
#include "store.h"
#include "totp.h"

#define MP_BATCH_DEFAULT	50000
#define MP_PREFIX_DEFAULT	"u"
#define MP_NAME_MAX		64
#define MP_ERR_MAX		512	/* bytes of a config error message */

static void
usage(FILE *f)
{
	fprintf(f,
"NAME\n"
"    make-population - create many enrolled TOTP users in tokend's store\n"
"\n"
"SYNOPSIS\n"
"    make-population -c TOKEND.CONF -n COUNT -o SECRETS [-p PREFIX]\n"
"                    [-s FIRST] [-b BATCH] [-a sha1|sha256|sha512]\n"
"                    [-d 6|8] [-q]\n"
"\n"
"DESCRIPTION\n"
"    Opens the database and master key named by TOKEND.CONF the way\n"
"    tokend does, and creates COUNT users PREFIX<number> (numbers FIRST,\n"
"    FIRST+1, ... zero-padded to 7 digits), each with one ACTIVE TOTP\n"
"    credential whose random secret is sealed exactly as tokend seals\n"
"    it.  One audit row (event enroll_bulk) is appended per batch.\n"
"    Stop tokend first, or expect it to wait for each batch.\n"
"\n"
"    SECRETS is created (mode 0600, never overwritten) with one line a\n"
"    user:  USER CREDENTIAL-ID HEX-SECRET ALGORITHM DIGITS PERIOD\n"
"    It holds every secret in the clear: use it for test stores only.\n"
"\n"
"OPTIONS\n"
"    -c FILE   tokend.conf (database, master_key)\n"
"    -n COUNT  users to create (1..100000000)\n"
"    -o FILE   secrets file to create\n"
"    -p TEXT   user name prefix (default \"" MP_PREFIX_DEFAULT "\")\n"
"    -s N      first user number (default 1)\n"
"    -b N      users per transaction (default %d)\n"
"    -a ALG    TOTP algorithm (default sha1)\n"
"    -d N      digits (default 6)\n"
"    -q        no progress lines\n"
"\n"
"EXAMPLE\n"
"    make-population -c /tmp/b/tokend.conf -n 1000000 -o /tmp/b/secrets\n"
"    creates u0000001 .. u1000000 in about ten seconds.\n",
	    MP_BATCH_DEFAULT);
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* one user: row, sealed secret, secrets line (invariant 1) */
static int
make_one(tk_store_t *store, const tk_master_key_t *key, FILE *out,
    const char *user, int alg, unsigned digits, int64_t now)
{
	unsigned char secret[TK_TOTP_SECRET_MAX];
	char hex[2 * TK_TOTP_SECRET_MAX + 1];
	unsigned char *blob = NULL;
	struct tk_cred c;
	size_t secret_len, blob_len = 0;
	int r;

	memset(&c, 0, sizeof(c));
	secret_len = tk_totp_secret_len(alg);
	randombytes_buf(secret, secret_len);
	memcpy(c.user, user, strlen(user) + 1);
	c.kind = TK_CRED_TOTP;
	c.state = TK_CRED_ACTIVE;
	c.created = now;
	c.digits = digits;
	c.algorithm = alg;
	c.period = TK_TOTP_PERIOD_DEFAULT;
	c.key_id = tk_master_key_id(key);
	if ((r = tk_store_cred_insert(store, &c)) != 0 ||
	    (r = tk_seal(key, c.user, c.id, secret, secret_len, &blob,
	    &blob_len)) != 0 ||
	    (r = tk_store_cred_set_secret(store, c.id, c.key_id, blob,
	    blob_len)) != 0)
		goto fail;
	sodium_bin2hex(hex, sizeof(hex), secret, secret_len);
	if (fprintf(out, "%s %" PRIu64 " %s %s %u %u\n", user, c.id, hex,
	    tk_totp_alg_name(alg), digits, (unsigned)TK_TOTP_PERIOD_DEFAULT) <
	    0) {
		r = TK_ERR_IO;
		goto fail;
	}

	r = 0; /* success */
fail:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(hex, sizeof(hex));
	free(blob);
	return (r);
}

int
main(int argc, char **argv)
{
	struct tk_conf conf;
	struct tk_audit_event ev;
	unsigned char audit_key[TK_AUDIT_KEY_BYTES];
	char err[MP_ERR_MAX], user[MP_NAME_MAX], reason[128];
	char host[256];
	tk_master_key_t *key = NULL;
	tk_store_t *store = NULL;
	FILE *out = NULL;
	const char *confpath = NULL, *outpath = NULL, *prefix = MP_PREFIX_DEFAULT;
	uint64_t count = 0, first = 1, batch = MP_BATCH_DEFAULT, digits = 6;
	uint64_t i, done = 0, in_batch;
	int alg = TK_TOTP_SHA1, ch, fd = -1, r, status = EXIT_FAILURE;
	bool quiet = false, in_tx = false;
	double t0;
	int64_t now;

	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt(argc, argv, "c:n:o:p:s:b:a:d:qh")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 100000000, &count) != 0)
				goto bad;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 's':
			if (parse_u64(optarg, 0, 1000000000, &first) != 0)
				goto bad;
			break;
		case 'b':
			if (parse_u64(optarg, 1, 10000000, &batch) != 0)
				goto bad;
			break;
		case 'a':
			if (tk_totp_alg_parse(optarg, &alg) != 0)
				goto bad;
			break;
		case 'd':
			if (parse_u64(optarg, 6, 8, &digits) != 0 ||
			    !tk_totp_digits_valid(digits))
				goto bad;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return (EXIT_SUCCESS);
		default:
			goto bad;
		}
	}
	if (optind != argc || confpath == NULL || outpath == NULL ||
	    count == 0 || strlen(prefix) + 12 >= MP_NAME_MAX)
		goto bad;

	tk_log_to_stderr("make-population");
	if (sodium_init() < 0 || oath_init() != OATH_OK) {
		fprintf(stderr, "make-population: cannot initialise libsodium "
		    "or liboath\n");
		goto fail;
	}
	err[0] = '\0';
	if ((r = tk_conf_init(&conf)) != 0 ||
	    (r = tk_conf_load(&conf, confpath, false, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "make-population: %s\n",
		    err[0] != '\0' ? err : tk_strerr(r));
		goto fail;
	}
	err[0] = '\0';
	if ((r = tk_master_key_load(conf.master_key, &key, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "make-population: master key %s: %s\n",
		    conf.master_key, err[0] != '\0' ? err : tk_strerr(r));
		goto fail;
	}
	if ((r = tk_master_key_derive(key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key)) != 0) {
		fprintf(stderr, "make-population: audit key: %s\n",
		    tk_strerr(r));
		goto fail;
	}
	r = tk_store_open_sqlite(conf.database, audit_key, sizeof(audit_key),
	    &store);
	sodium_memzero(audit_key, sizeof(audit_key));
	if (r != 0) {
		fprintf(stderr, "make-population: store %s: %s\n",
		    conf.database, tk_strerr(r));
		goto fail;
	}
	fd = open(outpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "make-population: %s: %s\n", outpath,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';

	t0 = now_s();
	now = (int64_t)time(NULL);
	for (i = 0; i < count; i += in_batch) {
		in_batch = count - i < batch ? count - i : batch;
		if ((r = tk_store_begin(store)) != 0)
			goto store_fail;
		in_tx = true;
		for (done = 0; done < in_batch; done++) {
			(void)snprintf(user, sizeof(user), "%s%07" PRIu64,
			    prefix, first + i + done);
			if ((r = make_one(store, key, out, user, alg,
			    (unsigned)digits, now)) != 0)
				goto store_fail;
		}
		(void)snprintf(reason, sizeof(reason), "%" PRIu64 " TOTP "
		    "credentials %s%07" PRIu64 "..%s%07" PRIu64
		    " by make-population", in_batch, prefix, first + i,
		    prefix, first + i + in_batch - 1);
		tk_audit_event_init(&ev, NULL, NULL, "enroll_bulk", NULL, now);
		ev.host = host;
		ev.uid = (int64_t)getuid();
		ev.pid = (int64_t)getpid();
		ev.result = "ok";
		ev.reason = reason;
		/* invariant 2: the lines first, then the commit */
		if (fflush(out) != 0) {
			r = TK_ERR_IO;
			goto store_fail;
		}
		if ((r = tk_store_audit_append(store, &ev)) != 0 ||
		    (r = tk_store_commit(store)) != 0)
			goto store_fail;
		in_tx = false;
		if (!quiet)
			fprintf(stderr, "make-population: %" PRIu64 " users, "
			    "%.1f s\n", i + in_batch, now_s() - t0);
	}
	if (fsync(fileno(out)) != 0 || fclose(out) != 0) {
		out = NULL;
		fprintf(stderr, "make-population: %s: %s\n", outpath,
		    strerror(errno));
		goto fail;
	}
	out = NULL;
	if (!quiet)
		fprintf(stderr, "make-population: %" PRIu64 " users in %.1f s "
		    "(%.0f users/s)\n", count, now_s() - t0,
		    (double)count / (now_s() - t0));
	status = EXIT_SUCCESS;
	goto fail;

store_fail:
	fprintf(stderr, "make-population: store: %s\n", tk_strerr(r));
	if (in_tx)
		tk_store_rollback(store);
fail:
	if (out != NULL)
		(void)fclose(out);
	if (fd >= 0)
		(void)close(fd);
	tk_store_close(&store);
	tk_master_key_free(&key);
	tk_conf_clear(&conf);
	return (status);
bad:
	usage(stderr);
	return (2);
}
