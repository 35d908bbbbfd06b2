/*
 * i18n.c -- binding our gettext domain.
 */
#include "config.h"

#include "i18n.h"

void
tk_i18n_init(void)
{
#ifdef ENABLE_NLS
	bindtextdomain(PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(PACKAGE, "UTF-8");
#endif
}
