/*
 * test_role_dispatch.c -- role.c and dispatch.c: the request table for
 * every role and type, SO_PEERCRED-style resolution through NSS, and
 * the answers to requests that did not decode.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dispatch.h"
#include "err.h"
#include "msg.h"
#include "role.h"

#define OK	TK_ST_OK
#define NO	TK_ST_DENIED

/* columns: none, self (own user), self (other user), admin, root */
static const struct {
	uint32_t	type;
	enum tk_status	expect[5];
} matrix[] = {
	{ TK_MSG_STATUS,		{ NO, OK, OK, OK, OK } },
	{ TK_MSG_USER_STATUS,		{ NO, OK, NO, OK, OK } },
	{ TK_MSG_TOTP_VERIFY,		{ NO, OK, NO, OK, OK } },
	{ TK_MSG_TOTP_ENROLL_BEGIN,	{ NO, NO, NO, OK, OK } },
	{ TK_MSG_TOTP_ENROLL_CONFIRM,	{ NO, NO, NO, OK, OK } },
	{ TK_MSG_CRED_LIST,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_CRED_REVOKE,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_USER_UNLOCK,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_AUDIT_VERIFY,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_AUDIT_EXPORT,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_RECOVERY_ISSUE,	{ NO, NO, NO, OK, OK } },
	{ TK_MSG_GRANT,			{ NO, NO, NO, OK, OK } },
	{ TK_MSG_GRANT_REVOKE,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_GRANT_LIST,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_GRANT_USE,		{ NO, OK, NO, OK, OK } },
	{ TK_MSG_BACKUP,		{ NO, NO, NO, NO, OK } },
	{ TK_MSG_AUDIT_PRUNE,		{ NO, NO, NO, OK, OK } },
	{ TK_MSG_FIDO2_ENROLL_BEGIN,	{ NO, NO, NO, OK, OK } },
	{ TK_MSG_FIDO2_ENROLL_FINISH,	{ NO, NO, NO, OK, OK } },
	{ TK_MSG_FIDO2_BEGIN,		{ NO, OK, NO, OK, OK } },
	{ TK_MSG_FIDO2_FINISH,		{ NO, OK, NO, OK, OK } },
	{ TK_MSG_CRED_REINSTATE,	{ NO, NO, NO, OK, OK } },
};

#define NMATRIX	(sizeof(matrix) / sizeof(matrix[0]))

static void
test_every_type_in_table(void **state)
{
	const struct tk_dispatch_entry *e;
	uint32_t t;

	(void)state;
	/* the matrix covers every type the protocol has */
	assert_int_equal(NMATRIX, TK_MSG_TYPE_END - 1);
	for (t = 1; t < TK_MSG_TYPE_END; t++) {
		assert_non_null(e = tk_dispatch_lookup(t));
		assert_int_equal(e->type, t);
		assert_non_null(e->handler);
	}
	assert_null(tk_dispatch_lookup(0));
	assert_null(tk_dispatch_lookup(TK_MSG_TYPE_END));
}

static void
test_role_by_type(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NMATRIX; i++) {
		uint32_t t = matrix[i].type;

		print_message("# %s\n", tk_msg_type_name(t));
		assert_int_equal(tk_dispatch_permit(TK_ROLE_NONE, "alice", t,
		    "alice"), matrix[i].expect[0]);
		assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice", t,
		    t == TK_MSG_STATUS ? NULL : "alice"), matrix[i].expect[1]);
		assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice", t,
		    t == TK_MSG_STATUS ? NULL : "bob"), matrix[i].expect[2]);
		assert_int_equal(tk_dispatch_permit(TK_ROLE_ADMIN, "carol", t,
		    "bob"), matrix[i].expect[3]);
		assert_int_equal(tk_dispatch_permit(TK_ROLE_ROOT, "root", t,
		    "bob"), matrix[i].expect[4]);
	}
}

static void
test_self_names_are_exact(void **state)
{
	(void)state;
	/* no prefix, case or missing-name tricks */
	assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice",
	    TK_MSG_TOTP_VERIFY, "alice2"), NO);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice",
	    TK_MSG_TOTP_VERIFY, "Alice"), NO);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice",
	    TK_MSG_TOTP_VERIFY, "alic"), NO);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, NULL,
	    TK_MSG_TOTP_VERIFY, "alice"), NO);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_SELF, "alice",
	    TK_MSG_USER_STATUS, ""), NO);
}

static void
test_unknown_type(void **state)
{
	(void)state;
	assert_int_equal(tk_dispatch_permit(TK_ROLE_ROOT, "root", 0, NULL),
	    TK_ST_BAD_REQUEST);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_ROOT, "root",
	    TK_MSG_TYPE_END, NULL), TK_ST_BAD_REQUEST);
	assert_int_equal(tk_dispatch_permit(TK_ROLE_ROOT, "root", 250, NULL),
	    TK_ST_BAD_REQUEST);
}

static void
test_resolve_root(void **state)
{
	struct tk_peer p;

	(void)state;
	assert_int_equal(tk_role_resolve(0, 0, 42, "tokend-admin", &p), 0);
	assert_int_equal(p.role, TK_ROLE_ROOT);
	assert_int_equal(p.pid, 42);
	assert_string_equal(tk_role_name(p.role), "root");
}

static void
test_resolve_self_and_admin(void **state)
{
	struct passwd *pw;
	struct group *gr;
	struct tk_peer p;
	char name[TK_USER_MAX + 1], group[256];
	uid_t uid;
	gid_t gid;

	(void)state;
	if ((pw = getpwnam("nobody")) == NULL || pw->pw_uid == 0) {
		skip();
		return;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	assert_true(strlen(pw->pw_name) < sizeof(name));
	strcpy(name, pw->pw_name);
	if ((gr = getgrgid(gid)) == NULL) {
		skip();
		return;
	}
	assert_true(strlen(gr->gr_name) < sizeof(group));
	strcpy(group, gr->gr_name);

	/* not in the admin group: self, with the login name */
	assert_int_equal(tk_role_resolve(uid, gid, 7,
	    "tk-test-no-such-group", &p), 0);
	assert_int_equal(p.role, TK_ROLE_SELF);
	assert_string_equal(p.user, name);
	assert_int_equal(p.uid, uid);
	assert_int_equal(tk_role_resolve(uid, gid, 7, "", &p), 0);
	assert_int_equal(p.role, TK_ROLE_SELF);

	/* the admin group is its primary group: admin */
	assert_int_equal(tk_role_resolve(uid, gid, 7, group, &p), 0);
	assert_int_equal(p.role, TK_ROLE_ADMIN);
	assert_string_equal(p.user, name);
	/* also when only the passwd entry says so (kernel gid differs) */
	assert_int_equal(tk_role_resolve(uid, (gid_t)123456, 7, group, &p),
	    0);
	assert_int_equal(p.role, TK_ROLE_ADMIN);
}

static void
test_resolve_unknown_uid(void **state)
{
	struct tk_peer p;
	uid_t uid = (uid_t)2147000001;

	(void)state;
	if (getpwuid(uid) != NULL) {
		skip();
		return;
	}
	assert_int_equal(tk_role_resolve(uid, 100, 1, "tokend-admin", &p),
	    TK_ERR_UNTRUSTED);
	assert_int_equal(p.role, TK_ROLE_NONE);
}

static void
test_resolve_from_socket(void **state)
{
	struct tk_peer p;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(tk_role_from_socket(sv[0], "tokend-admin", &p), 0);
	assert_int_equal(p.uid, geteuid());
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.role, geteuid() == 0 ? TK_ROLE_ROOT : p.role);
	assert_true(p.role != TK_ROLE_NONE);
	(void)close(sv[0]);
	(void)close(sv[1]);
	assert_int_equal(tk_role_from_socket(-1, "tokend-admin", &p),
	    TK_ERR_IO);
}

static void
check_error_answer(const unsigned char *body, size_t len, int err,
    uint32_t type, enum tk_status st)
{
	tk_msg_t *an = NULL;

	assert_int_equal(tk_dispatch_error(body, len, err, &an), 0);
	assert_non_null(an);
	assert_int_equal(tk_msg_type(an), type);
	assert_int_equal(tk_msg_status(an), st);
	tk_msg_free(&an);
}

static void
test_error_answers(void **state)
{
	/* {0: 1, 1: 3, 10: 5}: a TOTP_VERIFY with a uint user */
	static const unsigned char verify[] = { 0xa3, 0x00, 0x01, 0x01, 0x03,
	    0x0a, 0x05 };
	/* {0: 99, 1: 2}: unknown version */
	static const unsigned char version[] = { 0xa2, 0x00, 0x18, 0x63,
	    0x01, 0x02 };
	/* {1: 0x0006 in two bytes, 0: 1} */
	static const unsigned char wide[] = { 0xa2, 0x01, 0x19, 0x00, 0x06,
	    0x00, 0x01 };
	/* {0: true, 1: 8} */
	static const unsigned char boolfirst[] = { 0xa2, 0x00, 0xf5, 0x01,
	    0x08 };

	(void)state;
	check_error_answer(verify, sizeof(verify), TK_ERR_PROTO,
	    TK_MSG_TOTP_VERIFY, TK_ST_BAD_REQUEST);
	check_error_answer(version, sizeof(version), TK_ERR_VERSION,
	    TK_MSG_USER_STATUS, TK_ST_VERSION);
	check_error_answer(wide, sizeof(wide), TK_ERR_PROTO,
	    TK_MSG_CRED_LIST, TK_ST_BAD_REQUEST);
	check_error_answer(boolfirst, sizeof(boolfirst), TK_ERR_PROTO,
	    TK_MSG_USER_UNLOCK, TK_ST_BAD_REQUEST);
}

static void
test_error_without_type(void **state)
{
	static const unsigned char notmap[] = { 0x82, 0x00, 0x01 };
	static const unsigned char badtype[] = { 0xa2, 0x00, 0x01, 0x01,
	    0x18, 0xfa };				/* type 250 */
	static const unsigned char texttype[] = { 0xa2, 0x00, 0x01, 0x01,
	    0x61, 0x31 };				/* type "1" */
	static const unsigned char textfirst[] = { 0xa2, 0x0a, 0x61, 0x61,
	    0x01, 0x01 };		/* {10: "a", 1: 1}: scan stops */
	static const unsigned char truncated[] = { 0xa2, 0x00, 0x01, 0x01,
	    0x19, 0x00 };
	static const unsigned char indefinite[] = { 0xbf, 0x00, 0x01, 0x01,
	    0x01, 0xff };
	static const unsigned char simplekey[] = { 0xa1, 0xf5, 0x01 };
	tk_msg_t *an = NULL;

	(void)state;
	assert_int_equal(tk_dispatch_error(notmap, sizeof(notmap),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(badtype, sizeof(badtype),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(texttype, sizeof(texttype),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(textfirst, sizeof(textfirst),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(truncated, sizeof(truncated),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(indefinite, sizeof(indefinite),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(simplekey, sizeof(simplekey),
	    TK_ERR_PROTO, &an), TK_ERR_PROTO);
	assert_int_equal(tk_dispatch_error(NULL, 0, TK_ERR_PROTO, &an),
	    TK_ERR_PROTO);
	/* only the announced pairs are read */
	assert_int_equal(tk_dispatch_error(badtype, 3, TK_ERR_PROTO, &an),
	    TK_ERR_PROTO);
	assert_null(an);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_in_table),
		cmocka_unit_test(test_role_by_type),
		cmocka_unit_test(test_self_names_are_exact),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_resolve_root),
		cmocka_unit_test(test_resolve_self_and_admin),
		cmocka_unit_test(test_resolve_unknown_uid),
		cmocka_unit_test(test_resolve_from_socket),
		cmocka_unit_test(test_error_answers),
		cmocka_unit_test(test_error_without_type),
	};

	return (cmocka_run_group_tests_name("role_dispatch", tests, NULL,
	    NULL));
}
