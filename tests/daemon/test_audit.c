/*
 * test_audit.c -- audit.c: the syslog line of an event, its escaping
 * (no value can forge a field) and its size limit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "err.h"

static void
event_base(struct tk_audit_event *ev)
{
	struct tk_peer peer;

	memset(&peer, 0, sizeof(peer));
	peer.uid = 0;
	peer.pid = 123;
	tk_audit_event_init(ev, NULL, &peer, "totp_verify", "alice",
	    1700000000);
	ev->cred = 3;
	ev->service = "login";
	ev->tty = "tty1";
	ev->result = "ok";
}

static void
test_plain_line(void **state)
{
	struct tk_audit_event ev;
	char line[TK_AUDIT_LINE_MAX];

	(void)state;
	event_base(&ev);
	assert_int_equal(tk_audit_format(&ev, line, sizeof(line)), 0);
	assert_string_equal(line, "event=totp_verify user=alice cred=3 "
	    "service=login rhost= tty=tty1 uid=0 pid=123 result=ok reason=");
}

static void
test_absent_fields_are_empty(void **state)
{
	struct tk_audit_event ev;
	char line[TK_AUDIT_LINE_MAX];

	(void)state;
	tk_audit_event_init(&ev, NULL, NULL, "enroll_expire", NULL, 0);
	assert_int_equal(ev.uid, -1);
	assert_int_equal(ev.pid, -1);
	assert_int_equal(tk_audit_format(&ev, line, sizeof(line)), 0);
	assert_string_equal(line, "event=enroll_expire user= cred= service= "
	    "rhost= tty= uid= pid= result= reason=");
}

static void
test_forged_fields_are_quoted(void **state)
{
	struct tk_audit_event ev;
	char line[TK_AUDIT_LINE_MAX];

	(void)state;
	event_base(&ev);
	ev.user = "mallory result=ok";
	ev.rhost = "a\"b\\c";
	ev.reason = "line\nbreak\x7f";
	assert_int_equal(tk_audit_format(&ev, line, sizeof(line)), 0);
	assert_string_equal(line, "event=totp_verify "
	    "user=\"mallory result=ok\" cred=3 service=login "
	    "rhost=\"a\\\"b\\\\c\" tty=tty1 uid=0 pid=123 result=ok "
	    "reason=\"line\\x0abreak\\x7f\"");
	/* exactly one unquoted result= field */
	assert_non_null(strstr(line, " result=ok reason"));
	assert_null(strchr(line, '\n'));
}

static void
test_utf8_is_escaped(void **state)
{
	struct tk_audit_event ev;
	char line[TK_AUDIT_LINE_MAX];

	(void)state;
	event_base(&ev);
	ev.user = "\xe5\xb1\xb1";	/* a kanji */
	assert_int_equal(tk_audit_format(&ev, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "user=\"\\xe5\\xb1\\xb1\" "));
}

static void
test_worst_case_fits(void **state)
{
	struct tk_audit_event ev;
	char user[TK_USER_MAX + 1], rhost[TK_RHOST_MAX + 1];
	char reason[TK_REASON_MAX + 1], line[TK_AUDIT_LINE_MAX];
	char small[40];

	(void)state;
	memset(user, 0x01, TK_USER_MAX);
	user[TK_USER_MAX] = '\0';
	memset(rhost, 0xff, TK_RHOST_MAX);
	rhost[TK_RHOST_MAX] = '\0';
	memset(reason, '"', TK_REASON_MAX);
	reason[TK_REASON_MAX] = '\0';
	event_base(&ev);
	ev.user = user;
	ev.rhost = rhost;
	ev.reason = reason;
	assert_int_equal(tk_audit_format(&ev, line, sizeof(line)), 0);
	assert_true(strlen(line) > 4 * TK_USER_MAX);
	/* a buffer too small is an error, never a cut line */
	assert_int_equal(tk_audit_format(&ev, small, sizeof(small)),
	    TK_ERR_TOOBIG);
	assert_int_equal(tk_audit_format(&ev, line, 0), TK_ERR_TOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_absent_fields_are_empty),
		cmocka_unit_test(test_forged_fields_are_quoted),
		cmocka_unit_test(test_utf8_is_escaped),
		cmocka_unit_test(test_worst_case_fits),
	};

	return (cmocka_run_group_tests_name("audit", tests, NULL, NULL));
}
