/*
 * call.c -- one request to tokend for the PAM module (login.h): a
 * connection of its own to the configured socket, trusted only when its
 * listener runs as root or as [tokend] user, and the login context
 * (service, remote host, terminal) a verification carries.  Shared by
 * pam_tokend.so and the FIDO2 object it loads (fido2_load.c).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "log.h"
#include "login.h"

#define MS_PER_S	1000
#define PWBUF_DEFAULT	16384	/* when sysconf() has no answer, bytes */
#define PWBUF_MAX	(1024 * 1024)

/*
 * The uid tokend runs as, from [tokend] user, or (uid_t)-1 when that
 * account does not exist (then only a root-owned listener is trusted).
 */
static uid_t
daemon_uid(const char *name)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	long n;
	size_t len;
	uid_t uid = (uid_t)-1;
	int e;

	if (name == NULL || *name == '\0')
		goto out;
	n = sysconf(_SC_GETPW_R_SIZE_MAX);
	len = n > 0 && n <= PWBUF_MAX ? (size_t)n : PWBUF_DEFAULT;
	for (;;) {
		free(buf);
		if ((buf = malloc(len)) == NULL)
			goto out;
		e = getpwnam_r(name, &pw, buf, len, &res);
		if (e != ERANGE || len > PWBUF_MAX / 2)
			break;
		len *= 2;
	}
	if (e == 0 && res != NULL)
		uid = res->pw_uid;
 out:
	free(buf);
	return (uid);
}

int
tk_login_call(const struct tk_login *l, const tk_msg_t *req,
    tk_msg_t **ansp)
{
	tk_client_t *cl = NULL;
	int r, timeout_ms;

	*ansp = NULL;
	timeout_ms = l->conf->timeout > INT_MAX / MS_PER_S ? INT_MAX :
	    (int)l->conf->timeout * MS_PER_S;
	tk_log(LOG_DEBUG, "%s: %s to %s", __func__,
	    tk_msg_type_name(tk_msg_type(req)), l->conf->socket);
	if ((r = tk_client_open(l->conf->socket, timeout_ms,
	    daemon_uid(l->conf->user), &cl)) != 0) {
		tk_log(LOG_ERR, "cannot reach tokend at %s: %s",
		    l->conf->socket, tk_strerr(r));
		goto fail;
	}
	if ((r = tk_client_call(cl, req, ansp)) != 0) {
		tk_log(LOG_ERR, "%s to tokend at %s: %s",
		    tk_msg_type_name(tk_msg_type(req)), l->conf->socket,
		    tk_strerr(r));
		goto fail;
	}
	tk_log(LOG_DEBUG, "%s: answer %s", __func__,
	    tk_status_name(tk_msg_status(*ansp)));

	r = 0; /* success */
 fail:
	tk_client_close(&cl);
	return (r);
}

/* Adds a PAM item as an optional text field when the item is set. */
static int
set_item(const struct tk_login *l, tk_msg_t *req, enum tk_key key,
    int item_type)
{
	const void *item = NULL;
	int r;

	if (pam_get_item(l->pamh, item_type, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0')
		return (0);
	/* fail closed: an item tokend cannot carry is not dropped quietly */
	if ((r = tk_msg_set_text(req, key, item)) != 0)
		tk_log(LOG_ERR, "PAM item %d cannot be sent: %s", item_type,
		    tk_strerr(r));
	return (r);
}

int
tk_login_context(const struct tk_login *l, tk_msg_t *req)
{
	int r;

	if ((r = set_item(l, req, TK_KEY_SERVICE, PAM_SERVICE)) != 0 ||
	    (r = set_item(l, req, TK_KEY_RHOST, PAM_RHOST)) != 0 ||
	    (r = set_item(l, req, TK_KEY_TTY, PAM_TTY)) != 0)
		return (r);
	return (0);
}

