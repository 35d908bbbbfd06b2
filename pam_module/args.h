/*
 * args.h -- the module arguments of pam_tokend.so.  They are the [pam]
 * keys of tokend.conf (plus socket=, the [tokend] key) and override the
 * file named by config= (default TK_CONF_DEFAULT_PATH, which may be
 * missing).
 */
#ifndef TK_PAM_ARGS_H
#define TK_PAM_ARGS_H

#include <stddef.h>

#include "conf.h"

/*
 * Fills *c: defaults, then the file named by config= (at most once),
 * then every other argument in order.  Arguments are exactly
 *	config=PATH socket=PATH timeout=SEC factors=LIST fido2_wait=SEC
 *	nullok cue debug
 * and anything else -- an unknown word, a flag with a value, an empty
 * or invalid value -- is refused.  On failure a message is written to
 * err (size errlen) and *c must be cleared and not used.  Returns 0,
 * TK_ERR_CONFIG or TK_ERR_NOMEM.  *c is owned by the caller, who frees
 * it with tk_conf_clear() in every case.
 */
int tk_args_parse(struct tk_conf *c, int argc, const char **argv,
    char *err, size_t errlen);

#endif /* TK_PAM_ARGS_H */
