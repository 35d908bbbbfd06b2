/*
 * faked.c -- the scripted stand-in for tokend used by the client tests.
 * It speaks the real framing and messages of common/, one request per
 * connection, and is stopped by a flag checked every few milliseconds.
 */
#include "config.h"

#include <inttypes.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faked.h"
#include "frame.h"
#include "msg.h"
#include "wipe.h"

#define POLL_MS		20
#define IO_MS		2000

static void
copy_text(char *dst, size_t len, const tk_msg_t *m, enum tk_key key)
{
	const char *s = tk_msg_get_text(m, key);

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

/* Fills the fields an ok answer of each type must carry. */
static int
fill_pages(struct faked *f, tk_msg_t *a, uint64_t offset)
{
	tk_msg_t *rec;
	uint64_t i, end;
	char user[32];
	int r = 0;

	if (f->list_more_empty)
		return (tk_msg_set_bool(a, TK_KEY_MORE, true));
	end = f->list_total - offset > TK_LIST_PAGE ?
	    offset + TK_LIST_PAGE : f->list_total;
	for (i = offset; i < end; i++) {
		if ((rec = tk_msg_add_record(a, TK_KEY_CREDS)) == NULL)
			return (-1);
		snprintf(user, sizeof(user), "u%05" PRIu64, i);
		r |= tk_msg_set_text(rec, TK_KEY_USER, user);
		r |= tk_msg_set_uint(rec, TK_KEY_CRED, i + 1);
		r |= tk_msg_set_text(rec, TK_KEY_KIND, "totp");
		r |= tk_msg_set_text(rec, TK_KEY_STATE, "active");
		r |= tk_msg_set_uint(rec, TK_KEY_CREATED, 1700000000);
		r |= tk_msg_set_uint(rec, TK_KEY_LAST_USED, 0);
	}
	if (end < f->list_total)
		r |= tk_msg_set_bool(a, TK_KEY_MORE, true);
	return (r != 0 ? -1 : 0);
}

/* FIDO2 answers for tokenadm (test_adm): enrollment and reinstate */
static int
fill_fido2_adm(struct faked *f, tk_msg_t *a, uint32_t type)
{
	static const unsigned char aaguid[16] = {	/* YubiKey 5 Series */
		0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39,
		0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8
	};
	unsigned char bytes[32];
	tk_msg_t *rec;
	unsigned i;
	int r = 0;

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i + 1);
	switch (type) {
	case TK_MSG_FIDO2_ENROLL_BEGIN:
		r |= tk_msg_set_text(a, TK_KEY_USER, f->user);
		r |= tk_msg_set_uint(a, TK_KEY_CHALLENGE_ID, 21);
		r |= tk_msg_set_bytes(a, TK_KEY_CHALLENGE, bytes, 32);
		r |= tk_msg_set_text(a, TK_KEY_RP_ID, f->fido2_rp_id);
		r |= tk_msg_set_bytes(a, TK_KEY_USER_HANDLE, bytes, 32);
		r |= tk_msg_set_text(a, TK_KEY_ALGORITHMS, "es256,eddsa,rs256");
		r |= tk_msg_set_text(a, TK_KEY_UV, f->fido2_uv);
		for (i = 0; i < f->fido2_ncreds && i < 4; i++) {
			if ((rec = tk_msg_add_record(a, TK_KEY_CRED_IDS)) ==
			    NULL)
				return (-1);
			r |= tk_msg_set_bytes(rec, TK_KEY_CRED_ID,
			    f->fido2_cred[i], f->fido2_cred_len[i]);
		}
		r |= tk_msg_set_uint(a, TK_KEY_EXPIRES, 1700000300);
		break;
	case TK_MSG_FIDO2_ENROLL_FINISH:
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 9);
		r |= tk_msg_set_bytes(a, TK_KEY_CRED_ID, bytes, 3);
		r |= tk_msg_set_bytes(a, TK_KEY_AAGUID, aaguid, 16);
		r |= tk_msg_set_text(a, TK_KEY_ALGORITHM, "es256");
		r |= tk_msg_set_text(a, TK_KEY_FMT, "packed");
		r |= tk_msg_set_text(a, TK_KEY_STATE, "active");
		break;
	case TK_MSG_CRED_REINSTATE:
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 5);
		r |= tk_msg_set_text(a, TK_KEY_STATE, "active");
		break;
	}
	return (r != 0 ? -1 : 0);
}

/* CRED_LIST with list_fido2: a suspended FIDO2 credential of alice */
static int
add_fido2_record(tk_msg_t *a)
{
	static const unsigned char aaguid[16] = {	/* YubiKey 5 Series */
		0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39,
		0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8
	};
	tk_msg_t *rec;
	int r = 0;

	if ((rec = tk_msg_add_record(a, TK_KEY_CREDS)) == NULL)
		return (-1);
	r |= tk_msg_set_text(rec, TK_KEY_USER, "alice");
	r |= tk_msg_set_uint(rec, TK_KEY_CRED, 5);
	r |= tk_msg_set_text(rec, TK_KEY_KIND, "fido2");
	r |= tk_msg_set_text(rec, TK_KEY_LABEL, "key 1");
	r |= tk_msg_set_text(rec, TK_KEY_STATE, "suspended");
	r |= tk_msg_set_uint(rec, TK_KEY_CREATED, 1700000000);
	r |= tk_msg_set_uint(rec, TK_KEY_LAST_USED, 1700000600);
	r |= tk_msg_set_text(rec, TK_KEY_ALGORITHM, "es256");
	r |= tk_msg_set_bool(rec, TK_KEY_LOCKED, false);
	r |= tk_msg_set_uint(rec, TK_KEY_FAILURES, 0);
	r |= tk_msg_set_bytes(rec, TK_KEY_AAGUID, aaguid, 16);
	r |= tk_msg_set_uint(rec, TK_KEY_SIGN_COUNT, 42);
	r |= tk_msg_set_text(rec, TK_KEY_FMT, "packed");
	r |= tk_msg_set_text(rec, TK_KEY_UV, "required");
	return (r != 0 ? -1 : 0);
}

static int
fill_ok(struct faked *f, tk_msg_t *a, uint32_t type)
{
	tk_msg_t *rec;
	int i, r = 0;

	switch (type) {
	case TK_MSG_STATUS:
		r |= tk_msg_set_text(a, TK_KEY_DAEMON_VERSION, "0.1.0");
		r |= tk_msg_set_uint(a, TK_KEY_UPTIME, 90061);
		r |= tk_msg_set_uint(a, TK_KEY_USERS, 2);
		r |= tk_msg_set_uint(a, TK_KEY_CREDS_COUNT, 3);
		r |= tk_msg_set_uint(a, TK_KEY_LOCKED_USERS, 1);
		r |= tk_msg_set_bool(a, TK_KEY_STORE_OK, true);
		r |= tk_msg_set_text(a, TK_KEY_STORE_KIND, "sqlite");
		break;
	case TK_MSG_USER_STATUS:
		r |= tk_msg_set_uint(a, TK_KEY_FACTORS, f->factors);
		r |= tk_msg_set_bool(a, TK_KEY_LOCKED, f->locked);
		r |= tk_msg_set_uint(a, TK_KEY_FAILURES, 0);
		if (f->grant_until != 0)
			r |= tk_msg_set_uint(a, TK_KEY_EXPIRES,
			    f->grant_until);
		break;
	case TK_MSG_TOTP_VERIFY:
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 1);
		if (f->recovery_left >= 0)
			r |= tk_msg_set_uint(a, TK_KEY_RECOVERY_LEFT,
			    (uint64_t)f->recovery_left);
		break;
	case TK_MSG_TOTP_ENROLL_BEGIN:
		r |= tk_msg_set_text(a, TK_KEY_USER, f->user);
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 7);
		r |= tk_msg_set_text(a, TK_KEY_URI, "otpauth://totp/tokend:"
		    "alice?secret=JBSWY3DPEHPK3PXP&issuer=tokend");
		r |= tk_msg_set_text(a, TK_KEY_STATE, "pending");
		break;
	case TK_MSG_TOTP_ENROLL_CONFIRM:
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 7);
		r |= tk_msg_set_text(a, TK_KEY_STATE, "active");
		break;
	case TK_MSG_CRED_LIST:
		if (f->list_total != 0 || f->list_more_empty)
			return (fill_pages(f, a, f->offset < f->list_total ?
			    f->offset : f->list_total));
		for (i = 0; i < 2; i++) {
			if ((rec = tk_msg_add_record(a, TK_KEY_CREDS)) == NULL)
				return (-1);
			r |= tk_msg_set_text(rec, TK_KEY_USER, "alice");
			r |= tk_msg_set_uint(rec, TK_KEY_CRED, 1 + i);
			r |= tk_msg_set_text(rec, TK_KEY_KIND, "totp");
			r |= tk_msg_set_text(rec, TK_KEY_STATE, i == 0 ?
			    "active" : "pending");
			if (i == 0)
				r |= tk_msg_set_text(rec, TK_KEY_LABEL,
				    "phone \"work\"");
			r |= tk_msg_set_uint(rec, TK_KEY_CREATED, 1700000000);
			r |= tk_msg_set_uint(rec, TK_KEY_LAST_USED,
			    i == 0 ? 1700000600 : 0);
			r |= tk_msg_set_uint(rec, TK_KEY_DIGITS, 6);
			r |= tk_msg_set_text(rec, TK_KEY_ALGORITHM, "sha1");
			r |= tk_msg_set_bool(rec, TK_KEY_LOCKED, false);
			r |= tk_msg_set_uint(rec, TK_KEY_FAILURES, 0);
		}
		if (f->list_fido2 && add_fido2_record(a) != 0)
			return (-1);
		break;
	case TK_MSG_CRED_REVOKE:
		r |= tk_msg_set_uint(a, TK_KEY_CREDS_COUNT, 1);
		break;
	case TK_MSG_USER_UNLOCK:
		r |= tk_msg_set_uint(a, TK_KEY_FAILURES, 4);
		break;
	case TK_MSG_GRANT_LIST:
		break;		/* no grants: an empty list */
	case TK_MSG_FIDO2_BEGIN:
		f->fido2_challenge_id++;
		for (i = 0; i < 32; i++)
			f->fido2_challenge[i] = (unsigned char)(rand() & 0xff);
		r |= tk_msg_set_uint(a, TK_KEY_CHALLENGE_ID,
		    f->fido2_challenge_id);
		r |= tk_msg_set_bytes(a, TK_KEY_CHALLENGE, f->fido2_challenge,
		    sizeof(f->fido2_challenge));
		r |= tk_msg_set_text(a, TK_KEY_RP_ID, f->fido2_rp_id);
		for (i = 0; i < (int)f->fido2_ncreds && i < 4; i++) {
			if ((rec = tk_msg_add_record(a, TK_KEY_CRED_IDS)) ==
			    NULL)
				return (-1);
			r |= tk_msg_set_bytes(rec, TK_KEY_CRED_ID,
			    f->fido2_cred[i], f->fido2_cred_len[i]);
		}
		r |= tk_msg_set_text(a, TK_KEY_UV, f->fido2_uv);
		r |= tk_msg_set_bool(a, TK_KEY_UP, f->fido2_up);
		r |= tk_msg_set_uint(a, TK_KEY_EXPIRES,
		    (uint64_t)((int64_t)time(NULL) + f->fido2_ttl));
		break;
	case TK_MSG_FIDO2_FINISH:
		r |= tk_msg_set_uint(a, TK_KEY_CRED, 3);
		r |= tk_msg_set_uint(a, TK_KEY_SIGN_COUNT, 1);
		break;
	case TK_MSG_FIDO2_ENROLL_BEGIN:
	case TK_MSG_FIDO2_ENROLL_FINISH:
	case TK_MSG_CRED_REINSTATE:
		return (fill_fido2_adm(f, a, type));
	}
	return (r != 0 ? -1 : 0);
}

/* Records what a FIDO2_FINISH request carried. */
static void
finish_record(struct faked *f, const tk_msg_t *req)
{
	const unsigned char *p;
	size_t len;

	copy_text(f->service, sizeof(f->service), req, TK_KEY_SERVICE);
	copy_text(f->tty, sizeof(f->tty), req, TK_KEY_TTY);
	if (tk_msg_get_uint(req, TK_KEY_CHALLENGE_ID,
	    &f->finish_challenge_id) != 0)
		f->finish_challenge_id = 0;
	f->finish_cred_len = f->finish_authdata_len = f->finish_sig_len = 0;
	if (tk_msg_get_bytes(req, TK_KEY_CRED_ID, &p, &len) == 0 &&
	    len <= sizeof(f->finish_cred)) {
		memcpy(f->finish_cred, p, len);
		f->finish_cred_len = len;
	}
	if (tk_msg_get_bytes(req, TK_KEY_AUTHDATA, &p, &len) == 0 &&
	    len <= sizeof(f->finish_authdata)) {
		memcpy(f->finish_authdata, p, len);
		f->finish_authdata_len = len;
	}
	if (tk_msg_get_bytes(req, TK_KEY_SIG, &p, &len) == 0 &&
	    len <= sizeof(f->finish_sig)) {
		memcpy(f->finish_sig, p, len);
		f->finish_sig_len = len;
	}
}

/* Answers one connection. */
static void
serve(struct faked *f, int fd)
{
	unsigned char *body = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	tk_msg_t *req = NULL, *ans = NULL;
	enum tk_status st;
	uint32_t type;

	if (tk_frame_read(fd, &body, &len, IO_MS) != 0 ||
	    tk_msg_decode(body, len, TK_DIR_REQUEST, &req) != 0)
		goto out;
	type = tk_msg_type(req);
	pthread_mutex_lock(&f->lock);
	f->count[type]++;
	if (tk_msg_has(req, TK_KEY_CODE))
		copy_text(f->code, sizeof(f->code), req, TK_KEY_CODE);
	if (tk_msg_has(req, TK_KEY_USER))
		copy_text(f->user, sizeof(f->user), req, TK_KEY_USER);
	if (type == TK_MSG_CRED_LIST &&
	    tk_msg_get_uint(req, TK_KEY_OFFSET, &f->offset) != 0)
		f->offset = 0;
	if (type == TK_MSG_TOTP_VERIFY) {
		copy_text(f->service, sizeof(f->service), req,
		    TK_KEY_SERVICE);
		copy_text(f->tty, sizeof(f->tty), req, TK_KEY_TTY);
	}
	if (type == TK_MSG_FIDO2_FINISH)
		finish_record(f, req);
	st = f->status[type];
	pthread_mutex_unlock(&f->lock);

	if ((ans = tk_msg_new_answer(type, st)) == NULL)
		goto out;
	if (st == TK_ST_OK && fill_ok(f, ans, type) != 0)
		goto out;
	if (st == TK_ST_THROTTLED &&
	    tk_msg_set_uint(ans, TK_KEY_RETRY_AFTER, f->retry_after) != 0)
		goto out;
	if (st == TK_ST_GRANTED && !f->grant_no_expires &&
	    tk_msg_set_uint(ans, TK_KEY_EXPIRES, f->grant_until) != 0)
		goto out;
	if (tk_msg_encode(ans, &out, &outlen) != 0)
		goto out;
	(void)tk_frame_write(fd, out, outlen, IO_MS);
 out:
	tk_freezero(body, len);
	tk_freezero(out, outlen);
	tk_msg_free(&req);
	tk_msg_free(&ans);
}

static void *
loop(void *arg)
{
	struct faked *f = arg;
	struct pollfd pfd;
	int fd;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		if (!f->running) {
			pthread_mutex_unlock(&f->lock);
			break;
		}
		pthread_mutex_unlock(&f->lock);
		pfd.fd = f->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		if ((fd = accept(f->lfd, NULL, NULL)) == -1)
			continue;
		serve(f, fd);
		close(fd);
	}
	return (NULL);
}

void
faked_reset(struct faked *f)
{
	size_t i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < TK_MSG_TYPE_END; i++) {
		f->status[i] = TK_ST_OK;
		f->count[i] = 0;
	}
	f->factors = TK_FACTOR_TOTP;
	f->locked = false;
	f->retry_after = 0;
	f->list_total = 0;
	f->list_more_empty = false;
	f->list_fido2 = false;
	f->grant_until = 0;
	f->grant_no_expires = false;
	f->recovery_left = -1;
	f->offset = 0;
	memset(f->fido2_cred, 0, sizeof(f->fido2_cred));
	memset(f->fido2_cred_len, 0, sizeof(f->fido2_cred_len));
	f->fido2_ncreds = 0;
	snprintf(f->fido2_rp_id, sizeof(f->fido2_rp_id), "tokend");
	snprintf(f->fido2_uv, sizeof(f->fido2_uv), "required");
	f->fido2_up = true;
	f->fido2_ttl = 60;
	f->fido2_challenge_id = 0;
	f->finish_challenge_id = 0;
	f->finish_cred_len = f->finish_authdata_len = f->finish_sig_len = 0;
	f->code[0] = f->service[0] = f->tty[0] = f->user[0] = '\0';
	pthread_mutex_unlock(&f->lock);
}

int
faked_start(struct faked *f)
{
	struct sockaddr_un sa;

	memset(f, 0, sizeof(*f));
	f->lfd = -1;
	pthread_mutex_init(&f->lock, NULL);
	faked_reset(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tk-clients-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return (-1);
	snprintf(f->socket, sizeof(f->socket), "%s/socket", f->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->socket);
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(f->lfd, 16) != 0)
		return (-1);
	f->running = true;
	if (pthread_create(&f->thread, NULL, loop, f) != 0) {
		f->running = false;
		return (-1);
	}
	return (0);
}

void
faked_stop(struct faked *f)
{
	bool joined;

	pthread_mutex_lock(&f->lock);
	joined = f->running;
	f->running = false;
	pthread_mutex_unlock(&f->lock);
	if (joined)
		pthread_join(f->thread, NULL);
	if (f->lfd != -1)
		close(f->lfd);
	unlink(f->socket);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->lock);
}
