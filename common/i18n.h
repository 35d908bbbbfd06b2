/*
 * i18n.h -- gettext for every text a person reads.  Code loaded into
 * other programs (pam_tokend.so) uses dgettext with our own domain so it
 * never changes the host program's text domain.
 */
#ifndef TK_I18N_H
#define TK_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s)	dgettext(PACKAGE, (s))
#else
#define _(s)	(s)
#endif
#define N_(s)	(s)

/* Binds our text domain to LOCALEDIR (UTF-8); safe to call repeatedly. */
void tk_i18n_init(void);

#endif /* TK_I18N_H */
