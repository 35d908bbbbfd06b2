/*
 * test_adm.c -- unit tests of tokenadm's code (libtokenadm): the JSON
 * writer, QR rendering, tables and times, the command line (usage
 * errors exit 2), exit codes against faked (a scripted tokend), and
 * init's key handling.
 */
#include "config.h"

#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "aaguid.h"
#include "err.h"
#include "faked.h"
#include "json.h"
#include "out.h"
#include "qr.h"
#include "report.h"
#include "softkey.h"
#include "tokenadm.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define ARGS_MAX	32
#define OUT_MAX		65536

static struct faked fd_;
static char conffile[160];	/* talks to faked */
static char downconf[160];	/* names a socket nobody listens on */
static char initdir[200];	/* for init */
static char initconf[240];
static char out[OUT_MAX];	/* stdout of the last run */
static char err[OUT_MAX];	/* stderr of the last run */

/* --- helpers --- */

static int
write_file(const char *path, const char *text)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		return (-1);
	fputs(text, fp);
	if (fclose(fp) != 0)
		return (-1);
	return (chmod(path, 0600));
}

static void
slurp(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t have = 0;

	lseek(fd, 0, SEEK_SET);
	while (have + 1 < len && (n = read(fd, buf + have,
	    len - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
}

/*
 * Runs tokenadm with the NULL-terminated arguments, stdin from
 * /dev/null, stdout and stderr captured into out and err.
 */
static int
adm(const char *first, ...)
{
	char *argv[ARGS_MAX + 1];
	const char *a;
	va_list ap;
	int argc = 0, rc, i;
	int save0, save1, save2, nul, fo, fe;
	FILE *tmp_out, *tmp_err;

	argv[argc++] = strdup("tokenadm");
	va_start(ap, first);
	for (a = first; a != NULL && argc < ARGS_MAX; a = va_arg(ap,
	    const char *))
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;

	tmp_out = tmpfile();
	tmp_err = tmpfile();
	assert_non_null(tmp_out);
	assert_non_null(tmp_err);
	fo = fileno(tmp_out);
	fe = fileno(tmp_err);
	fflush(stdout);
	fflush(stderr);
	save0 = dup(0);
	save1 = dup(1);
	save2 = dup(2);
	nul = open("/dev/null", O_RDONLY);
	dup2(nul, 0);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = tk_adm_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save0, 0);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save0);
	close(save1);
	close(save2);
	close(nul);
	slurp(fo, out, sizeof(out));
	slurp(fe, err, sizeof(err));
	fclose(tmp_out);
	fclose(tmp_err);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return (rc);
}

/* Writes with the JSON writer into a string; returns it (static). */
static const char *
json_of(const char *s)
{
	static char buf[512];
	char *p = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(fp = open_memstream(&p, &len));
	tk_json_write_string(fp, s);
	fclose(fp);
	snprintf(buf, sizeof(buf), "%s", p);
	free(p);
	return (buf);
}

/* --- fixtures --- */

static int
group_setup(void **state)
{
	struct passwd *pw;
	char text[1024];

	if (faked_start(&fd_) != 0 || (pw = getpwuid(geteuid())) == NULL)
		return (-1);
	snprintf(conffile, sizeof(conffile), "%s/tokend.conf", fd_.dir);
	snprintf(text, sizeof(text), "[tokend]\nsocket = %s\nuser = %s\n"
	    "admin_group = tk-admins\n\n[pam]\nfido2_wait = 0\n",
	    fd_.socket, pw->pw_name);
	if (write_file(conffile, text) != 0)
		return (-1);
	snprintf(downconf, sizeof(downconf), "%s/down.conf", fd_.dir);
	snprintf(text, sizeof(text), "[tokend]\nsocket = %s/nobody\n",
	    fd_.dir);
	if (write_file(downconf, text) != 0)
		return (-1);
	snprintf(initdir, sizeof(initdir), "%s/init", fd_.dir);
	if (mkdir(initdir, 0700) != 0)
		return (-1);
	snprintf(initconf, sizeof(initconf), "%s/init.conf", fd_.dir);
	snprintf(text, sizeof(text), "[tokend]\nsocket = %s/run/socket\n"
	    "database = %s/db/tokend.db\nmaster_key = %s/keys/master.key\n"
	    "user = %s\n", initdir, initdir, initdir, pw->pw_name);
	return (write_file(initconf, text));
}

static int
group_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/init' '%s'/*.conf "
	    "'%s'/*.png", fd_.dir, fd_.dir, fd_.dir);
	if (system(cmd) != 0)
		return (-1);
	faked_stop(&fd_);
	return (0);
}

static int
case_setup(void **state)
{
	faked_reset(&fd_);
	return (0);
}

/* --- JSON --- */

static void
json_escaping(void **state)
{
	assert_string_equal(json_of("plain"), "\"plain\"");
	assert_string_equal(json_of(""), "\"\"");
	assert_string_equal(json_of("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
	assert_string_equal(json_of("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
	assert_string_equal(json_of("\x01\x1f\x7f"),
	    "\"\\u0001\\u001f\\u007f\"");
	/* UTF-8 passes through, except the two JavaScript line breaks */
	assert_string_equal(json_of("\xe7\xa2\xba\xe8\xaa\x8d"),
	    "\"\xe7\xa2\xba\xe8\xaa\x8d\"");
	assert_string_equal(json_of("\xf0\x9f\x94\x91"),
	    "\"\xf0\x9f\x94\x91\"");
	assert_string_equal(json_of("a\xe2\x80\xa8" "b\xe2\x80\xa9"),
	    "\"a\\u2028b\\u2029\"");
	/* each byte that is not valid UTF-8 becomes U+FFFD */
	assert_string_equal(json_of("\xff"), "\"\xef\xbf\xbd\"");
	assert_string_equal(json_of("\xc0\xaf"),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of("x\xe3\x81"),
	    "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of("\xed\xa0\x80"),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of("\xf4\x90\x80\x80"),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void
json_structure(void **state)
{
	struct tk_json j;
	char *p = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(fp = open_memstream(&p, &len));
	tk_json_init(&j, fp);
	tk_json_object_begin(&j);
	tk_json_key(&j, "a");
	tk_json_uint(&j, 18446744073709551615ULL);
	tk_json_key(&j, "b");
	tk_json_array_begin(&j);
	tk_json_bool(&j, true);
	tk_json_null(&j);
	tk_json_string(&j, NULL);
	tk_json_object_begin(&j);
	tk_json_object_end(&j);
	tk_json_array_end(&j);
	tk_json_key(&j, "c\"");
	tk_json_string(&j, "x");
	tk_json_object_end(&j);
	assert_int_equal(tk_json_finish(&j), 0);
	fclose(fp);
	assert_string_equal(p, "{\"a\":18446744073709551615,"
	    "\"b\":[true,null,null,{}],\"c\\\"\":\"x\"}\n");
	free(p);

	/* misuse is reported */
	assert_non_null(fp = open_memstream(&p, &len));
	tk_json_init(&j, fp);
	tk_json_object_begin(&j);
	tk_json_key(&j, "dangling");
	tk_json_object_end(&j);
	assert_int_equal(tk_json_finish(&j), -1);
	tk_json_init(&j, fp);
	tk_json_array_begin(&j);
	assert_int_equal(tk_json_finish(&j), -1);
	tk_json_init(&j, fp);
	tk_json_key(&j, "no object");
	assert_int_equal(tk_json_finish(&j), -1);
	fclose(fp);
	free(p);
}

/* --- QR --- */

#define FULL	"\xe2\x96\x88"
#define UPPER	"\xe2\x96\x80"

/* Number of UTF-8 characters in s. */
static size_t
chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return (n);
}

static void
qr_terminal(void **state)
{
	static const char uri[] = "otpauth://totp/tokend:alice?secret="
	    "JBSWY3DPEHPK3PXP&issuer=tokend";
	tk_qr_t *q = NULL;
	char *p = NULL, *line, *save = NULL;
	size_t len = 0, w, side, rows = 0, k;
	FILE *fp;

	assert_int_equal(tk_qr_new(uri, &q), 0);
	w = tk_qr_width(q);
	/* a QR symbol is 21 + 4k modules wide; this URI needs version 4+ */
	assert_int_equal((w - 21) % 4, 0);
	assert_true(w >= 33);
	/* the three finder patterns are dark at their corners */
	assert_true(tk_qr_dark(q, 0, 0));
	assert_true(tk_qr_dark(q, (long)w - 1, 0));
	assert_true(tk_qr_dark(q, 0, (long)w - 1));
	assert_false(tk_qr_dark(q, -1, 0));
	assert_false(tk_qr_dark(q, (long)w, 0));

	assert_non_null(fp = open_memstream(&p, &len));
	tk_qr_print(q, fp);
	fclose(fp);
	side = w + 2 * TK_QR_QUIET;
	for (line = strtok_r(p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), rows++) {
		assert_int_equal(chars(line, strlen(line)), side);
		/* the quiet zone: light at both ends of every line */
		for (k = 0; k < TK_QR_QUIET; k++) {
			const char *cell = rows + 1 == (side + 1) / 2 ?
			    UPPER : FULL;

			assert_memory_equal(line + 3 * k, cell, 3);
			assert_memory_equal(line + strlen(line) - 3 * (k + 1),
			    cell, 3);
		}
		/* and over the first TK_QR_QUIET module rows */
		if (rows < TK_QR_QUIET / 2)
			for (k = 0; k < side; k++)
				assert_memory_equal(line + 3 * k, FULL, 3);
		/* module (0,0) and (0,1) are dark: a blank */
		if (rows == TK_QR_QUIET / 2)
			assert_int_equal(line[3 * TK_QR_QUIET], ' ');
	}
	assert_int_equal(rows, (side + 1) / 2);
	free(p);
	tk_qr_free(&q);
	assert_null(q);
	tk_qr_free(&q);
}

static void
qr_limits(void **state)
{
	tk_qr_t *q = NULL;
	char *big;

	assert_int_equal(tk_qr_new("", &q), TK_ERR_INVAL);
	assert_null(q);
	assert_non_null(big = malloc(8000));
	memset(big, 'x', 7999);
	big[7999] = '\0';
	assert_int_equal(tk_qr_new(big, &q), TK_ERR_TOOBIG);
	assert_null(q);
	free(big);
}

static void
qr_png(void **state)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r',
	    '\n', 0x1a, '\n' };
	unsigned char head[8];
	char path[200], bad[220];
	struct stat st;
	tk_qr_t *q = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/qr.png", fd_.dir);
	snprintf(bad, sizeof(bad), "%s/missing/qr.png", fd_.dir);
	assert_int_equal(tk_qr_new("otpauth://totp/x?secret=AA", &q), 0);
	assert_int_equal(tk_qr_write_png(q, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true((size_t)st.st_size > sizeof(sig));
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fread(head, 1, sizeof(head), fp), sizeof(head));
	fclose(fp);
	assert_memory_equal(head, sig, sizeof(sig));
	/* never over an existing file */
	assert_int_equal(tk_qr_write_png(q, path), TK_ERR_EXISTS);
	assert_int_equal(tk_qr_write_png(q, bad), TK_ERR_IO);
	unlink(path);
	tk_qr_free(&q);
}

/* --- human output --- */

static void
out_times(void **state)
{
	char t[TK_OUT_TIME_MAX], d[TK_OUT_DURATION_MAX];

	assert_null(tk_out_time(0, t));
	assert_string_equal(tk_out_time(1700000000, t),
	    "2023-11-14T22:13:20Z");
	assert_string_equal(tk_out_time(1, t), "1970-01-01T00:00:01Z");
	assert_string_equal(tk_out_duration(0, d), "00:00:00");
	assert_string_equal(tk_out_duration(3723, d), "01:02:03");
	assert_string_equal(tk_out_duration(90061, d), "1d 01:01:01");
}

static void
out_table(void **state)
{
	const char *head[] = { "A", "LONGER" };
	const char *r1[] = { "xyz", NULL };
	tk_table_t *t;
	char *p = NULL;
	size_t len = 0;
	FILE *fp;

	assert_null(tk_table_new(0, NULL));
	assert_non_null(t = tk_table_new(2, head));
	assert_int_equal(tk_table_add(t, r1), 0);
	assert_non_null(fp = open_memstream(&p, &len));
	tk_table_print(t, fp);
	fclose(fp);
	assert_string_equal(p, "A    LONGER\nxyz  -\n");
	free(p);
	tk_table_free(&t);
	assert_null(t);
	assert_int_equal(tk_out_width("abc"), 3);
}

/* --- the command line --- */

/* the counting of tokenadm audit report (report.h), without a daemon */
static void
report_counting(void **state)
{
	const int64_t day = 86400, now = 1900000000;
	const struct tk_report_user *u;
	struct tk_report r;
	int64_t since, until;

	/* months, UTC */
	assert_int_equal(tk_report_month("2030-03", &since, &until), 0);
	assert_int_equal(since, 1898553600);	/* 2030-03-01 */
	assert_int_equal(until, 1901232000);	/* 2030-04-01 */
	assert_int_equal(tk_report_month("2030-12", &since, &until), 0);
	assert_int_equal(until - since, 31 * day);
	assert_int_equal(tk_report_month("2030-00", &since, &until), -1);
	assert_int_equal(tk_report_month("2030-3", &since, &until), -1);
	assert_int_equal(tk_report_month("2030-03x", &since, &until), -1);
	tk_report_prev_month(1901232000 + 5 * day, &since, &until);
	assert_int_equal(since, 1898553600);
	assert_int_equal(until, 1901232000);
	tk_report_prev_month(1893456000 + day, &since, &until); /* 2030-01 */
	assert_int_equal(until, 1893456000);
	assert_int_equal(until - since, 31 * day);	/* 2029-12 */

	tk_report_init(&r, since, until, now, 90);
	assert_int_equal(tk_report_event(&r, "totp_verify", "bob", "ok",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "totp_verify", "bob", "wrong",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "totp_verify", "bob", "locked",
	    "wrong"), 0);		/* the failure that locked */
	assert_int_equal(tk_report_event(&r, "totp_verify", "bob", "locked",
	    ""), 0);			/* an attempt while locked */
	assert_int_equal(tk_report_event(&r, "totp_verify", "carl",
	    "not_enrolled", NULL), 0);	/* neither login nor failure */
	assert_int_equal(tk_report_event(&r, "fido2_verify", "alice", "ok",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "fido2_verify", "alice",
	    "suspended", NULL), 0);
	assert_int_equal(tk_report_event(&r, "recovery_use", "alice", "ok",
	    "3 left"), 0);
	assert_int_equal(tk_report_event(&r, "grant_use", "erin", "ok",
	    "r"), 0);
	assert_int_equal(tk_report_event(&r, "grant_use", "erin",
	    "not_found", NULL), 0);	/* not a failure */
	assert_int_equal(tk_report_event(&r, "recovery_issue", "alice", "ok",
	    "count=10"), 0);
	assert_int_equal(tk_report_event(&r, "recovery_issue", "alice",
	    "bad_request", "count out of range"), 0);
	assert_int_equal(tk_report_event(&r, "enroll_confirm", "bob", "ok",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "enroll_confirm", "bob", "wrong",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "fido2_enroll", "alice", "ok",
	    NULL), 0);
	assert_int_equal(tk_report_event(&r, "revoke", "dave", "ok", NULL), 0);
	assert_int_equal(tk_report_event(&r, "unlock", "bob", "ok", NULL), 0);
	assert_int_equal(tk_report_event(&r, "grant", "erin", "ok", "r"), 0);
	assert_int_equal(tk_report_event(&r, "denied", NULL, "denied",
	    "CRED_LIST"), 0);
	assert_int_equal(tk_report_event(&r, "status", NULL, "ok", NULL), 0);
	assert_int_equal(r.t.rows, 20);
	assert_int_equal(r.t.logins[TK_RF_TOTP], 1);
	assert_int_equal(r.t.logins[TK_RF_FIDO2], 1);
	assert_int_equal(r.t.logins[TK_RF_RECOVERY], 1);
	assert_int_equal(r.t.logins[TK_RF_GRANT], 1);
	assert_int_equal(r.t.failures, 4);
	assert_int_equal(r.t.lockouts, 1);
	assert_int_equal(r.t.recovery_issued, 1);
	assert_int_equal(r.t.recovery_codes, 10);
	assert_int_equal(r.t.recovery_used, 1);
	assert_int_equal(r.t.grants_issued, 1);
	assert_int_equal(r.t.grants_used, 1);
	assert_int_equal(r.t.enroll_totp, 1);
	assert_int_equal(r.t.enroll_fido2, 1);
	assert_int_equal(r.t.revocations, 1);
	assert_int_equal(r.t.unlocks, 1);
	assert_int_equal(r.t.denied, 1);
	/* users, sorted; carl (not enrolled) has no record */
	assert_int_equal(r.nusers, 3);
	assert_string_equal(r.users[0].user, "alice");
	assert_string_equal(r.users[1].user, "bob");
	assert_string_equal(r.users[2].user, "erin");
	assert_null(tk_report_user(&r, "carl"));
	u = tk_report_user(&r, "bob");
	assert_non_null(u);
	assert_int_equal(u->logins[TK_RF_TOTP], 1);
	assert_int_equal(u->failures, 3);
	assert_int_equal(u->lockouts, 1);

	/* credentials: unused for 90 days, users without an active one */
	assert_int_equal(tk_report_cred(&r, "alice", 1, "totp", "", "active",
	    now - 200 * day, now - 10 * day), 0);
	assert_int_equal(tk_report_cred(&r, "bob", 2, "totp", "", "active",
	    now - 200 * day, now - 90 * day), 0);	/* exactly 90 */
	assert_int_equal(tk_report_cred(&r, "bob", 3, "fido2", "key",
	    "suspended", now - 100 * day, 0), 0);	/* never used */
	assert_int_equal(tk_report_cred(&r, "dave", 4, "totp", "", "revoked",
	    now - 300 * day, 0), 0);
	assert_int_equal(tk_report_cred(&r, "dave", 5, "totp", "", "pending",
	    now - 300 * day, 0), 0);
	assert_int_equal(tk_report_cred(&r, "fay", 6, "totp", "", "active",
	    now - 89 * day, 0), 0);
	assert_int_equal(r.nunused, 2);
	assert_int_equal(r.unused[0].id, 2);
	assert_int_equal(r.unused[1].id, 3);
	assert_string_equal(r.unused[1].label, "key");
	u = tk_report_user(&r, "dave");
	assert_non_null(u);
	assert_int_equal(u->creds, 2);
	assert_int_equal(u->active, 0);
	assert_false(u->active_month);
	u = tk_report_user(&r, "bob");
	assert_int_equal(u->creds, 2);
	assert_int_equal(u->active, 1);
	tk_report_free(&r);
}

static void
usage_errors(void **state)
{
	static const char *const cases[][8] = {
		{ NULL },
		{ "frob", NULL },
		{ "--bogus", "status", NULL },
		{ "-c", NULL },
		{ "--timeout", NULL },
		{ "--timeout", "0", "status", NULL },
		{ "--timeout", "x", "status", NULL },
		{ "--timeout", "99999", "status", NULL },
		{ "status", "extra", NULL },
		{ "status", "--bogus", NULL },
		{ "init", "extra", NULL },
		{ "init", "--daemon", "relative/tokend", NULL },
		{ "init", "--daemon", NULL },
		{ "enroll", NULL },
		{ "enroll", "totp", NULL },
		{ "enroll", "fido2", NULL },
		{ "enroll", "fido2", "alice", "bob", NULL },
		{ "enroll", "fido2", "alice", "--uv", "sometimes", NULL },
		{ "enroll", "fido2", "alice", "--digits", "6", NULL },
		{ "enroll", "fido2", "alice", "--qr-png", "x.png", NULL },
		{ "enroll", "fido2", "alice", "--device", "", NULL },
		{ "enroll", "fido2", "alice", "--label", "", NULL },
		{ "enroll", "--uv", "required", "fido2", NULL },
		{ "enroll", "fido2", "al\nice", NULL },
		{ "enroll", "fido", "alice", NULL },
		{ "reinstate", NULL },
		{ "reinstate", "alice", NULL },
		{ "reinstate", "alice", "x", NULL },
		{ "reinstate", "alice", "0", NULL },
		{ "reinstate", "alice", "1", "2", NULL },
		{ "devices", "extra", NULL },
		{ "devices", "--all", NULL },
		{ "enroll", "totp", "alice", "bob", NULL },
		{ "enroll", "totp", "alice", "--digits", "7", NULL },
		{ "enroll", "totp", "alice", "--digits", "x", NULL },
		{ "enroll", "totp", "alice", "--digits", "10", NULL },
		{ "enroll", "totp", "alice", "--algorithm", "md5", NULL },
		{ "enroll", "totp", "alice", "--label", "", NULL },
		{ "enroll", "totp", "alice", "--label", "a\tb", NULL },
		{ "enroll", "totp", "alice", "--qr-png", "", NULL },
		{ "enroll", "totp", "al\nice", NULL },
		{ "confirm", "alice", "1", NULL },
		{ "confirm", "alice", "x", "123456", NULL },
		{ "confirm", "alice", "0", "123456", NULL },
		{ "confirm", "alice", "-1", "123456", NULL },
		{ "confirm", "alice", "1", "12ab56", NULL },
		{ "confirm", "alice", "1", "", NULL },
		{ "list", "a", "b", NULL },
		{ "list", "--all", NULL },
		{ "revoke", "alice", NULL },
		{ "revoke", "alice", "1", "--all", NULL },
		{ "revoke", "alice", "x", NULL },
		{ "revoke", "--all", NULL },
		{ "unlock", NULL },
		{ "unlock", "a", "b", NULL },
		{ "recovery", NULL },
		{ "recovery", "alice", "--count", "0", NULL },
		{ "recovery", "alice", "--count", "21", NULL },
		{ "recovery", "alice", "bob", NULL },
		{ "grant", "alice", "--for", "1h", NULL },
		{ "grant", "alice", "--reason", "r", NULL },
		{ "grant", "alice", "--for", "0m", "--reason", "r", NULL },
		{ "grant", "alice", "--for", "1w", "--reason", "r", NULL },
		{ "grant", "alice", "--for", "367d", "--reason", "r", NULL },
		{ "grant", "alice", "--for", "1h", "--reason", "", NULL },
		{ "revoke-grant", NULL },
		{ "grants", "a", "b", NULL },
		{ "audit", NULL },
		{ "audit", "check", NULL },
		{ "audit", "verify", "x", NULL },
		{ "audit", "export", NULL },
		{ "audit", "export", "--format", "xml", NULL },
		{ "audit", "export", "--format", "jsonl", "--bom", NULL },
		{ "audit", "export", "--format", "csv", "--since", "2024-13-01",
		    NULL },
		{ "audit", "export", "--format", "csv", "--until", "24-01-01",
		    NULL },
		{ "audit", "prune", NULL },
		{ "audit", "prune", "--yes", NULL },
		{ "audit", "prune", "--before", "2024-02-30", "--yes", NULL },
		{ "audit", "prune", "--before", "2024-01-01", "x", NULL },
		{ "audit", "report", "x", NULL },
		{ "audit", "report", "--month", "2024-13", NULL },
		{ "audit", "report", "--month", "2024-1", NULL },
		{ "audit", "report", "--month", "1969-12", NULL },
		{ "audit", "report", "--unused-days", "0", NULL },
		{ "audit", "report", "--unused-days", "36501", NULL },
		{ "backup", NULL },
		{ "backup", "a", "b", NULL },
	};
	size_t i;
	int rc;

	for (i = 0; i < NITEMS(cases); i++) {
		rc = adm(cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    cases[i][4], cases[i][5], cases[i][6], NULL);
		if (rc != TK_EXIT_USAGE)
			fail_msg("case %zu (%s %s): exit %d", i,
			    cases[i][0] ? cases[i][0] : "",
			    cases[i][0] && cases[i][1] ? cases[i][1] : "", rc);
		assert_string_equal(out, "");
		assert_non_null(strstr(err, "tokenadm: "));
	}
}

static void
help_everywhere(void **state)
{
	static const char *const cmds[] = { "init", "status", "enroll",
	    "confirm", "list", "revoke", "unlock", "recovery", "grant",
	    "revoke-grant", "grants", "audit", "backup", "reinstate",
	    "devices" };
	size_t i;

	assert_int_equal(adm("--help", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "Exit status"));
	assert_int_equal(adm("-h", NULL), TK_EXIT_OK);
	for (i = 0; i < NITEMS(cmds); i++) {
		assert_int_equal(adm(cmds[i], "--help", NULL), TK_EXIT_OK);
		assert_non_null(strstr(out, cmds[i]));
		assert_string_equal(err, "");
	}
}

static void
unreachable(void **state)
{
	assert_int_equal(adm("-c", downconf, "status", NULL),
	    TK_EXIT_UNREACHABLE);
	assert_non_null(strstr(err, "cannot reach tokend at"));
	assert_int_equal(adm("-c", downconf, "list", NULL),
	    TK_EXIT_UNREACHABLE);
	assert_int_equal(adm("unlock", "alice", "-c", downconf, NULL),
	    TK_EXIT_UNREACHABLE);
	/* an explicit file that is missing is an error of its own */
	assert_int_equal(adm("-c", "/nonexistent/tokend.conf", "status",
	    NULL), TK_EXIT_FAIL);
}

/* --- against faked --- */

static void
status_out(void **state)
{
	assert_int_equal(adm("-c", conffile, "status", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "0.1.0"));
	assert_non_null(strstr(out, "1d 01:01:01"));
	assert_non_null(strstr(out, "sqlite (ok)"));
	assert_int_equal(adm("-c", conffile, "--json", "status", NULL),
	    TK_EXIT_OK);
	assert_string_equal(out, "{\"version\":\"0.1.0\",\"uptime\":90061,"
	    "\"users\":2,\"credentials\":3,\"locked_users\":1,"
	    "\"store\":\"sqlite\",\"store_ok\":true}\n");
	/* --json after the command name works too */
	assert_int_equal(adm("status", "--json", "-c", conffile, NULL),
	    TK_EXIT_OK);
	assert_non_null(strstr(out, "\"store_ok\":true"));
}

static void
refusals(void **state)
{
	fd_.status[TK_MSG_STATUS] = TK_ST_DENIED;
	assert_int_equal(adm("-c", conffile, "status", NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "permission denied: run as root or a "
	    "member of tk-admins"));
	fd_.status[TK_MSG_USER_UNLOCK] = TK_ST_NOT_FOUND;
	assert_int_equal(adm("-c", conffile, "unlock", "bob", NULL),
	    TK_EXIT_FAIL);
	assert_non_null(strstr(err, "bob"));
	fd_.status[TK_MSG_TOTP_ENROLL_CONFIRM] = TK_ST_WRONG;
	assert_int_equal(adm("-c", conffile, "confirm", "alice", "7",
	    "123456", NULL), TK_EXIT_FAIL);
	fd_.status[TK_MSG_TOTP_ENROLL_CONFIRM] = TK_ST_EXPIRED;
	assert_int_equal(adm("-c", conffile, "confirm", "alice", "7",
	    "123456", NULL), TK_EXIT_FAIL);
	fd_.status[TK_MSG_CRED_REVOKE] = TK_ST_INTERNAL;
	assert_int_equal(adm("-c", conffile, "revoke", "alice", "--all",
	    NULL), TK_EXIT_FAIL);
	assert_string_equal(out, "");
}

static void
list_out(void **state)
{
	assert_int_equal(adm("-c", conffile, "--json", "list", "alice",
	    NULL), TK_EXIT_OK);
	assert_string_equal(fd_.user, "alice");
	assert_string_equal(out, "[{\"user\":\"alice\",\"credential\":1,"
	    "\"kind\":\"totp\",\"label\":\"phone \\\"work\\\"\","
	    "\"state\":\"active\",\"created\":\"2023-11-14T22:13:20Z\","
	    "\"last_used\":\"2023-11-14T22:23:20Z\",\"digits\":6,"
	    "\"algorithm\":\"sha1\",\"locked\":false,\"failures\":0,"
	    "\"sign_count\":null,\"aaguid\":null,\"model\":null,"
	    "\"attestation_format\":null,\"user_verification\":null},"
	    "{\"user\":\"alice\",\"credential\":2,\"kind\":\"totp\","
	    "\"label\":null,\"state\":\"pending\","
	    "\"created\":\"2023-11-14T22:13:20Z\",\"last_used\":null,"
	    "\"digits\":6,\"algorithm\":\"sha1\",\"locked\":false,"
	    "\"failures\":0,\"sign_count\":null,\"aaguid\":null,"
	    "\"model\":null,\"attestation_format\":null,"
	    "\"user_verification\":null}]\n");
	assert_int_equal(adm("-c", conffile, "list", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "USER"));
	assert_non_null(strstr(out, "never"));
	assert_non_null(strstr(out, "phone \"work\""));
	assert_null(strstr(out, "suspended"));
}

/* FIDO2 records: sign count, model, and a suspension that stands out */
static void
list_fido2(void **state)
{
	fd_.list_fido2 = true;
	assert_int_equal(adm("-c", conffile, "--json", "list", "alice",
	    NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "{\"user\":\"alice\",\"credential\":5,"
	    "\"kind\":\"fido2\",\"label\":\"key 1\","
	    "\"state\":\"suspended\",\"created\":\"2023-11-14T22:13:20Z\","
	    "\"last_used\":\"2023-11-14T22:23:20Z\",\"digits\":null,"
	    "\"algorithm\":\"es256\",\"locked\":false,\"failures\":0,"
	    "\"sign_count\":42,"
	    "\"aaguid\":\"cb69481e-8ff7-4039-93ec-0a2729a154a8\","
	    "\"model\":\"YubiKey 5 Series\",\"attestation_format\":\"packed\","
	    "\"user_verification\":\"required\"}]\n"));
	assert_int_equal(adm("-c", conffile, "list", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "SIGN COUNT"));
	assert_non_null(strstr(out, "suspended (possible cloned key)"));
	assert_non_null(strstr(out, "YubiKey 5 Series"));
	assert_non_null(strstr(out, "  42  "));
	assert_non_null(strstr(out, "1 credential(s) suspended"));
	assert_non_null(strstr(out, "tokenadm reinstate"));
}

/* --- FIDO2 on the administrator's machine, with soft keys --- */

/* Makes a soft key state file in faked's directory. */
static void
softkey(const char *name, bool builtin_uv, char *path, size_t len)
{
	sk_key_t *k = NULL;

	snprintf(path, len, "%s/%s.key", fd_.dir, name);
	unlink(path);
	assert_int_equal(sk_key_open(path, &k), 0);
	sk_key_config(k)->builtin_uv = builtin_uv;
	assert_int_equal(sk_key_save(k), 0);
	sk_key_close(&k);
}

static void
aaguid_names(void **state)
{
	static const unsigned char yk[16] = {
		0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39,
		0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8
	};
	unsigned char zero[16];
	char t[TK_AAGUID_TEXT_MAX];

	memset(zero, 0, sizeof(zero));
	assert_string_equal(tk_aaguid_text(yk, 16, t),
	    "cb69481e-8ff7-4039-93ec-0a2729a154a8");
	assert_string_equal(tk_aaguid_model(yk, 16), "YubiKey 5 Series");
	assert_null(tk_aaguid_model(zero, 16));
	assert_null(tk_aaguid_text(yk, 15, t));
	assert_null(tk_aaguid_model(yk, 17));
	assert_null(tk_aaguid_text(NULL, 16, t));
}

static void
enroll_fido2_out(void **state)
{
	char uv[300], bare[300], dev[320], want[1024];

	softkey("uv", true, uv, sizeof(uv));
	softkey("bare", false, bare, sizeof(bare));
	snprintf(dev, sizeof(dev), "%s%s", SK_PATH_PREFIX, uv);

	/* refused by tokend before any key is looked for */
	setenv("SOFTKEY_KEYS", "", 1);
	fd_.status[TK_MSG_FIDO2_ENROLL_BEGIN] = TK_ST_DENIED;
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "permission denied"));
	assert_null(strstr(err, "Insert"));
	fd_.status[TK_MSG_FIDO2_ENROLL_BEGIN] = TK_ST_OK;

	/* no key ([pam] fido2_wait = 0), a key that cannot be opened */
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "no security key found"));
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    "--device", "/nonexistent/hidraw9", NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "cannot open the security key"));
	assert_int_equal(fd_.count[TK_MSG_FIDO2_ENROLL_FINISH], 0);

	/* a key with built-in UV: no PIN; JSON */
	setenv("SOFTKEY_KEYS", uv, 1);
	assert_int_equal(adm("-c", conffile, "--json", "enroll", "fido2",
	    "alice", "--label", "key 1", NULL), TK_EXIT_OK);
	snprintf(want, sizeof(want), "{\"user\":\"alice\",\"credential\":9,"
	    "\"kind\":\"fido2\",\"label\":\"key 1\",\"state\":\"active\","
	    "\"credential_id\":\"AQID\","
	    "\"aaguid\":\"cb69481e-8ff7-4039-93ec-0a2729a154a8\","
	    "\"model\":\"YubiKey 5 Series\",\"algorithm\":\"es256\","
	    "\"attestation_format\":\"packed\","
	    "\"user_verification\":\"required\",\"device\":\"%s\"}\n", dev);
	assert_string_equal(out, want);
	assert_non_null(strstr(err, "Touch your security key"));
	assert_int_equal(fd_.count[TK_MSG_FIDO2_ENROLL_FINISH], 1);
	/* human output */
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "Credential 9 of alice is active."));
	assert_non_null(strstr(out, "YubiKey 5 Series"));
	assert_non_null(strstr(out, "packed"));

	/* the refusals of FIDO2_ENROLL_FINISH */
	fd_.status[TK_MSG_FIDO2_ENROLL_FINISH] = TK_ST_NOT_ALLOWED;
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "refused by policy"));
	assert_non_null(strstr(err, "allowed_aaguids"));
	fd_.status[TK_MSG_FIDO2_ENROLL_FINISH] = TK_ST_EXISTS;
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "registered already"));
	fd_.status[TK_MSG_FIDO2_ENROLL_FINISH] = TK_ST_EXPIRED;
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "alice",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "expired"));
	fd_.status[TK_MSG_FIDO2_ENROLL_FINISH] = TK_ST_WRONG;
	assert_int_equal(adm("-c", conffile, "--json", "enroll", "fido2",
	    "alice", NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "could not verify"));
	assert_string_equal(out, "");
	fd_.status[TK_MSG_FIDO2_ENROLL_FINISH] = TK_ST_OK;

	/* UV required, a key with neither PIN nor UV: refused here */
	setenv("SOFTKEY_KEYS", bare, 1);
	fd_.count[TK_MSG_FIDO2_ENROLL_FINISH] = 0;
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "bob",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "neither a PIN nor built-in"));
	assert_int_equal(fd_.count[TK_MSG_FIDO2_ENROLL_FINISH], 0);
	/* the same key when tokend's policy does not require UV */
	snprintf(fd_.fido2_uv, sizeof(fd_.fido2_uv), "discouraged");
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "bob",
	    "--uv", "discouraged", NULL), TK_EXIT_OK);
	assert_int_equal(fd_.count[TK_MSG_FIDO2_ENROLL_FINISH], 1);

	/* two keys and no --device: which one? */
	snprintf(want, sizeof(want), "%s:%s", uv, bare);
	setenv("SOFTKEY_KEYS", want, 1);
	assert_int_equal(adm("-c", conffile, "enroll", "fido2", "bob",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "--device"));
	assert_non_null(strstr(err, dev));
	unsetenv("SOFTKEY_KEYS");
	unlink(uv);
	unlink(bare);
}

static void
devices_out(void **state)
{
	char uv[300], bare[300], keys[620];

	setenv("SOFTKEY_KEYS", "", 1);
	assert_int_equal(adm("--json", "devices", NULL), TK_EXIT_OK);
	assert_string_equal(out, "[]\n");
	assert_int_equal(adm("devices", NULL), TK_EXIT_OK);
	assert_string_equal(out, "No security key found.\n");

	softkey("d-uv", true, uv, sizeof(uv));
	softkey("d-bare", false, bare, sizeof(bare));
	snprintf(keys, sizeof(keys), "%s:%s", uv, bare);
	setenv("SOFTKEY_KEYS", keys, 1);
	assert_int_equal(adm("--json", "devices", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "\"uv_builtin\":true"));
	assert_non_null(strstr(out, "\"uv_builtin\":false"));
	assert_non_null(strstr(out, "\"pin_set\":false"));
	assert_non_null(strstr(out, "\"versions\":[\"FIDO_2_0\""));
	assert_int_equal(adm("devices", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, uv));
	assert_non_null(strstr(out, bare));
	assert_non_null(strstr(out, "not set"));
	unsetenv("SOFTKEY_KEYS");
	unlink(uv);
	unlink(bare);
}

static void
reinstate_out(void **state)
{
	assert_int_equal(adm("-c", conffile, "--json", "reinstate", "alice",
	    "5", NULL), TK_EXIT_OK);
	assert_string_equal(out, "{\"user\":\"alice\",\"credential\":5,"
	    "\"state\":\"active\"}\n");
	assert_int_equal(adm("-c", conffile, "reinstate", "alice", "5", NULL),
	    TK_EXIT_OK);
	assert_string_equal(out, "Credential 5 of alice is active.\n");
	fd_.status[TK_MSG_CRED_REINSTATE] = TK_ST_NOT_FOUND;
	assert_int_equal(adm("-c", conffile, "reinstate", "alice", "5", NULL),
	    TK_EXIT_FAIL);
	assert_non_null(strstr(err, "no such user or credential"));
	assert_int_equal(adm("-c", downconf, "reinstate", "alice", "5", NULL),
	    TK_EXIT_UNREACHABLE);
}

/* tokenadm list reads every page of a long list */
static void
list_pages(void **state)
{
	const size_t total = 2 * TK_LIST_PAGE + 3;
	char name[32];
	size_t i;

	fd_.list_total = total;
	assert_int_equal(adm("-c", conffile, "--json", "list", NULL),
	    TK_EXIT_OK);
	assert_int_equal(fd_.count[TK_MSG_CRED_LIST], 3);
	for (i = 0; i < total; i++) {
		snprintf(name, sizeof(name), "\"u%05zu\"", i);
		assert_non_null(strstr(out, name));
	}
	assert_null(strstr(out, "\"u00203\""));
	assert_int_equal(adm("-c", conffile, "list", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "u00000"));
	assert_non_null(strstr(out, "u00202"));

	/* a daemon that promises more but sends nothing: no endless loop */
	fd_.list_total = 0;
	fd_.list_more_empty = true;
	assert_int_equal(adm("-c", conffile, "list", NULL), TK_EXIT_FAIL);
}

static void
revoke_unlock_out(void **state)
{
	assert_int_equal(adm("-c", conffile, "--json", "revoke", "alice",
	    "3", NULL), TK_EXIT_OK);
	assert_string_equal(out, "{\"user\":\"alice\",\"revoked\":1}\n");
	assert_int_equal(adm("-c", conffile, "revoke", "alice", "--all",
	    NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "Revoked 1"));
	assert_int_equal(adm("-c", conffile, "--json", "unlock", "alice",
	    NULL), TK_EXIT_OK);
	assert_string_equal(out, "{\"user\":\"alice\",\"unlocked\":true,"
	    "\"failures_cleared\":4}\n");
}

static void
enroll_out(void **state)
{
	char png[200];
	struct stat st;

	/* stdin is not a terminal: JSON, pending */
	assert_int_equal(adm("-c", conffile, "enroll", "totp", "alice",
	    "--label", "phone", "--digits", "8", "--algorithm", "sha256",
	    NULL), TK_EXIT_OK);
	assert_string_equal(out, "{\"user\":\"alice\",\"credential\":7,"
	    "\"otpauth_uri\":\"otpauth://totp/tokend:alice?secret="
	    "JBSWY3DPEHPK3PXP&issuer=tokend\",\"state\":\"pending\"}\n");
	snprintf(png, sizeof(png), "%s/enroll.png", fd_.dir);
	assert_int_equal(adm("-c", conffile, "--json", "enroll", "totp",
	    "alice", "--qr-png", png, NULL), TK_EXIT_OK);
	assert_int_equal(stat(png, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* the PNG is never written over an existing file */
	assert_int_equal(adm("-c", conffile, "--json", "enroll", "totp",
	    "alice", "--qr-png", png, NULL), TK_EXIT_FAIL);
	unlink(png);
	assert_int_equal(adm("-c", conffile, "confirm", "alice", "7",
	    "123456", NULL), TK_EXIT_OK);
	assert_string_equal(fd_.code, "123456");
	assert_int_equal(adm("-c", conffile, "--json", "confirm", "alice",
	    "7", "12345678", NULL), TK_EXIT_OK);
	assert_string_equal(out, "{\"user\":\"alice\",\"credential\":7,"
	    "\"state\":\"active\"}\n");
}

/* --- init --- */

static void
read_key(const char *path, unsigned char key[32])
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fread(key, 1, 32, fp), 32);
	assert_int_equal(fgetc(fp), EOF);
	fclose(fp);
}

static void
init_key(void **state)
{
	unsigned char k1[32], k2[32];
	char key[300], dir[300];
	struct stat st;

	snprintf(key, sizeof(key), "%s/keys/master.key", initdir);
	assert_int_equal(adm("-c", initconf, "init", "--daemon", "/bin/true",
	    NULL), TK_EXIT_OK);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, 32);
	snprintf(dir, sizeof(dir), "%s/run", initdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(dir, sizeof(dir), "%s/db", initdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(dir, sizeof(dir), "%s/keys", initdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	read_key(key, k1);

	/* a second init refuses and leaves the key alone */
	assert_int_equal(adm("-c", initconf, "init", "--daemon", "/bin/true",
	    NULL), TK_EXIT_FAIL);
	assert_non_null(strstr(err, "exists; not overwritten"));
	read_key(key, k2);
	assert_memory_equal(k1, k2, sizeof(k1));

	/* a failing tokend -t is a failure */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(adm("-c", initconf, "init", "--daemon", "/bin/false",
	    NULL), TK_EXIT_FAIL);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(adm("-c", initconf, "init", "--daemon",
	    "/nonexistent/tokend", NULL), TK_EXIT_FAIL);

	/* JSON says what was done */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(adm("-c", initconf, "--json", "init", "--daemon",
	    "/bin/true", NULL), TK_EXIT_OK);
	assert_non_null(strstr(out, "\"master_key\":\""));
	assert_non_null(strstr(out, "\"created\":false"));
	read_key(key, k2);
	/* 32 fresh random bytes are not the old ones */
	assert_memory_not_equal(k1, k2, sizeof(k1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_escaping),
		cmocka_unit_test(json_structure),
		cmocka_unit_test(qr_terminal),
		cmocka_unit_test(qr_limits),
		cmocka_unit_test(qr_png),
		cmocka_unit_test(out_times),
		cmocka_unit_test(out_table),
		cmocka_unit_test(report_counting),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(help_everywhere),
		cmocka_unit_test(unreachable),
		cmocka_unit_test_setup(status_out, case_setup),
		cmocka_unit_test_setup(refusals, case_setup),
		cmocka_unit_test_setup(list_out, case_setup),
		cmocka_unit_test_setup(list_pages, case_setup),
		cmocka_unit_test_setup(revoke_unlock_out, case_setup),
		cmocka_unit_test_setup(enroll_out, case_setup),
		cmocka_unit_test_setup(list_fido2, case_setup),
		cmocka_unit_test(aaguid_names),
		cmocka_unit_test_setup(enroll_fido2_out, case_setup),
		cmocka_unit_test_setup(devices_out, case_setup),
		cmocka_unit_test_setup(reinstate_out, case_setup),
		cmocka_unit_test(init_key),
	};

	return (cmocka_run_group_tests_name("tokenadm", tests, group_setup,
	    group_teardown));
}
