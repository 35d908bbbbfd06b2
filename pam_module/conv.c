/*
 * conv.c -- talking to the person through the application's PAM
 * conversation function.  The module never touches the terminal itself:
 * sshd, gdm and screen lockers have none.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "conv.h"
#include "err.h"
#include "outcome.h"
#include "wipe.h"

/* Wipes and frees the n responses of one conversation (NULL-safe). */
static void
drop_responses(struct pam_response *resp, int n)
{
	int i;

	if (resp == NULL)
		return;
	for (i = 0; i < n; i++)
		tk_strfreezero(resp[i].resp);
	tk_freezero(resp, (size_t)n * sizeof(*resp));
}

/*
 * One message of `style'.  On success the response text is moved to
 * *text when text is not NULL, else wiped.
 */
static int
converse(pam_handle_t *pamh, int style, const char *msg, char **text)
{
	const struct pam_conv *conv = NULL;
	const void *item = NULL;
	struct pam_message m;
	const struct pam_message *mp = &m;
	struct pam_response *resp = NULL;
	int r;

	if (text != NULL)
		*text = NULL;
	if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS ||
	    (conv = item) == NULL || conv->conv == NULL) {
		r = TK_PAM_ERR_CONV;
		goto fail;
	}
	memset(&m, 0, sizeof(m));
	m.msg_style = style;
	m.msg = msg;
	if (conv->conv(1, &mp, &resp, conv->appdata_ptr) != PAM_SUCCESS) {
		r = TK_PAM_ERR_CONV;
		goto fail;
	}
	if (text != NULL) {
		/* Ctrl-D: the application answers with no text at all */
		if (resp == NULL || resp[0].resp == NULL) {
			r = TK_PAM_ERR_CONV;
			goto fail;
		}
		*text = resp[0].resp;
		resp[0].resp = NULL;
	}

	r = 0; /* success */
 fail:
	drop_responses(resp, 1);
	return (r);
}

int
tk_conv_prompt(pam_handle_t *pamh, const char *prompt, char **answer)
{
	if (answer == NULL)
		return (TK_ERR_INVAL);
	return (converse(pamh, PAM_PROMPT_ECHO_OFF, prompt, answer));
}

int
tk_conv_info(pam_handle_t *pamh, const char *msg)
{
	return (converse(pamh, PAM_TEXT_INFO, msg, NULL));
}

int
tk_conv_error(pam_handle_t *pamh, const char *msg)
{
	return (converse(pamh, PAM_ERROR_MSG, msg, NULL));
}
