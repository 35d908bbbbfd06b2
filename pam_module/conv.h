/*
 * conv.h -- the PAM conversation: one echo-off prompt, and messages to
 * the person at the terminal.  Every response is wiped before it is
 * released.
 */
#ifndef TK_PAM_CONV_H
#define TK_PAM_CONV_H

#include <security/pam_appl.h>

/*
 * Asks `prompt' with echo off.  On success *answer is the typed text,
 * malloc'd, which the caller releases with tk_strfreezero().  On failure
 * *answer is NULL.  Returns 0, TK_PAM_ERR_CONV (no conversation
 * function, the conversation failed, or no answer at all, as with
 * Ctrl-D) or TK_ERR_INVAL (answer is NULL).
 */
int tk_conv_prompt(pam_handle_t *, const char *prompt, char **answer);

/*
 * Shows `msg' as information (PAM_TEXT_INFO) or as an error
 * (PAM_ERROR_MSG).  Returns 0 or TK_PAM_ERR_CONV; callers may ignore the
 * result, since a message that cannot be shown changes no decision.
 */
int tk_conv_info(pam_handle_t *, const char *msg);
int tk_conv_error(pam_handle_t *, const char *msg);

#endif /* TK_PAM_CONV_H */
