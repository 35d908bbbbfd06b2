/*
 * call.c -- tokenadm's side of the socket: read tokend.conf, find out
 * whom to trust, send one request per connection, and turn failures into
 * exit codes and sentences.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"
#include "i18n.h"
#include "tokenadm.h"

#define MS_PER_S	1000
#define CONF_ERR_MAX	512	/* a configuration error message, bytes */

int
tk_adm_conf(struct tk_adm *c)
{
	char err[CONF_ERR_MAX];
	int r;

	if (c->conf_loaded)
		return (TK_EXIT_OK);
	err[0] = '\0';
	if ((r = tk_conf_init(&c->conf)) != 0) {
		fprintf(stderr, "tokenadm: %s\n", tk_strerr(r));
		return (TK_EXIT_FAIL);
	}
	if (c->conf_path != NULL)
		r = tk_conf_load(&c->conf, c->conf_path, false, err,
		    sizeof(err));
	else
		r = tk_conf_load(&c->conf, TK_CONF_DEFAULT_PATH, true, err,
		    sizeof(err));
	if (r != 0) {
		fprintf(stderr, "tokenadm: %s\n",
		    err[0] != '\0' ? err : tk_strerr(r));
		return (TK_EXIT_FAIL);
	}
	c->conf_loaded = true;
	return (TK_EXIT_OK);
}

/* uid of the [tokend] user, or (uid_t)-1 when it does not exist */
static uid_t
daemon_uid(const char *name)
{
	struct passwd *pw;

	if (name == NULL || *name == '\0')
		return ((uid_t)-1);
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return ((uid_t)-1);
	return (pw->pw_uid);
}

int
tk_adm_exchange(struct tk_adm *c, const tk_msg_t *req, tk_msg_t **ansp)
{
	tk_client_t *cl = NULL;
	unsigned timeout;
	int r, ex;

	*ansp = NULL;
	if ((ex = tk_adm_conf(c)) != TK_EXIT_OK)
		goto fail;
	timeout = c->timeout != 0 ? c->timeout : c->conf.timeout;
	if (timeout > INT_MAX / MS_PER_S)
		timeout = INT_MAX / MS_PER_S;
	if ((r = tk_client_open(c->conf.socket, (int)timeout * MS_PER_S,
	    daemon_uid(c->conf.user), &cl)) != 0) {
		fprintf(stderr, _("tokenadm: cannot reach tokend at %s: %s\n"),
		    c->conf.socket, tk_strerr(r));
		ex = r == TK_ERR_NOMEM || r == TK_ERR_INVAL ? TK_EXIT_FAIL :
		    TK_EXIT_UNREACHABLE;
		goto fail;
	}
	if ((r = tk_client_call(cl, req, ansp)) != 0) {
		switch (r) {
		case TK_ERR_TIMEOUT:
		case TK_ERR_CLOSED:
		case TK_ERR_IO:
			fprintf(stderr, _("tokenadm: tokend at %s did not "
			    "answer: %s\n"), c->conf.socket, tk_strerr(r));
			ex = TK_EXIT_UNREACHABLE;
			break;
		default:
			fprintf(stderr, _("tokenadm: bad answer from tokend "
			    "at %s: %s\n"), c->conf.socket, tk_strerr(r));
			ex = TK_EXIT_FAIL;
			break;
		}
		goto fail;
	}

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_client_close(&cl);
	return (ex);
}

/* What a refusal means, in words for the administrator. */
static const char *
status_text(enum tk_status st)
{
	switch (st) {
	case TK_ST_OK:
		return (_("done"));
	case TK_ST_WRONG:
		return (_("wrong code"));
	case TK_ST_REPLAY:
		return (_("code already used"));
	case TK_ST_LOCKED:
		return (_("locked after too many failures"));
	case TK_ST_NOT_ENROLLED:
		return (_("no active credential"));
	case TK_ST_THROTTLED:
		return (_("too many attempts; try again later"));
	case TK_ST_DENIED:
		return (_("permission denied"));
	case TK_ST_BAD_REQUEST:
		return (_("request refused as invalid"));
	case TK_ST_NOT_FOUND:
		return (_("no such user or credential"));
	case TK_ST_EXISTS:
		return (_("already exists"));
	case TK_ST_INTERNAL:
		return (_("internal error in tokend (see its log)"));
	case TK_ST_VERSION:
		return (_("tokend speaks another protocol version"));
	case TK_ST_EXPIRED:
		return (_("pending enrollment expired; enroll again"));
	case TK_ST_GRANTED:
		return (_("emergency access granted"));
	case TK_ST_SUSPENDED:
		return (_("credential suspended: possible cloned key"));
	case TK_ST_NOT_ALLOWED:
		return (_("refused by policy (key model or user verification)"));
	case TK_ST_END:
		break;
	}
	return (_("unknown answer"));
}

int
tk_adm_refused(struct tk_adm *c, const tk_msg_t *ans, const char *what)
{
	enum tk_status st = tk_msg_status(ans);
	const char *reason = tk_msg_get_text(ans, TK_KEY_REASON);

	if (st == TK_ST_DENIED) {
		fprintf(stderr, _("tokenadm: permission denied: run as root or "
		    "a member of %s\n"), c->conf.admin_group != NULL ?
		    c->conf.admin_group : "tokend-admin");
		return (TK_EXIT_FAIL);
	}
	fprintf(stderr, "tokenadm: ");
	if (what != NULL)
		fprintf(stderr, "%s: ", what);
	fputs(status_text(st), stderr);
	if (reason != NULL)
		fprintf(stderr, " (%s)", reason);
	fputc('\n', stderr);
	return (TK_EXIT_FAIL);
}

int
tk_adm_call(struct tk_adm *c, const tk_msg_t *req, const char *what,
    tk_msg_t **ansp)
{
	int ex;

	if ((ex = tk_adm_exchange(c, req, ansp)) != TK_EXIT_OK)
		return (ex);
	if (tk_msg_status(*ansp) != TK_ST_OK) {
		ex = tk_adm_refused(c, *ansp, what);
		tk_msg_free(ansp);
		return (ex);
	}
	return (TK_EXIT_OK);
}

int
tk_adm_oom(void)
{
	fprintf(stderr, "tokenadm: %s\n", _("out of memory"));
	return (TK_EXIT_FAIL);
}

int
tk_adm_incomplete(void)
{
	fprintf(stderr, "tokenadm: %s\n", _("incomplete answer"));
	return (TK_EXIT_FAIL);
}

int
tk_adm_each_page(struct tk_adm *c, uint32_t type, enum tk_key list,
    const char *user, tk_adm_page_fn_t *fn, void *arg)
{
	tk_msg_t *req = NULL, *ans = NULL;
	size_t got;
	uint64_t offset = 0;
	bool more;
	int ex;

	do {
		if ((req = tk_msg_new(TK_DIR_REQUEST, type)) == NULL ||
		    (user != NULL &&
		    tk_msg_set_text(req, TK_KEY_USER, user) != 0) ||
		    tk_msg_set_uint(req, TK_KEY_OFFSET, offset) != 0) {
			ex = tk_adm_oom();
			goto fail;
		}
		if ((ex = tk_adm_call(c, req, user, &ans)) != TK_EXIT_OK)
			goto fail;
		tk_msg_free(&req);
		got = tk_msg_count(ans, list);
		if (tk_msg_get_bool(ans, TK_KEY_MORE, &more) != 0)
			more = false;
		if (more && got == 0) {
			/* a daemon that promises more but sends none */
			ex = tk_adm_incomplete();
			goto fail;
		}
		if ((ex = fn(arg, &ans)) != TK_EXIT_OK)
			goto fail;
		tk_msg_free(&ans);
		offset += got;
	} while (more);

	ex = TK_EXIT_OK; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (ex);
}

/* the pages read so far, for tk_adm_fetch_pages() */
struct page_set {
	tk_msg_t	**pages;
	size_t		  npages;
};

static int
page_keep(void *arg, tk_msg_t **ansp)
{
	struct page_set *ps = arg;
	tk_msg_t **np;

	if ((np = reallocarray(ps->pages, ps->npages + 1,
	    sizeof(*np))) == NULL)
		return (tk_adm_oom());
	ps->pages = np;
	ps->pages[ps->npages++] = *ansp;
	*ansp = NULL;
	return (TK_EXIT_OK);
}

int
tk_adm_fetch_pages(struct tk_adm *c, uint32_t type, enum tk_key list,
    const char *user, tk_msg_t ***pagesp, size_t *npagesp)
{
	struct page_set ps = { NULL, 0 };
	int ex;

	*pagesp = NULL;
	*npagesp = 0;
	if ((ex = tk_adm_each_page(c, type, list, user, page_keep,
	    &ps)) != TK_EXIT_OK) {
		tk_adm_pages_free(&ps.pages, &ps.npages);
		return (ex);
	}
	*pagesp = ps.pages;
	*npagesp = ps.npages;
	return (TK_EXIT_OK);
}

void
tk_adm_pages_free(tk_msg_t ***pagesp, size_t *npagesp)
{
	while (*npagesp > 0)
		tk_msg_free(&(*pagesp)[--*npagesp]);
	free(*pagesp);
	*pagesp = NULL;
}
