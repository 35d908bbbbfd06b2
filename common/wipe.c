/*
 * wipe.c -- wiping secrets before their memory is released.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wipe.h"

void
tk_memzero(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	{
		/* the volatile pointer keeps the stores from being elided */
		volatile unsigned char *v = p;

		while (n-- > 0)
			*v++ = 0;
	}
#endif
}

void
tk_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	tk_memzero(p, n);
	free(p);
}

void
tk_strfreezero(char *s)
{
	if (s == NULL)
		return;
	tk_freezero(s, strlen(s));
}
