/*
 * setlocale.c -- preloaded into tests/pam/pamdriver by ja.sh: selects
 * the locale of the environment before main(), as login, sudo, sshd and
 * the display managers do, so that pam_tokend.so's messages follow LANG.
 */
#include "config.h"

#include <locale.h>

void tk_test_setlocale(void) __attribute__((constructor));

void
tk_test_setlocale(void)
{
	(void)setlocale(LC_ALL, "");
}
